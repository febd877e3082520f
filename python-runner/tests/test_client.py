from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from meshtune_runner.api_models import MetricPoint
from meshtune_runner.client import ApiClient, LeaseWait, RetryPolicy
from meshtune_runner.errors import (
    ApiError,
    FailureKind,
    FatalApiError,
    LeaseLostError,
    TransientApiError,
    TrialAlreadyFinishedError,
)

from .fake_api import FakeApi, trial_json


def fast_retry(give_up_after: float | None = 5.0) -> RetryPolicy:
    return RetryPolicy(
        initial=0.001, maximum=0.002, give_up_after=give_up_after, sleep=lambda _s: None
    )


Handler = Callable[[httpx.Request], httpx.Response]


def client_for(
    handler: Handler, token: str = "tok", give_up_after: float | None = 5.0
) -> ApiClient:
    return ApiClient(
        "http://api.test/",
        token,
        retry=fast_retry(give_up_after),
        transport=httpx.MockTransport(handler),
    )


def test_register_sends_capabilities_and_returns_token() -> None:
    api = FakeApi(training_config={})
    client = ApiClient("http://api.test", "runner-key", transport=api.transport())
    runner = client.register("box-1", 4, 81920, ["a100", "spot"])
    assert runner.id == "runner-1"
    assert runner.token == "runner-token"
    method, path, body = api.calls[0]
    assert (method, path) == ("POST", "/v1/runners")
    assert body == {
        "name": "box-1",
        "gpus": 4,
        "gpuMemoryMb": 81920,
        "labels": ["a100", "spot"],
        "maxConcurrentTrials": 1,  # one trial at a time: the API lets it hold one lease
    }


def test_lease_parses_trial_config_and_outputs() -> None:
    api = FakeApi(
        training_config={"model": "m", "trainData": "t"},
        trials=[trial_json("t1", 1, {"lora_rank": 8, "lora_alpha": 64})],
    )
    client = ApiClient("http://api.test", "runner-token", transport=api.transport())
    lease = client.lease("runner-1", "study-1")
    assert not isinstance(lease, LeaseWait)
    assert lease.trial.id == "t1"
    assert lease.trial.parameters == {"lora_rank": 8, "lora_alpha": 64}
    assert lease.training_config == {"model": "m", "trainData": "t"}
    assert [o.name for o in lease.outputs if o.required] == ["val_loss"]
    assert lease.lease_seconds == 3
    assert api.calls[-1][2] == {"studyId": "study-1"}


def test_lease_204_becomes_wait_with_retry_after() -> None:
    client = client_for(lambda _r: httpx.Response(204, headers={"Retry-After": "7"}))
    wait = client.lease("runner-1")
    assert isinstance(wait, LeaseWait)
    assert wait.retry_after == 7.0


def test_trial_heartbeat_sends_progress_and_metrics() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={"shouldStop": True, "reason": "paused", "leaseExpiresAt": "2030-01-01T00:00:00Z"},
        )

    reply = client_for(handler).trial_heartbeat(
        "t1", 1.5, [MetricPoint(name="val_loss", step=10, value=1.25)]
    )
    assert reply.should_stop and reply.reason == "paused"
    assert seen == [{"progress": 1.0, "metrics": [{"name": "val_loss", "step": 10, "value": 1.25}]}]


def test_server_errors_and_connection_errors_are_retried() -> None:
    answers: Iterator[httpx.Response | Exception] = iter(
        [
            httpx.ConnectError("refused"),
            httpx.Response(502, json={"statusCode": 502, "code": "BAD_GATEWAY", "message": "x"}),
            httpx.Response(200, json={"id": "t1", "status": "completed"}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert client_for(handler).complete("t1", {"val_loss": 1.0})["status"] == "completed"


def test_transient_errors_give_up_after_the_policy_limit() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client = ApiClient(
        "http://api.test",
        "tok",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(initial=0.001, maximum=0.001, give_up_after=0.05),
    )
    with pytest.raises(TransientApiError) as raised:
        client.runner_heartbeat("runner-1")
    # the whole URL, so that a wrong host or port in --url shows in the message
    said = str(raised.value)
    assert "http://api.test/v1/runners/runner-1/heartbeat: ConnectError: refused" in said


def test_abort_stops_retrying_forever() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    retry = RetryPolicy(
        initial=0.001,
        maximum=0.001,
        give_up_after=None,
        should_abort=lambda: calls >= 3,
        sleep=lambda _s: None,
    )
    client = ApiClient(
        "http://api.test", "tok", retry=retry, transport=httpx.MockTransport(handler)
    )
    with pytest.raises(TransientApiError):
        client.fail("t1", "boom")
    assert calls == 3


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (401, "UNAUTHORIZED", FatalApiError),
        (403, "FORBIDDEN", FatalApiError),
        (409, "LEASE_LOST", LeaseLostError),
        (409, "TRIAL_ALREADY_FINISHED", TrialAlreadyFinishedError),
        (400, "VALIDATION_FAILED", ApiError),
    ],
)
def test_client_errors_are_typed_and_not_retried(
    status: int, code: str, error: type[Exception]
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(
            status,
            json={"statusCode": status, "code": code, "message": ["a", "b"], "details": {"f": 1}},
        )

    with pytest.raises(error) as caught:
        client_for(handler).complete("t1", {"val_loss": 1.0})
    assert calls == 1
    assert isinstance(caught.value, ApiError)
    assert caught.value.code == code
    assert caught.value.message == "a; b"


def test_bearer_token_is_sent() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={})

    client_for(handler, token="secret").runner_heartbeat("r1")
    assert seen == ["Bearer secret"]


def test_fail_and_release_bodies() -> None:
    seen: list[tuple[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={})

    client = client_for(handler)
    client.fail("t1", "CUDA out of memory")
    client.fail("t2", "node lost", retryable=True)
    client.release("t3")
    client.release("t4", gpu_seconds=12.34567)
    client.decline("t5", "no such model\nhere", gpu_seconds=float("nan"))
    assert seen == [
        ("/v1/trials/t1/fail", {"error": "CUDA out of memory"}),
        ("/v1/trials/t2/fail", {"error": "node lost", "retryable": True}),
        ("/v1/trials/t3/release", {}),
        ("/v1/trials/t4/release", {"gpuSeconds": 12.346}),
        ("/v1/trials/t5/decline", {"reason": "no such model here"}),
    ]


def test_quarantined_runner_waits_instead_of_failing() -> None:
    body = {
        "statusCode": 409,
        "code": "RUNNER_QUARANTINED",
        "message": "runner is quarantined",
        "details": {
            "quarantinedAt": "2026-12-03T15:00:00Z",
            "reason": "3 runner failures in a row",
        },
    }
    client = client_for(lambda _r: httpx.Response(409, json=body, headers={"Retry-After": "60"}))
    wait = client.lease("runner-1", "study-1")
    assert isinstance(wait, LeaseWait)
    assert wait.retry_after == 60.0


def test_other_lease_conflicts_still_raise() -> None:
    body = {"statusCode": 409, "code": "STUDY_NOT_ACTIVE", "message": "study is paused"}
    client = client_for(lambda _r: httpx.Response(409, json=body))
    with pytest.raises(ApiError):
        client.lease("runner-1", "study-1")


@pytest.mark.parametrize(
    ("kind", "retryable", "expected"),
    [
        ("runner", True, {"error": "no data", "kind": "runner"}),
        ("resource", True, {"error": "no data", "kind": "resource"}),
        ("evaluation", True, {"error": "no data", "retryable": True}),
        ("evaluation", False, {"error": "no data"}),
    ],
)
def test_fail_reports_the_kind_of_failure(
    kind: FailureKind, retryable: bool, expected: dict[str, object]
) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "failed"})

    client_for(handler).fail("t1", "no data", retryable=retryable, kind=kind)
    assert seen == [expected]


EFFECTIVE = {"regimeHash": "sha256:abc", "gpuCount": 2, "gpuType": "A100", "precision": "bf16"}


def _validation_error(field: str, reason: str) -> httpx.Response:
    return httpx.Response(
        400,
        json={
            "statusCode": 400,
            "code": "VALIDATION_FAILED",
            "message": f"{field}: {reason}",
            "details": [{"field": field, "reason": reason}],
        },
    )


def test_complete_sends_the_effective_configuration_and_the_adapter() -> None:
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={})

    client = client_for(handler)
    client.complete(
        "t1",
        {"val_loss": 1.0},
        gpu_seconds=12.0,
        effective_config=EFFECTIVE,
        adapter="/data/adapters/study-1/trial-00001",
        adapter_size_bytes=4096,
    )
    client.complete("t2", {"val_loss": 2.0}, adapter="s3://bucket/t2")
    client.complete("t3", {"val_loss": 3.0}, effective_config={}, adapter="")
    assert seen == [
        {
            "outputs": {"val_loss": 1.0},
            "gpuSeconds": 12.0,
            "effectiveConfig": EFFECTIVE,
            "adapter": {"location": "/data/adapters/study-1/trial-00001", "sizeBytes": 4096},
        },
        {"outputs": {"val_loss": 2.0}, "adapter": {"location": "s3://bucket/t2"}},
        {"outputs": {"val_loss": 3.0}},  # nothing to describe: neither field is sent
    ]


def test_an_adapter_location_over_the_api_bound_is_not_sent() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={})

    client_for(handler).complete("t1", {"val_loss": 1.0}, adapter="/" + "x" * 2000)
    assert seen == [{"outputs": {"val_loss": 1.0}}]


@pytest.mark.parametrize("field", ["effectiveConfig", "adapter"])
def test_an_older_api_gets_the_outputs_without_the_new_fields(field: str) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        if field in body:
            return _validation_error(field, f"property {field} should not exist")
        return httpx.Response(200, json={})

    client = client_for(handler)
    kwargs = {"effective_config": EFFECTIVE, "adapter": "/data/a", "adapter_size_bytes": 1}
    client.complete("t1", {"val_loss": 1.0}, **kwargs)  # type: ignore[arg-type]
    assert field not in seen[-1] and len(seen) == 2  # refused once, then resent without it
    assert client.unsupported_fields == {field}
    client.complete("t2", {"val_loss": 2.0}, **kwargs)  # type: ignore[arg-type]
    assert len(seen) == 3 and field not in seen[-1]  # never sent again this session


def test_a_refused_adapter_value_is_left_out_of_that_report_only() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        adapter = body.get("adapter")
        if isinstance(adapter, dict) and adapter.get("location") == "bad":
            return _validation_error("adapter.location", "must not be this")
        return httpx.Response(200, json={})

    client = client_for(handler)
    client.complete("t1", {"val_loss": 1.0}, effective_config=EFFECTIVE, adapter="bad")
    assert seen[-1] == {"outputs": {"val_loss": 1.0}, "effectiveConfig": EFFECTIVE}
    assert len(seen) == 2 and client.unsupported_fields == set()
    client.complete("t2", {"val_loss": 2.0}, adapter="/data/good")
    assert seen[-1] == {"outputs": {"val_loss": 2.0}, "adapter": {"location": "/data/good"}}


def test_other_validation_errors_of_complete_still_raise() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _validation_error("outputs.val_loss", "is required (objective)")

    with pytest.raises(ApiError):
        client_for(handler).complete("t1", {}, adapter="/data/a", effective_config=EFFECTIVE)


def rate_limited(retry_after: str) -> httpx.Response:
    """The API's answer over a request budget: refused before anything is written."""
    return httpx.Response(
        429,
        headers={"Retry-After": retry_after},
        json={
            "statusCode": 429,
            "code": "RATE_LIMITED",
            "message": "rate limit of this key reached: 200 requests per 10 s",
            "details": {"budget": "key", "limit": 200, "windowSeconds": 10, "retryAfterSeconds": 3},
        },
    )


@pytest.mark.parametrize("call", ["register", "complete"])
def test_rate_limited_calls_wait_retry_after_and_then_go_through(call: str) -> None:
    """A 429 is retried after its Retry-After (not the shorter backoff), for registrations and
    final reports alike: the report is not lost and the runner does not hammer the API."""
    calls = 0
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= 2:
            return rate_limited("3")
        if call == "register":
            return httpx.Response(201, json={"id": "r1", "token": "rt", "name": "n"})
        return httpx.Response(200, json={"id": "t1", "status": "completed"})

    retry = RetryPolicy(initial=0.001, maximum=30.0, give_up_after=None, sleep=slept.append)
    client = ApiClient(
        "http://api.test", "tok", retry=retry, transport=httpx.MockTransport(handler)
    )
    if call == "register":
        assert client.register("n", 1, 1, []).token == "rt"
    else:
        assert client.complete("t1", {"val_loss": 1.0})["status"] == "completed"
    assert calls == 3
    assert len(slept) == 2 and all(seconds >= 3 for seconds in slept), slept
