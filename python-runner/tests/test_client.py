from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from meshtune_runner.api_models import MetricPoint
from meshtune_runner.client import ApiClient, LeaseWait, RetryPolicy
from meshtune_runner.errors import (
    ApiError,
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
    assert body == {"name": "box-1", "gpus": 4, "gpuMemoryMb": 81920, "labels": ["a100", "spot"]}


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
    with pytest.raises(TransientApiError):
        client.runner_heartbeat("runner-1")


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
    assert seen == [
        ("/v1/trials/t1/fail", {"error": "CUDA out of memory"}),
        ("/v1/trials/t2/fail", {"error": "node lost", "retryable": True}),
        ("/v1/trials/t3/release", {}),
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
    ("runner_fault", "retryable", "expected"),
    [
        (True, True, {"error": "no data", "kind": "runner"}),
        (False, True, {"error": "no data", "retryable": True}),
        (False, False, {"error": "no data"}),
    ],
)
def test_fail_reports_the_kind_of_failure(
    runner_fault: bool, retryable: bool, expected: dict[str, object]
) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "failed"})

    client_for(handler).fail("t1", "no data", retryable=retryable, runner_fault=runner_fault)
    assert seen == [expected]
