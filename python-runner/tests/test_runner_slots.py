"""The runner under the API's limits on runners: one lease at a time (409 RUNNER_LEASE_LIMIT)
and at most `maxRunners` runners per project (409 PROJECT_QUOTA_EXCEEDED at registration)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from meshtune_runner.agent import Agent
from meshtune_runner.client import ApiClient, LeaseLimit

from .fake_api import FakeApi, trial_json
from .test_agent import BBO3_PARAMS, FakeLauncher, make_agent


class _NoWaitAgent(Agent):
    def _sleep(self, seconds: float) -> None:
        """No real waits between tries (the 60 s before registering again)."""


def _agent(api: FakeApi, state_dir: Path, handle: Any) -> Agent:
    return make_agent(
        api,
        state_dir,
        FakeLauncher(),
        transport=httpx.MockTransport(handle),
        agent_class=_NoWaitAgent,
    )


def _error(status: int, code: str, details: Any) -> httpx.Response:
    return httpx.Response(
        status,
        json={"statusCode": status, "code": code, "message": code.lower(), "details": details},
    )


def test_a_restarted_runner_gives_back_the_lease_its_earlier_run_held(
    api: FakeApi, state_dir: Path
) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    held = ["orphan-1"]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/lease") and held:
            # The API still counts the trial the killed run was training against its one slot.
            api.calls.append((request.method, request.url.path, None))
            return _error(409, "RUNNER_LEASE_LIMIT", {"limit": 1, "held": 1, "trialIds": held})
        if request.url.path == "/v1/trials/orphan-1/release":
            held.clear()
        return api.handle(request)

    assert _agent(api, state_dir, handle).run() == 0
    assert api.released == ["orphan-1"]
    assert api.reports["t1"][0] == "complete"
    registration = next(body for _, path, body in api.calls if path == "/v1/runners")
    assert registration["maxConcurrentTrials"] == 1


def test_lease_limit_names_the_held_trials() -> None:
    def handle(_request: httpx.Request) -> httpx.Response:
        return _error(409, "RUNNER_LEASE_LIMIT", {"limit": 2, "held": 2, "trialIds": ["a", "b"]})

    client = ApiClient("http://api.test", "tok", transport=httpx.MockTransport(handle))
    answer = client.lease("runner-1")
    assert isinstance(answer, LeaseLimit)
    assert answer.trial_ids == ["a", "b"]
    assert answer.retry_after > 0


def test_registration_waits_while_the_project_has_all_its_runners(
    api: FakeApi, state_dir: Path
) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    refusals = [2]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/runners" and refusals[0] > 0:
            refusals[0] -= 1
            details = {"quota": "maxRunners", "limit": 5, "current": 5}
            return _error(409, "PROJECT_QUOTA_EXCEEDED", details)
        return api.handle(request)

    assert _agent(api, state_dir, handle).run() == 0
    assert refusals == [0]
    assert api.reports["t1"][0] == "complete"


def test_an_older_api_without_runner_slots_gets_the_registration_without_them() -> None:
    bodies: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if "maxConcurrentTrials" in body:
            refused = [
                {"field": "maxConcurrentTrials", "reason": "property should not exist"},
            ]
            return _error(400, "VALIDATION_FAILED", refused)
        return httpx.Response(201, json={"id": "r1", "name": body["name"], "token": "t"})

    client = ApiClient("http://api.test", "runner-key", transport=httpx.MockTransport(handle))
    assert client.register("box", 1, None, []).token == "t"
    assert "maxConcurrentTrials" not in bodies[-1]
