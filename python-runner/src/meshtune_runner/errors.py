"""Every exception the runner raises on purpose, in one tree (as httpx does)."""

from __future__ import annotations

from typing import Any, Literal

#: How a trial failed, which decides what the optimizer is told:
#: - "evaluation": the configuration itself fails (diverged, bad parameter): a failed
#:   evaluation for MADS, never retried;
#: - "resource": out of GPU memory (on any rank): the API hands the trial to a runner with
#:   more memory per GPU, or fails it as an evaluation when no runner has more;
#: - "runner": this runner cannot run it (GPU count does not divide the global batch,
#:   crash, node lost, misconfiguration): retryable elsewhere.
FailureKind = Literal["evaluation", "resource", "runner"]

__all__ = [
    "ApiError",
    "FailureKind",
    "FatalApiError",
    "LeaseLostError",
    "MissingInputError",
    "ResourceError",
    "RunnerError",
    "RunnerMismatchError",
    "TrainingConfigError",
    "TransientApiError",
    "TrialAlreadyFinishedError",
    "TrialSetupError",
    "UnreadableReplyError",
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
    """This runner cannot run the trial as the study defines it (GPU count, its overrides);
    another runner may: a runner failure, not a failed evaluation."""


class MissingInputError(RunnerMismatchError):
    """A data, model or tokenizer path of the study is missing on this machine: the machine's
    fault, not the point's (the API gives the trial back untouched and marks this runner
    unhealthy; several in a row quarantine it)."""


class ResourceError(RunnerError):
    """Out of GPU memory (on any rank): a resource failure, retryable on a bigger runner."""
