"""A small synchronous client for the runner routes of the meshtune API.

Transient failures (connection errors, timeouts, 5xx, 429, redirects) are retried with
exponential backoff and jitter, honouring `Retry-After`; 401/403 and other 4xx are raised at
once. A reply that cannot be read (not JSON, another shape, an id that is not a plain name,
over MAX_REPLY_BYTES or MAX_REPLY_SECONDS) is an `UnreadableReplyError`, a transient error
that is not retried: the request was answered, and a lease or a report is never sent twice
for it.
"""

from __future__ import annotations

import logging
import math
import random
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx
import pydantic
import tenacity

from .api_models import (
    HeartbeatReply,
    Lease,
    MetricPoint,
    RegisteredRunner,
    RunnerView,
    is_plain_name,
)
from .errors import (
    ApiError,
    FailureKind,
    FatalApiError,
    LeaseLostError,
    TransientApiError,
    TrialAlreadyFinishedError,
    UnreadableReplyError,
)

__all__ = ["ApiClient", "LeaseLimit", "LeaseWait", "RetryPolicy"]

log = logging.getLogger(__name__)

#: how long a quarantined runner waits before asking for a lease again (the API's Retry-After)
QUARANTINE_WAIT_SECONDS = 60.0

#: how long a runner holding all the leases it may waits to ask again (409 RUNNER_LEASE_LIMIT)
LEASE_LIMIT_WAIT_SECONDS = 10.0

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

#: The most of a reply the runner reads (the largest the API sends, a lease with its
#: trainingConfig, is well under 1 MiB): a body that goes on is given up past it.
MAX_REPLY_BYTES = 16 * 2**20

#: The most a whole reply may take once its headers came: httpx's timeouts bound each read
#: (30 s), not their sum, so a body that trickles in a byte at a time would hold the runner.
MAX_REPLY_SECONDS = 120.0

#: Headers of the body as sent; the body the runner keeps is decoded, and measured anew.
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

_Model = TypeVar("_Model", bound=pydantic.BaseModel)


def _where(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url} -> {response.status_code}"


def _read_json(response: httpx.Response) -> Any:
    """The reply's JSON, or UnreadableReplyError (a proxy's HTML page, a cut body, bytes that
    are not UTF-8, nesting too deep for the parser)."""
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        head = response.content[:120].decode("utf-8", "replace")
        raise UnreadableReplyError(
            f"{_where(response)}: the reply is not JSON ({type(exc).__name__}); it begins {head!r}"
        ) from None


def _read_model(response: httpx.Response, model: type[_Model]) -> _Model:
    """The reply as `model`, or UnreadableReplyError naming the first field that is wrong."""
    try:
        return model.model_validate(_read_json(response))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(the reply)"
        raise UnreadableReplyError(
            f"{_where(response)}: the reply is not a {model.__name__} "
            f"({exc.error_count()} error(s); {field}: {first['msg']})"
        ) from None


def _read_object(response: httpx.Response) -> dict[str, Any]:
    body = _read_json(response)
    if not isinstance(body, dict):
        raise UnreadableReplyError(
            f"{_where(response)}: the reply is not a JSON object ({type(body).__name__})"
        )
    return body


def _registration(
    name: str,
    gpus: int,
    gpu_memory_mb: int | None,
    labels: Sequence[str],
    max_concurrent_trials: int,
) -> dict[str, Any]:
    return {
        "name": name,
        "gpus": gpus,
        "gpuMemoryMb": gpu_memory_mb,
        "labels": list(labels),
        "maxConcurrentTrials": max_concurrent_trials,
    }


class LeaseWait:
    """The API had nothing to hand out (204); ask again after `retry_after` seconds.
    `study_status`: the study's status when one was asked for (`Meshtune-Study-Status`)."""

    def __init__(self, retry_after: float, study_status: str | None = None) -> None:
        self.retry_after = retry_after
        self.study_status = study_status

    def __repr__(self) -> str:
        return f"LeaseWait(retry_after={self.retry_after})"


class LeaseLimit(LeaseWait):
    """409 RUNNER_LEASE_LIMIT: this runner holds as many leases as it registered slots
    (`maxConcurrentTrials`); `trial_ids` are the trials it holds. A wait for a caller that
    does not look further."""

    def __init__(self, retry_after: float, trial_ids: Sequence[str]) -> None:
        super().__init__(retry_after)
        self.trial_ids = list(trial_ids)

    def __repr__(self) -> str:
        return f"LeaseLimit(retry_after={self.retry_after}, trial_ids={self.trial_ids})"


class RetryPolicy:
    """How long and how fast transient errors are retried.

    `give_up_after` is in seconds (None: forever, used for final reports); `should_abort`
    lets the agent cut a retry loop short on a hard stop.
    """

    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 30.0,
        give_up_after: float | None = 300.0,
        should_abort: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.give_up_after = give_up_after
        self.should_abort = should_abort
        self.sleep: Callable[[float], object] = sleep or time.sleep

    def with_give_up_after(self, give_up_after: float | None) -> RetryPolicy:
        return RetryPolicy(self.initial, self.maximum, give_up_after, self.should_abort, self.sleep)


def _parse_retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


#: Body fields newer than some servers: sent when known, dropped when a server refuses them.
OPTIONAL_FIELDS = frozenset({"gpuSeconds", "effectiveConfig", "adapter", "maxConcurrentTrials"})

#: The API's bound on an adapter's location (CompleteTrialDto: a path or URL).
MAX_ADAPTER_LOCATION = 2000


def _put_gpu_seconds(body: dict[str, Any], gpu_seconds: float | None) -> None:
    if gpu_seconds is not None and math.isfinite(gpu_seconds):
        body["gpuSeconds"] = round(max(0.0, gpu_seconds), 3)


def _top_field(field: str) -> str:
    """`adapter.location` → `adapter`: the body field a nested error is about."""
    return field.split(".", 1)[0].split("[", 1)[0]


def _refused_optional_fields(exc: ApiError) -> set[str]:
    """The optional fields a 400 names (`details: [{field, reason}]`, or the message)."""
    if exc.status_code != 400:
        return set()
    named: set[str] = set()
    if isinstance(exc.details, list):
        named |= {_top_field(str(d.get("field"))) for d in exc.details if isinstance(d, dict)}
    named |= {f for f in OPTIONAL_FIELDS if f in exc.message}
    return named & OPTIONAL_FIELDS


def _unknown_fields(exc: ApiError) -> set[str]:
    """Of the refused fields, those the server does not know at all (forbidNonWhitelisted's
    "should not exist"): an older server, so they are left out for the rest of the session. A
    field refused for its value (a location too long) is left out of that request only."""
    if not isinstance(exc.details, list):
        return {f for f in OPTIONAL_FIELDS if f"property {f} should not exist" in exc.message}
    return {
        str(d.get("field"))
        for d in exc.details
        if isinstance(d, dict) and "should not exist" in str(d.get("reason", ""))
    } & OPTIONAL_FIELDS


def _error_from_response(response: httpx.Response) -> Exception:
    request = response.request
    try:
        body = response.json()
    except (ValueError, RecursionError):  # an error page, or nesting too deep to parse
        body = None
    code: str | None = None
    message = response.reason_phrase or "error"
    details: Any = None
    if isinstance(body, dict):
        raw_code = body.get("code")
        code = str(raw_code) if raw_code is not None else None
        raw_message = body.get("message")
        if isinstance(raw_message, list):
            message = "; ".join(str(m) for m in raw_message)
        elif raw_message is not None:
            message = str(raw_message)
        details = body.get("details")
    status = response.status_code
    args = (status, code, message, details, request.method, str(request.url))
    if status >= 500 or status == 429:
        return TransientApiError(
            f"{request.method} {request.url} -> {status} {code or ''}: {message}",
            _parse_retry_after(response),
        )
    if code == "LEASE_LOST":
        return LeaseLostError(*args)
    if code == "TRIAL_ALREADY_FINISHED":
        return TrialAlreadyFinishedError(*args)
    if status in (401, 403):
        return FatalApiError(*args)
    return ApiError(*args)


def _read_bounded(response: httpx.Response, what: str) -> bytes:
    """The body, read up to MAX_REPLY_BYTES (decoded) and MAX_REPLY_SECONDS; past either it
    is an UnreadableReplyError (the request was answered: not sent again for it)."""
    deadline = time.monotonic() + MAX_REPLY_SECONDS
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise UnreadableReplyError(
                f"{what} -> {response.status_code}: the reply is over {MAX_REPLY_BYTES} bytes; "
                "not read further"
            )
        if time.monotonic() > deadline:
            raise UnreadableReplyError(
                f"{what} -> {response.status_code}: the reply was still arriving after "
                f"{MAX_REPLY_SECONDS:.0f} s; given up"
            )
        chunks.append(chunk)
    return b"".join(chunks)


#: The API's longest decline reason (api/src/runners/runner-study-decline.entity.ts).
MAX_DECLINE_REASON_CHARS = 1000


def decline_reason(text: str) -> str:
    """What the API accepts as a decline reason: one line of printable text, not empty, at most
    MAX_DECLINE_REASON_CHARS characters (control and format characters become spaces)."""
    printable = "".join(
        ch if ch.isprintable() and unicodedata.category(ch)[0] != "C" else " " for ch in text
    )
    line = " ".join(printable.split())
    if len(line) > MAX_DECLINE_REASON_CHARS:
        line = line[: MAX_DECLINE_REASON_CHARS - 1] + "…"
    return line or "this runner cannot run this study"


class ApiClient:
    """Runner-side calls. `token` is the API key for `register`, then the runner token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        user_agent: str = "meshtune-runner",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,  # the token must not go where a redirect points
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )
        self.token = token
        #: optional body fields this API refused as unknown (an older server): left out after
        #: the first refusal, so that a newer runner keeps working with it
        self.unsupported_fields: set[str] = set()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- routes -----------------------------------------------------------------------------

    def register(
        self,
        name: str,
        gpus: int,
        gpu_memory_mb: int | None,
        labels: Sequence[str],
        max_concurrent_trials: int = 1,
    ) -> RegisteredRunner:
        """A new runner (the client holds a runner-scope API key). `max_concurrent_trials`:
        the leases it may hold at once (the agent runs one trial at a time); left out for a
        server older than the field."""
        body = _registration(name, gpus, gpu_memory_mb, labels, max_concurrent_trials)
        response = self._request_optional("POST", "/v1/runners", body)
        return _read_model(response, RegisteredRunner)

    def register_again(
        self,
        name: str,
        gpus: int,
        gpu_memory_mb: int | None,
        labels: Sequence[str],
        max_concurrent_trials: int = 1,
    ) -> RunnerView:
        """The same registration with the runner's own token: the API updates that runner
        (same id, same token, which it does not send back) and clears its health and the
        studies it declined (api/src/runners/runners.service.ts `register`)."""
        body = _registration(name, gpus, gpu_memory_mb, labels, max_concurrent_trials)
        response = self._request_optional("POST", "/v1/runners", body)
        return _read_model(response, RunnerView)

    def runner_heartbeat(self, runner_id: str) -> None:
        self._request("POST", f"/v1/runners/{runner_id}/heartbeat", {})

    def lease(self, runner_id: str, study_id: str | None = None) -> Lease | LeaseWait:
        body: dict[str, Any] = {} if study_id is None else {"studyId": study_id}
        try:
            response = self._request("POST", f"/v1/runners/{runner_id}/lease", body)
        except ApiError as exc:
            if exc.code == "RUNNER_LEASE_LIMIT":
                held = exc.details.get("trialIds") if isinstance(exc.details, dict) else None
                # Each one is released at /v1/trials/<id>/release: plain names only.
                ids = [str(t) for t in held] if isinstance(held, list) else []
                return LeaseLimit(LEASE_LIMIT_WAIT_SECONDS, [t for t in ids if is_plain_name(t)])
            if exc.code != "RUNNER_QUARANTINED":
                raise
            # Too many failures that were this machine's fault: wait (an operator clears it
            # with POST /v1/runners/{id}/clear-quarantine, or the runner re-registers after a fix).
            reason = exc.details.get("reason") if isinstance(exc.details, dict) else None
            log.warning(
                "runner %s is quarantined by the API (%s); waiting %.0f s before asking again",
                runner_id,
                reason or exc.message,
                QUARANTINE_WAIT_SECONDS,
            )
            return LeaseWait(QUARANTINE_WAIT_SECONDS)
        if response.status_code == 204 or not response.content:
            retry_after = _parse_retry_after(response)
            return LeaseWait(
                retry_after if retry_after is not None else 10.0,
                response.headers.get("Meshtune-Study-Status") or None,
            )
        return _read_model(response, Lease)

    def trial_heartbeat(
        self,
        trial_id: str,
        progress: float | None = None,
        metrics: Sequence[MetricPoint] = (),
        retry: RetryPolicy | None = None,
        gpu_seconds: float | None = None,
    ) -> HeartbeatReply:
        """`gpu_seconds`: GPUs x wall-clock seconds of the training child so far (cumulative)."""
        body: dict[str, Any] = {}
        if progress is not None:
            body["progress"] = min(1.0, max(0.0, progress))
        if metrics:
            body["metrics"] = [m.model_dump() for m in metrics]
        _put_gpu_seconds(body, gpu_seconds)
        response = self._request_optional("POST", f"/v1/trials/{trial_id}/heartbeat", body, retry)
        return _read_model(response, HeartbeatReply)

    def complete(
        self,
        trial_id: str,
        outputs: dict[str, float],
        retry_forever: bool = True,
        gpu_seconds: float | None = None,
        effective_config: dict[str, Any] | None = None,
        adapter: str | None = None,
        adapter_size_bytes: int | None = None,
    ) -> dict[str, Any]:
        """Report success (`gpu_seconds`: the trial's total; `effective_config`: what the
        trial was trained with; `adapter`: where its adapter is kept, a path or URL, with
        `adapter_size_bytes`). By default retries transient errors until acknowledged. A
        server that refuses `effectiveConfig` or `adapter` gets the outputs without them:
        the result is worth more than its description."""
        body: dict[str, Any] = {"outputs": outputs}
        _put_gpu_seconds(body, gpu_seconds)
        if effective_config:
            body["effectiveConfig"] = effective_config
        if adapter:
            if len(adapter) > MAX_ADAPTER_LOCATION:
                log.warning(
                    "adapter location of trial %s is over %d characters; not reported: %s…",
                    trial_id,
                    MAX_ADAPTER_LOCATION,
                    adapter[:200],
                )
            else:
                body["adapter"] = {"location": adapter}
                if adapter_size_bytes is not None and adapter_size_bytes >= 0:
                    body["adapter"]["sizeBytes"] = int(adapter_size_bytes)
        return self._report(trial_id, "complete", body, retry_forever)

    def fail(
        self,
        trial_id: str,
        error: str,
        retryable: bool = False,
        retry_forever: bool = True,
        kind: FailureKind = "evaluation",
        gpu_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Report failure. `kind` says whose fault it is: "evaluation" (the point; `retryable`
        for node lost or a crash lets the API lease the trial again while attempts remain),
        "runner" (data or model missing, no CUDA, disk full: this machine, not the point; the
        trial goes back to pending without using an attempt or budget, and the API marks this
        runner unhealthy, quarantining it after several in a row) or "resource" (out of GPU
        memory on any rank: the API gives the trial to a runner with more memory per GPU, or
        fails it as an evaluation when none has more; attempts, budget and this runner's health
        untouched). By default retries transient errors until acknowledged."""
        body: dict[str, Any] = {"error": error}
        if kind != "evaluation":
            body["kind"] = kind
        elif retryable:
            body["retryable"] = True
        _put_gpu_seconds(body, gpu_seconds)
        return self._report(trial_id, "fail", body, retry_forever)

    def release(
        self,
        trial_id: str,
        retry: RetryPolicy | None = None,
        gpu_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Give an unfinished trial back; another lease picks it up (no wait for expiry).
        `gpu_seconds`: what the attempt used up to now, kept on the trial."""
        body: dict[str, Any] = {}
        _put_gpu_seconds(body, gpu_seconds)
        response = self._request_optional("POST", f"/v1/trials/{trial_id}/release", body, retry)
        return _read_object(response)

    def decline(
        self,
        trial_id: str,
        reason: str,
        retry: RetryPolicy | None = None,
        gpu_seconds: float | None = None,
    ) -> dict[str, Any]:
        """This runner cannot run the trial's study by its own settings (docs/runner.md,
        "Studies a runner cannot run"): the trial goes back untouched for another runner and the
        API does not lease the study to this runner for a while. `reason`: one printable line;
        `gpu_seconds`: what the training child used when it was the one to find the lack."""
        body: dict[str, Any] = {"reason": decline_reason(reason)}
        _put_gpu_seconds(body, gpu_seconds)
        response = self._request_optional("POST", f"/v1/trials/{trial_id}/decline", body, retry)
        return _read_object(response)

    # -- plumbing ---------------------------------------------------------------------------

    def _report(
        self, trial_id: str, action: str, body: dict[str, Any], retry_forever: bool
    ) -> dict[str, Any]:
        """A final report (complete or fail), its optional fields dropped when the API refuses
        them; `retry_forever`: transient errors are retried until acknowledged."""
        policy = self.retry.with_give_up_after(None) if retry_forever else None
        response = self._request_optional("POST", f"/v1/trials/{trial_id}/{action}", body, policy)
        # Unreadable: it may or may not have been taken; the reporter keeps it in the outbox
        # and sends it again later (the API keeps the first report, never two).
        return _read_object(response)

    def _request_optional(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        policy: RetryPolicy | None = None,
    ) -> httpx.Response:
        """`_request` for a body with OPTIONAL_FIELDS: an API that rejects one of them (400
        naming the field) gets the request again without it, once. A field it does not know
        (a server older than the field) is never sent again this session."""
        sent = {k: v for k, v in body.items() if k not in self.unsupported_fields}
        try:
            return self._request(method, path, sent, policy)
        except ApiError as exc:
            refused = _refused_optional_fields(exc) & sent.keys()
            if not refused:
                raise
            unknown = _unknown_fields(exc) & refused
            log.info(
                "the API does not accept %s (%s); sending without it",
                ", ".join(sorted(refused)),
                "an older server" if unknown == refused else exc.message,
            )
            self.unsupported_fields |= unknown
            return self._request(
                method, path, {k: v for k, v in sent.items() if k not in refused}, policy
            )

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        policy: RetryPolicy | None = None,
    ) -> httpx.Response:
        policy = policy or self.retry

        def wait(state: tenacity.RetryCallState) -> float:
            backoff = min(policy.maximum, policy.initial * 2 ** (state.attempt_number - 1))
            backoff = random.uniform(backoff / 2, backoff)
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientApiError) and exc.retry_after is not None:
                backoff = max(backoff, min(exc.retry_after, policy.maximum))
            return backoff

        def stop(state: tenacity.RetryCallState) -> bool:
            if policy.should_abort():
                return True
            limit = policy.give_up_after
            return limit is not None and (state.seconds_since_start or 0.0) >= limit

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            sleep_s = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s %s failed (%s); retrying in %.1fs", method, path, exc, sleep_s)

        def do_sleep(seconds: float) -> None:
            policy.sleep(seconds)

        def retry(exc: BaseException) -> bool:
            # An unreadable reply was an answer: the request may have been acted on.
            return isinstance(exc, TransientApiError) and not isinstance(exc, UnreadableReplyError)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(retry),
            wait=wait,
            stop=stop,
            before_sleep=before_sleep,
            reraise=True,
            sleep=do_sleep,
        )
        return retrying(self._send_once, method, path, body)

    def _send_once(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        request = self._http.build_request(
            method, path, json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        try:
            streamed = self._http.send(request, stream=True)
            try:
                content = _read_bounded(streamed, f"{method} {path}")
            finally:
                streamed.close()
        except httpx.TransportError as exc:
            # The whole URL: "Connection refused" alone does not say which host and port (a
            # mistyped --url is the usual cause on a first start).
            raise TransientApiError(f"{method} {request.url}: {type(exc).__name__}: {exc}") from exc
        response = httpx.Response(
            streamed.status_code,
            headers=[
                (k, v) for k, v in streamed.headers.multi_items() if k.lower() not in _BODY_HEADERS
            ],
            content=content,
            request=request,
            extensions=streamed.extensions,
        )
        if response.status_code >= 400:
            raise _error_from_response(response)
        if response.is_redirect or response.status_code >= 300:
            # Never followed (httpx's default, kept on purpose): the runner's token would go
            # to wherever it points. An API that answers so is one that did not answer.
            location = response.headers.get("location", "")[:200]
            raise TransientApiError(
                f"{method} {path} -> {response.status_code} redirect to {location!r}, not "
                "followed (check the API URL: its scheme, host and path prefix)"
            )
        return response
