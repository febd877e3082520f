"""An in-memory stand-in for the runner routes, served through httpx.MockTransport.

Only for unit tests of the client and the agent loop; the end-to-end test uses the real API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx


def trial_json(trial_id: str, number: int, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": trial_id,
        "studyId": "study-1",
        "number": number,
        "status": "running",
        "parameters": parameters,
        "origin": "poll",
        "attempt": 1,
        "runnerId": "runner-1",
        "leaseExpiresAt": "2030-01-01T00:00:00.000Z",
        "outputs": None,
        "error": None,
    }


BBO3_OUTPUTS = [
    {"name": "val_loss", "type": "objective", "goal": "minimize"},
    {"name": "eval_runtime", "type": "extra"},
    {"name": "train_loss", "type": "extra"},
    {"name": "train_runtime", "type": "extra"},
]


@dataclass
class FakeApi:
    training_config: dict[str, Any]
    trials: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=lambda: list(BBO3_OUTPUTS))
    lease_seconds: int = 3
    should_stop_after: int | None = None  # heartbeats before replying shouldStop
    stop_reason: str = "study_stopped"  # the reason given with shouldStop ("early_stopped")
    #: reply shouldStop (with stop_reason) to the first heartbeat that carries a val_loss
    stop_at_first_val_loss: bool = False
    #: False: an API older than `gpuSeconds` (400 naming the field, as forbidNonWhitelisted)
    accepts_gpu_seconds: bool = True
    lease_lost_on_report: bool = False
    fail_reports: int = 0  # answer this many complete/fail calls with 503
    #: answer this many fail calls with 400 naming `error` (an API stricter than today's)
    refuse_fail_text: int = 0
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    reports: dict[str, tuple[str, Any]] = field(default_factory=dict)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    #: each release's body, by trial (the runner sends the attempt's gpuSeconds with it)
    release_bodies: dict[str, Any] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)  # trials ended early (early_stopped)
    runner_token: str = "runner-token"
    unavailable_first: int = 0  # answer the first N requests with 503 (API starting)
    #: the study's status in `Meshtune-Study-Status` on a 204 lease answer for a named study
    study_status: str | None = None
    #: the study is deleted (after a stop) once its last trial is leased: later leases of it
    #: and reports on its trials answer 404, as the API does
    delete_study_after_last_lease: bool = False
    study_deleted: bool = False
    #: the runner as registered (name, gpus, gpuMemoryMb, labels): a registration with the
    #: runner's token updates it, as the API does (runners.service.ts `register`)
    runner: dict[str, Any] = field(default_factory=dict)
    #: trials this runner declined; a registration with its token clears them, as the API
    #: clears the runner's declines
    declines: list[str] = field(default_factory=list)
    #: answer this many decline calls with this error (status, code); -1: every one
    refuse_declines: int = 0
    decline_error: tuple[int, str] = (503, "UNAVAILABLE")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        path = request.url.path
        self.calls.append((request.method, path, body))
        if self.unavailable_first > 0:
            self.unavailable_first -= 1
            return _error(503, "UNAVAILABLE", "starting")
        auth = request.headers.get("authorization", "")
        if not self.accepts_gpu_seconds and isinstance(body, dict) and "gpuSeconds" in body:
            return httpx.Response(
                400,
                json={
                    "statusCode": 400,
                    "code": "VALIDATION_FAILED",
                    "message": "gpuSeconds: property gpuSeconds should not exist",
                    "details": [
                        {"field": "gpuSeconds", "reason": "property gpuSeconds should not exist"}
                    ],
                },
            )
        if path == "/v1/runners":
            if auth not in ("Bearer runner-key", f"Bearer {self.runner_token}"):
                return _error(401, "UNAUTHORIZED", "bad key")
            self.runner = {k: body[k] for k in ("name", "gpus", "gpuMemoryMb", "labels")}
            view = {**self.runner, "id": "runner-1", "lastSeenAt": None, "createdAt": "2030-01-01"}
            if auth != "Bearer runner-key":
                # The runner's own token: that runner updated, its declines cleared; the answer
                # is its view, without a token (it keeps the one it has).
                self.declines.clear()
                return httpx.Response(201, json=view)
            return httpx.Response(201, json={**view, "token": self.runner_token})
        if auth != f"Bearer {self.runner_token}":
            return _error(401, "UNAUTHORIZED", "bad token")
        if path.endswith("/lease"):
            if body and body.get("studyId") == "no-such-study":
                return _error(404, "STUDY_NOT_FOUND", "study no-such-study not found")
            if self.study_deleted and body and body.get("studyId"):
                return _error(404, "STUDY_NOT_FOUND", f"study {body['studyId']} does not exist")
            if self.delete_study_after_last_lease and len(self.trials) == 1:
                self.study_deleted = True
            if not self.trials:
                headers = {"Retry-After": "1"}
                if body and body.get("studyId") and self.study_status:
                    headers["Meshtune-Study-Status"] = self.study_status
                return httpx.Response(204, headers=headers)
            return httpx.Response(
                200,
                json={
                    "trial": self.trials.pop(0),
                    "trainingConfig": self.training_config,
                    "outputs": self.outputs,
                    "leaseExpiresAt": "2030-01-01T00:00:00.000Z",
                    "leaseSeconds": self.lease_seconds,
                },
            )
        if path.startswith("/v1/runners/") and path.endswith("/heartbeat"):
            return httpx.Response(200, json={"ok": True})
        if self.study_deleted and path.startswith("/v1/trials/"):
            trial_id = path.split("/")[3]
            return _error(404, "TRIAL_NOT_FOUND", f"trial {trial_id} does not exist")
        if path.endswith("/heartbeat"):
            trial_id = path.split("/")[3]
            if trial_id in self.stopped:
                # The trial has ended on the server: anything more about it is refused.
                return _error(409, "TRIAL_ALREADY_FINISHED", "the trial was stopped")
            self.heartbeats.append(body)
            stop = (
                self.should_stop_after is not None and len(self.heartbeats) > self.should_stop_after
            ) or (
                self.stop_at_first_val_loss
                and any(m["name"] == "val_loss" for m in body.get("metrics", []))
            )
            if stop and self.stop_reason == "early_stopped":
                self.stopped.append(trial_id)
            return httpx.Response(
                200,
                json={
                    "shouldStop": stop,
                    "reason": self.stop_reason if stop else None,
                    "leaseExpiresAt": "2030-01-01T00:00:00.000Z",
                },
            )
        if path.startswith("/v1/trials/") and path.split("/")[3] in self.stopped:
            return _error(409, "TRIAL_ALREADY_FINISHED", "the trial was stopped")
        if path.endswith("/decline") and self.refuse_declines != 0:
            self.refuse_declines -= 1
            status, code = self.decline_error
            return _error(status, code, "decline refused (test)")
        if path.endswith("/decline"):
            # The API's bounds (DeclineTrialDto.reason): one printable line of 1-1000 characters.
            reason = body.get("reason") if isinstance(body, dict) else None
            if (
                not isinstance(reason, str)
                or not 1 <= len(reason) <= 1000
                or not reason.strip()
                or not reason.isprintable()
            ):
                return _error(400, "VALIDATION_FAILED", "reason: must be one printable line (test)")
            trial_id = path.split("/")[3]
            self.reports[trial_id] = ("decline", body)
            self.declines.append(trial_id)
            return httpx.Response(200, json={"id": trial_id, "status": "pending"})
        if path.endswith("/release"):
            self.released.append(path.split("/")[3])
            self.release_bodies[path.split("/")[3]] = body
            return httpx.Response(200, json={"id": path.split("/")[3], "status": "pending"})
        if path.endswith("/complete") or path.endswith("/fail"):
            if self.fail_reports > 0:
                self.fail_reports -= 1
                return _error(503, "UNAVAILABLE", "try later")
            if self.lease_lost_on_report:
                return _error(409, "LEASE_LOST", "the lease expired")
            if path.endswith("/fail"):
                # The API's own bounds (FailTrialDto.error, json-body-parser.ts's text check).
                error = body.get("error", "")
                if self.refuse_fail_text > 0 or not 1 <= len(error) <= 10_000 or "\x00" in error:
                    self.refuse_fail_text = max(0, self.refuse_fail_text - 1)
                    return _error(400, "VALIDATION_FAILED", "error: must be shorter (test)")
            trial_id = path.split("/")[3]
            kind = "complete" if path.endswith("/complete") else "fail"
            previous = self.reports.get(trial_id)
            if previous is not None and previous != (kind, body):
                return _error(409, "TRIAL_ALREADY_FINISHED", "already finished")
            self.reports[trial_id] = (kind, body)
            return httpx.Response(200, json={"id": trial_id, "status": kind})
        return _error(404, "NOT_FOUND", f"no route {path}")


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"statusCode": status, "code": code, "message": message, "details": None}
    )
