"""Every exception the runner raises on purpose, in one tree (as httpx does)."""

from __future__ import annotations

from typing import Any, Literal

#: How a trial failed, which decides what the optimizer is told:
#: - "evaluation": the configuration itself fails (diverged, bad parameter): a failed
#:   evaluation for MADS, never retried;
#: - "resource": out of GPU memory (on any rank): the API hands the trial to a runner with
#:   more memory per GPU, or fails it as an evaluation when no runner has more;
#: - "runner": the run broke for a reason that may be the machine's (a crash, a lost node):
#:   retryable elsewhere.
#: A refusal that is no evaluation at all is not a failure kind: a study this runner cannot run
#: by its own setup is declined (RunnerMismatchError), and a runner broken whatever the study
#: reports a runner fault (RunnerFaultError); see `Refusal` and docs/runner.md, "Whose fault a
#: refusal is".
FailureKind = Literal["evaluation", "resource", "runner"]

#: What a refusal that is not the point's is told to the API as:
#: - "decline": `POST /v1/trials/{id}/decline` — this runner cannot run this study by its own
#:   setup, another runner may (budget, attempts, engine and this runner's health untouched);
#: - "runnerFault": `fail` with `runnerFault: true` — this runner is broken whatever the study
#:   (no attempt, no budget; counts against its health, so a broken runner is quarantined).
Refusal = Literal["decline", "runnerFault"]

__all__ = [
    "ApiError",
    "FailureKind",
    "FatalApiError",
    "LeaseLostError",
    "MissingInputError",
    "Refusal",
    "ResourceError",
    "RunnerError",
    "RunnerFaultError",
    "RunnerMismatchError",
    "TrainingConfigError",
    "TransientApiError",
    "TrialAlreadyFinishedError",
    "TrialSetupError",
    "UnreadableReplyError",
    "refusal_of",
]


class RunnerError(Exception):
    """Base class of the runner's own errors."""


class ApiError(RunnerError):
    """The API answered with an error status (4xx/5xx) and a `{statusCode, code, message}` body."""

    def __init__(
        self,
        status_code: int,
        code: str | None,
        message: str,
        details: Any = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.method = method
        self.url = url
        where = f"{method} {url} -> " if method else ""
        super().__init__(f"{where}{status_code} {code or ''}: {message}".strip())


class FatalApiError(ApiError):
    """401/403 (bad key or token) and other 4xx that retrying cannot fix."""


class TransientApiError(RunnerError):
    """5xx, 429 or a connection problem: worth retrying with backoff (`Retry-After` honoured)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnreadableReplyError(TransientApiError):
    """A reply the runner cannot use: not JSON (a proxy's HTML page, a cut body), another shape,
    an id that is not a plain name, or a redirect (never followed: the runner's token would go
    with it). Handled as an API that did not answer; raised after the request was answered, so
    it is never re-sent by the retry loop (a lease or a report may have been taken)."""


class LeaseLostError(ApiError):
    """409 LEASE_LOST: the lease expired and the trial went to another runner; drop the result."""


class TrialAlreadyFinishedError(ApiError):
    """409 TRIAL_ALREADY_FINISHED: a different report was already accepted for this trial."""


class TrainingConfigError(RunnerError):
    """The study's trainingConfig (after overrides) is invalid; the trial fails with this text."""


class TrialSetupError(RunnerError):
    """The trial cannot run as given (unknown parameter, missing model or data, ...)."""


class RunnerMismatchError(RunnerError):
    """This runner cannot run the trial's study by its own setup, and another runner may: its
    GPU count or per-device batch does not split the study's global batch, its folders or
    allowances (policy.StudyPolicyError), a file or package it lacks, no GPU for a GPU
    precision. Declined (`Refusal` "decline"): neither a failed evaluation, which would teach
    the engine that a good point is bad, nor a runner failure, which would let a study
    quarantine a healthy runner (docs/runner.md, "Whose fault a refusal is")."""


class MissingInputError(RunnerMismatchError):
    """A data, model or tokenizer path of the study, under the folders this runner may read, or
    a package the study needs, is missing on this machine; another runner may have it (a
    shared file system mounted there): declined."""


class RunnerFaultError(RunnerError):
    """This runner is broken whatever the study: its own settings are invalid, the GPUs it was
    given are not usable, its disk or launcher fails. Reported as a runner fault (`Refusal`
    "runnerFault"), which counts against its health: a few in a row quarantine it."""


def refusal_of(exc: BaseException) -> Refusal | None:
    """How a refusal is told to the API (None: it is the point's or the study's, a failure)."""
    if isinstance(exc, RunnerMismatchError):
        return "decline"
    if isinstance(exc, RunnerFaultError):
        return "runnerFault"
    return None


class ResourceError(RunnerError):
    """Out of GPU memory (on any rank): a resource failure, retryable on a bigger runner."""
