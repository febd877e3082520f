"""Sends finished results: written to the outbox first, removed once the API has answered."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from .client import ApiClient
from .errors import (
    ApiError,
    FailureKind,
    FatalApiError,
    LeaseLostError,
    TransientApiError,
    TrialAlreadyFinishedError,
)
from .failure_text import clean_failure_text
from .outbox import Outbox, PendingReport

__all__ = ["Reporter"]

log = logging.getLogger("meshtune_runner")


def _api_failure_kind(payload: dict[str, object]) -> FailureKind:
    """Whose fault the API is told a failure is. Only failures known before training
    (agent.py: missing inputs, a regime this machine cannot run, marked `runnerFault`) blame
    the machine; out of GPU memory on any rank is a resource failure (the API hands the trial
    to a runner with more memory, or fails it when none has more); a crash stays a retryable
    evaluation failure that uses an attempt, so a point that always crashes ends."""
    if payload.get("runnerFault"):
        return "runner"
    if payload.get("kind") == "resource":
        return "resource"
    return "evaluation"


#: What the API is told when it refused a failure's own text (400/422): the failure is
#: reported all the same, and the runner's results.jsonl and trial log keep the details.
REFUSED_TEXT = "the API refused this failure's text ({reason}); its first line: {first}"


class Reporter:
    def __init__(
        self,
        client: Callable[[], ApiClient],
        outbox: Outbox,
        known_secrets: Callable[[], Iterable[str]] = lambda: (),
    ) -> None:
        self._client = client
        self.outbox = outbox
        #: values never to send (the runner's key and token, secret environment variables)
        self._known_secrets = known_secrets

    def _safe(self, report: PendingReport) -> PendingReport:
        """A failure's text as it may leave the machine (failure_text.py): redacted, printable,
        bounded. Idempotent, so that outbox files written before it are cleaned when re-sent."""
        if report.kind != "fail":
            return report
        error = clean_failure_text(str(report.payload.get("error") or ""), self._known_secrets())
        return PendingReport(report.trial_id, report.kind, {**report.payload, "error": error})

    def report(self, report: PendingReport) -> PendingReport:
        """Write to disk first, then send until acknowledged (or until a hard stop). Returns
        the report as written and sent (a failure's text cleaned)."""
        report = self._safe(report)
        self._keep(report)
        self.send(report)
        return report

    def _keep(self, report: PendingReport) -> None:
        """The report's copy in the outbox. A disk that refuses it (full, read-only, failing)
        costs the copy, not the result: it is sent all the same, retried until acknowledged;
        only a runner killed meanwhile loses it (finding 41, docs/reliability.md)."""
        try:
            self.outbox.put(report)
        except OSError as exc:
            log.error(
                "trial %s: the %s report could not be saved in %s (%s); sending it anyway",
                report.trial_id,
                report.kind,
                self.outbox.directory,
                exc,
            )

    def flush(self) -> None:
        """Re-send what a previous run could not deliver."""
        for report in self.outbox.pending():
            log.info("re-sending the saved %s report of trial %s", report.kind, report.trial_id)
            self.send(report)

    def send(self, report: PendingReport) -> None:
        self._send(report, text_refused=False)

    def _send(self, report: PendingReport, text_refused: bool) -> None:
        """`text_refused`: this is already the plain stand-in for a refused failure text."""
        report = self._safe(report)
        client = self._client()
        raw_gpu_seconds = report.payload.get("gpuSeconds")
        gpu_seconds = float(raw_gpu_seconds) if raw_gpu_seconds is not None else None
        try:
            if report.kind == "complete":
                # Outbox files written before these fields existed have neither: both optional.
                adapter = report.payload.get("adapter")
                size = report.payload.get("adapterSizeBytes")
                client.complete(
                    report.trial_id,
                    report.payload["outputs"],
                    gpu_seconds=gpu_seconds,
                    effective_config=report.payload.get("effectiveConfig") or None,
                    adapter=str(adapter) if adapter else None,
                    adapter_size_bytes=int(size) if isinstance(size, int) else None,
                )
            else:
                client.fail(
                    report.trial_id,
                    str(report.payload["error"]),
                    retryable=bool(report.payload.get("retryable", False)),
                    kind=_api_failure_kind(report.payload),
                    gpu_seconds=gpu_seconds,
                )
        except (LeaseLostError, TrialAlreadyFinishedError) as exc:
            log.warning("trial %s: result dropped (%s: %s)", report.trial_id, exc.code, exc.message)
        except TransientApiError as exc:
            log.error(
                "trial %s: report not sent yet (%s); it stays in %s and is re-sent on "
                "the next start",
                report.trial_id,
                exc,
                self.outbox.directory,
            )
            return
        except FatalApiError:
            raise
        except ApiError as exc:
            if exc.status_code == 404 and exc.code in ("TRIAL_NOT_FOUND", "STUDY_NOT_FOUND"):
                # The study was deleted (after a stop) while this trial ran: nobody wants the
                # result any more, as after a lost lease.
                log.warning(
                    "trial %s: result dropped (%s: %s)", report.trial_id, exc.code, exc.message
                )
                self.outbox.remove(report.trial_id)
                return
            if report.kind == "complete" and exc.status_code in (400, 422):
                log.error(
                    "trial %s: the API rejected the outputs (%s); reporting a failure",
                    report.trial_id,
                    exc.message,
                )
                rejected = PendingReport(
                    report.trial_id,
                    "fail",
                    {
                        "error": f"outputs rejected by the API: {exc.message}",
                        **({"gpuSeconds": gpu_seconds} if gpu_seconds is not None else {}),
                    },
                )
                self._keep(rejected)
                self.send(rejected)
                return
            if report.kind == "fail" and exc.status_code in (400, 422) and not text_refused:
                # Never lose a failure to its text: the API is told the trial failed, with a
                # plain-ASCII stand-in (the full text stays in results.jsonl and the log).
                error = str(report.payload.get("error") or "")
                first = error.split("\n", 1)[0][:300].encode("ascii", "replace").decode("ascii")
                reason = exc.message[:300].encode("ascii", "replace").decode("ascii")
                log.error(
                    "trial %s: the API refused the failure report (%s); sending it with a "
                    "shorter text",
                    report.trial_id,
                    exc.message,
                )
                plain = PendingReport(
                    report.trial_id,
                    "fail",
                    {**report.payload, "error": REFUSED_TEXT.format(reason=reason, first=first)},
                )
                self._keep(plain)
                self._send(plain, text_refused=True)
                return
            log.error("trial %s: report refused (%s); dropped", report.trial_id, exc)
        self.outbox.remove(report.trial_id)
