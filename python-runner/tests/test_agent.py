"""The agent loop against an in-memory API (MockTransport) and a fake training child."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from meshtune_runner.agent import Agent, AgentConfig
from meshtune_runner.client import ApiClient, RetryPolicy
from meshtune_runner.demo_assets import DemoAssets
from meshtune_runner.launcher import Launcher
from meshtune_runner.trial_files import TrialSpec
from meshtune_runner.worker import TEST_CPU_RANKS

from .fake_api import FakeApi, trial_json

FAKE_WORKER = Path(__file__).with_name("fake_worker.py")
BBO3_PARAMS = {
    "lora_rank": 8,
    "lora_alpha_multiplier": 8,
    "lora_alpha": 64,
    "lora_dropout": 0.0,
    "learning_rate": 10**-3.5,
}


class FakeLauncher(Launcher):
    def __init__(self, mode: str = "complete") -> None:
        super().__init__([])
        self.mode = mode
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, spec_path: Path, log_file: IO[bytes]) -> subprocess.Popen[bytes]:
        env = {**os.environ, "FAKE_WORKER_MODE": self.mode, "PYTHONPATH": os.pathsep.join(sys.path)}
        process = subprocess.Popen(
            [sys.executable, str(FAKE_WORKER), str(spec_path)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self.processes.append(process)
        return process


def make_agent(
    api: FakeApi,
    state_dir: Path,
    launcher: Launcher,
    *,
    transport: httpx.BaseTransport | None = None,
    agent_class: type[Agent] = Agent,
    **extra: Any,
) -> Agent:
    """An agent on the fake API (or on `transport`, for tests that answer requests themselves)."""
    # The study's data lies in pytest's base temp folder (the session's demo assets, each
    # test's tmp_path): the runner's data root, as an operator would set it (policy.py).
    extra.setdefault("data_root", state_dir.parents[1])
    extra.setdefault("exit_when_idle", 0.0)
    config = AgentConfig(
        base_url="http://api.test",
        api_key="runner-key",
        name="test-runner",
        state_dir=state_dir,
        retry_initial_seconds=0.01,
        **extra,
    )

    def factory(url: str, token: str, retry: RetryPolicy) -> ApiClient:
        return ApiClient(url, token, retry=retry, transport=transport or api.transport())

    return agent_class(config, client_factory=factory, launcher=launcher)


def test_trials_are_trained_heartbeated_and_completed(api: FakeApi, state_dir: Path) -> None:
    api.trials = [
        trial_json("t1", 1, BBO3_PARAMS),
        trial_json("t2", 2, {**BBO3_PARAMS, "lora_rank": 4, "lora_alpha": 32}),
    ]
    agent = make_agent(api, state_dir, FakeLauncher())
    assert agent.run() == 0
    # GPU-seconds, measured around the child (a CPU runner counts as one device): the fake
    # child runs about a second.
    gpu_seconds = {t: body.pop("gpuSeconds") for t, (_, body) in api.reports.items()}
    assert all(1.0 <= value < 30 for value in gpu_seconds.values()), gpu_seconds
    # What each result was trained with, and where its adapter lies (checked in their own tests).
    for _, body in api.reports.values():
        assert body.pop("effectiveConfig")
        assert body.pop("adapter")["location"]
    assert api.reports == {
        "t1": (
            "complete",
            {
                "outputs": {
                    "val_loss": 1.125,
                    "eval_runtime": 0.5,
                    "train_loss": 0.9,
                    "train_runtime": 1.0,
                }
            },
        ),
        "t2": (
            "complete",
            {
                "outputs": {
                    "val_loss": 1.25,
                    "eval_runtime": 0.5,
                    "train_loss": 0.9,
                    "train_runtime": 1.0,
                }
            },
        ),
    }
    # leaseSeconds=3 -> a heartbeat each second, with progress and intermediate losses
    assert api.heartbeats
    sent = [m for beat in api.heartbeats for m in beat.get("metrics", [])]
    assert {"name": "val_loss", "step": 2, "value": 2.48} in sent
    assert all(0.0 <= beat["progress"] <= 1.0 for beat in api.heartbeats if "progress" in beat)
    assert list((state_dir / "outbox").iterdir()) == []


def test_identity_is_saved_and_reused(api: FakeApi, state_dir: Path) -> None:
    api.unavailable_first = 2  # the API is still starting: registration is retried
    make_agent(api, state_dir, FakeLauncher()).run()
    make_agent(api, state_dir, FakeLauncher()).run()
    registrations = [c for c in api.calls if c[1] == "/v1/runners"]
    assert len(registrations) == 3  # two 503s, then one registration, re-used afterwards
    assert (state_dir / "runner.json").stat().st_mode & 0o777 == 0o600


class _Registrations:
    """Counts POST /v1/runners by the credential it carried (the API key: a new runner; the
    runner's token: that runner updated)."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.seen: list[str] = []
        handle = api.handle

        def counting(request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path == "/v1/runners":
                auth = request.headers.get("authorization", "")
                self.seen.append("key" if auth == "Bearer runner-key" else "token")
            return handle(request)

        api.handle = counting  # type: ignore[method-assign]


def test_a_restart_with_the_same_settings_does_not_register_again(
    api: FakeApi, state_dir: Path
) -> None:
    """Registering again clears the runner's health: a crash-looping runner restarted by its
    supervisor with the same settings must keep its quarantine (docs/reliability.md, 13/14)."""
    seen = _Registrations(api)
    make_agent(api, state_dir, FakeLauncher(), labels=["a100", "80g"], gpu_memory_mb=80_000).run()
    for _ in range(2):
        # the same labels in another order are the same settings
        make_agent(
            api, state_dir, FakeLauncher(), labels=["80g", "a100"], gpu_memory_mb=80_000
        ).run()
    assert seen.seen == ["key"]


@pytest.mark.parametrize(
    "change",
    [
        {"labels": ["a100", "80g", "nvlink"]},
        {"gpus": ["0", "1"]},
        {"gpu_memory_mb": 40_000},
        {"allow_read": ["/mnt/datasets"]},
        {"allow_write": ["s3://bucket/adapters"]},
        {"allow_remote_code": True},
        {"allow_training_arguments": ["warmup_steps"]},
        {"overrides": {"maxSeqLength": 256}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_restart_with_other_settings_registers_again_with_its_token(
    api: FakeApi, state_dir: Path, change: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """What the API keeps (GPUs, memory, labels) or what decides declines (folders, allowances,
    overrides) changed: one registration with the runner's token, which updates the runner in
    place (same id and token); the next restart with those settings registers nothing."""
    seen = _Registrations(api)
    base: dict[str, Any] = {"labels": ["a100", "80g"], "gpus": ["0"], "gpu_memory_mb": 80_000}
    make_agent(api, state_dir, FakeLauncher(), **base).run()
    saved = json.loads((state_dir / "runner.json").read_text())
    with caplog.at_level(logging.INFO, logger="meshtune_runner"):
        agent = make_agent(api, state_dir, FakeLauncher(), **{**base, **change})
        assert agent.run() == 0
    assert "settings changed since last run: registering again" in caplog.text
    assert seen.seen == ["key", "token"]
    assert api.runner["labels"] == agent.config.labels
    assert api.runner["gpus"] == len(agent.config.gpus)
    assert api.runner["gpuMemoryMb"] == agent.config.gpu_memory_mb
    now = json.loads((state_dir / "runner.json").read_text())
    assert (now["id"], now["token"]) == (saved["id"], saved["token"])
    assert now["settings"] != saved["settings"]
    assert (state_dir / "runner.json").stat().st_mode & 0o777 == 0o600
    make_agent(api, state_dir, FakeLauncher(), **{**base, **change}).run()
    assert seen.seen == ["key", "token"]


def test_a_restart_with_wider_folders_is_offered_the_studies_it_declined(
    api: FakeApi, state_dir: Path
) -> None:
    """docs/runner.md, "Studies a runner cannot run": a runner that declined a study for its
    folders and restarts with folders that hold it registers again, which clears its declines
    (api/src/runners/runners.service.ts `register`), rather than waiting out the hour."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    narrow = state_dir.parent / "nothing-here"  # the demo model lies outside it
    make_agent(api, state_dir, FakeLauncher(), data_root=narrow).run()
    assert api.reports["t1"][0] == "decline"
    assert api.declines == ["t1"]
    seen = _Registrations(api)
    api.trials = [trial_json("t2", 2, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher()).run()  # data root: where the demo assets are
    assert seen.seen == ["token"]
    assert api.declines == []
    assert api.reports["t2"][0] == "complete"


def test_an_identity_saved_without_settings_registers_again_once(
    api: FakeApi, state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """runner.json from a runner older than the fingerprint: its settings are unknown, so it
    registers again with its token once, and not on the restarts after."""
    (state_dir / "runner.json").write_text(
        json.dumps(
            {
                "baseUrl": "http://api.test",
                "name": "test-runner",
                "id": "runner-1",
                "token": api.runner_token,
            }
        )
    )
    seen = _Registrations(api)
    with caplog.at_level(logging.INFO, logger="meshtune_runner"):
        assert make_agent(api, state_dir, FakeLauncher(), labels=["a100"]).run() == 0
    assert "settings unknown since last run: registering again" in caplog.text
    assert api.runner["labels"] == ["a100"]
    make_agent(api, state_dir, FakeLauncher(), labels=["a100"]).run()
    assert seen.seen == ["token"]
    assert json.loads((state_dir / "runner.json").read_text())["token"] == api.runner_token


def test_a_rejected_token_on_registering_again_registers_a_new_runner(
    api: FakeApi, state_dir: Path
) -> None:
    """The saved token no longer acts for a runner (deleted, or reclaimed while unseen): the
    runner registers anew with its API key and keeps the new token."""
    seen = _Registrations(api)
    make_agent(api, state_dir, FakeLauncher(), labels=["a100"]).run()
    api.runner_token = "another-token"  # the old runner and its token are gone
    assert make_agent(api, state_dir, FakeLauncher(), labels=["h100"]).run() == 0
    assert seen.seen == ["key", "token", "key"]
    assert json.loads((state_dir / "runner.json").read_text())["token"] == "another-token"
    assert api.runner["labels"] == ["h100"]


def test_unknown_parameter_fails_the_trial_without_training(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, {**BBO3_PARAMS, "temperature": 0.3})]
    launcher = FakeLauncher()
    make_agent(api, state_dir, launcher).run()
    kind, body = api.reports["t1"]
    assert kind == "fail"
    assert "unknown trial parameter(s) temperature" in body["error"]
    assert "gpuSeconds" not in body  # no child ran
    assert launcher.processes == []


def _refusal(api: FakeApi, trial_id: str) -> tuple[str, dict[str, Any]]:
    """How the trial was given back: ("decline", body), ("runnerFault", body) (a fail of kind
    "runner": no attempt, counted against the runner's health; reporter.py) or ("fail", body)
    (an evaluation failure, retryable or not)."""
    kind, body = api.reports[trial_id]
    if kind == "fail" and body.get("kind") == "runner":
        return "runnerFault", body
    return kind, body


def test_a_bad_training_config_fails_the_trial(api: FakeApi, state_dir: Path) -> None:
    api.training_config = {**api.training_config, "batchSize": 8}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher()).run()
    # The study's own mistake, on every runner: a failed evaluation (the study ends).
    kind, body = _refusal(api, "t1")
    assert kind == "fail" and "bad trainingConfig: batchSize" in body["error"]


def test_data_missing_under_the_runners_folders_is_declined(api: FakeApi, state_dir: Path) -> None:
    """docs/runner.md, "Whose fault a refusal is": a path this runner may read but does not
    have (another runner may have the shared file system mounted) is this runner's setup, not
    the point and not a broken runner: declined, never a failure nor a runner fault."""
    # Under the runner's data root (a path outside it is refused by the policy: test_policy.py).
    missing = state_dir.parents[1] / "nowhere" / "train.json"
    api.training_config = {**api.training_config, "trainData": str(missing)}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    launcher = FakeLauncher()
    make_agent(api, state_dir, launcher).run()
    assert _refusal(api, "t1") == (
        "decline",
        {"reason": f"trainData not found on this runner: {missing}"},
    )
    assert launcher.processes == []
    assert not any(path.endswith("/fail") for _, path, _ in api.calls)


def test_a_qlora_study_on_a_runner_without_bitsandbytes_is_declined(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package is missing on this machine, the point is fine: declined, not failed."""
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "bitsandbytes" else real_find_spec(name, *args),
    )
    api.training_config = {**api.training_config, "quantization": "nf4"}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher()).run()
    kind, body = _refusal(api, "t1")
    assert kind == "decline"
    assert "quantization 'nf4' needs bitsandbytes" in body["reason"]


def test_child_failures_become_failed_trials(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("fail")).run()
    assert api.reports["t1"][1].pop("gpuSeconds") > 0
    # Out of memory is a resource failure (the API hands the trial to a runner with more GPU
    # memory), not a failed evaluation charged to the hyperparameters.
    assert api.reports["t1"] == (
        "fail",
        {"error": "out of GPU memory on rank 0: CUDA out of memory (fake)", "kind": "resource"},
    )
    api.trials = [trial_json("t2", 2, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("crash")).run()
    body = api.reports["t2"][1]
    assert body["error"].startswith(
        "runner failure (retryable on another runner): training process exited with code 3"
    )
    assert "something exploded" in body["error"]
    assert body["retryable"] is True  # a crash may be the machine's fault: try elsewhere
    api.trials = [trial_json("t3", 3, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("diverged")).run()
    assert api.reports["t3"][1].pop("gpuSeconds") > 0
    assert api.reports["t3"] == ("fail", {"error": "loss is nan (fake)"})  # a failed evaluation
    kinds = [json.loads(line)["kind"] for line in (state_dir / "results.jsonl").open()]
    assert kinds == ["resource", "runner", "evaluation"]


def test_out_of_memory_on_another_rank_is_reported_as_such(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("oom-rank1")).run()
    body = api.reports["t1"][1]
    assert body.pop("gpuSeconds") > 0
    assert body == {
        "error": "out of GPU memory on rank 1: CUDA out of memory (fake, rank 1)",
        "kind": "resource",
    }


@pytest.mark.parametrize(
    ("study", "runner", "parameters", "expected", "says"),
    [
        # This runner's GPU count does not split the global batch; one GPU (or two) would.
        ({"perDeviceTrainBatchSize": 4}, {"gpus": ["0", "1", "2"]}, {}, "decline", "3 GPU(s)"),
        # This runner's own per-device batch does not; the study's (4) would.
        (
            {"perDeviceTrainBatchSize": 4},
            {"overrides": {"perDeviceTrainBatchSize": 3}},
            {},
            "decline",
            "perDeviceTrainBatchSize 3 x 1 GPU(s)",
        ),
        # The study's per-device batch does not: no runner can split it as the study says.
        ({"perDeviceTrainBatchSize": 3}, {}, {}, "fail", "(the study): no runner can split it"),
        # The point's per-device batch does not: the point is bad (the engine learns it).
        (
            {"perDeviceTrainBatchSize": 4},
            {},
            {"per_device_train_batch_size": 3},
            "fail",
            "(the trial parameter): no runner can split it",
        ),
    ],
)
def test_a_global_batch_that_does_not_split_is_declined_only_when_another_runner_can(
    api: FakeApi,
    state_dir: Path,
    study: dict[str, Any],
    runner: dict[str, Any],
    parameters: dict[str, Any],
    expected: str,
    says: str,
) -> None:
    api.training_config = {**api.training_config, "globalBatchSize": 8, **study}
    api.trials = [trial_json("t1", 1, {**BBO3_PARAMS, **parameters})]
    launcher = FakeLauncher()
    make_agent(api, state_dir, launcher, **runner).run()
    kind, body = _refusal(api, "t1")
    assert kind == expected, body
    assert says in body.get("reason", body.get("error", "")), body
    if kind == "fail":
        assert "kind" not in body  # a failed evaluation: the point or the study, everywhere
    assert launcher.processes == []  # refused before a child starts


@pytest.mark.parametrize(
    ("study", "overrides", "expected", "says"),
    [
        # A regime key: this runner's settings are wrong whatever the study.
        ({}, {"epochs": 1}, "runnerFault", "cannot be overridden by a runner"),
        # A value out of the field's own bounds: the same.
        ({"globalBatchSize": 8}, {"perDeviceTrainBatchSize": 0}, "runnerFault", "overrides are"),
        # A per-device batch for a study without a global batch: this study only.
        ({}, {"perDeviceTrainBatchSize": 2}, "decline", "without globalBatchSize"),
    ],
)
def test_the_runners_own_overrides_are_its_fault_or_its_decline(
    api: FakeApi,
    state_dir: Path,
    study: dict[str, Any],
    overrides: dict[str, Any],
    expected: str,
    says: str,
) -> None:
    """cli.py checks --set at start; an AgentConfig built otherwise may still carry them."""
    api.training_config = {**api.training_config, **study}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher(), overrides=overrides).run()
    kind, body = _refusal(api, "t1")
    assert kind == expected, body
    assert says in body.get("reason", body.get("error", "")), body


def test_a_gpu_precision_on_a_runner_without_gpus_is_declined(
    api: FakeApi, state_dir: Path
) -> None:
    """(CPU would train fp32: another regime than the study's.) A runner registered without
    GPUs never leases a study with requiredRunnerGpus (the API's lease query); this is the
    study that names a GPU precision without that requirement."""
    api.training_config = {**api.training_config, "precision": "bf16-mixed"}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    launcher = FakeLauncher()
    make_agent(api, state_dir, launcher).run()
    kind, body = _refusal(api, "t1")
    assert kind == "decline" and "precision 'bf16-mixed' needs a GPU" in body["reason"], body
    assert launcher.processes == []
    api.training_config = {**api.training_config, "precision": "fp32"}  # what a CPU trains
    api.trials = [trial_json("t2", 2, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher()).run()
    assert api.reports["t2"][0] == "complete"


def test_gpus_this_runner_was_given_but_cannot_use_are_a_runner_fault(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--gpus names a GPU that CUDA cannot use (no driver, a wrong index): the real training
    child refuses before loading anything, as this runner's fault (its health), rather than
    train on the CPU. GPU 97 exists nowhere, so this holds on a GPU machine too."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))  # the real child's imports
    monkeypatch.delenv(TEST_CPU_RANKS, raising=False)
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, Launcher(["97"]), gpus=["97"]).run()
    kind, body = _refusal(api, "t1")
    assert kind == "runnerFault", body
    assert "given GPU(s) 97 (--gpus) but CUDA can use 0" in body["error"], body
    assert body["kind"] == "runner" and body["gpuSeconds"] > 0


@pytest.mark.parametrize(("mode", "expected"), [("mismatch", "decline"), ("broken", "runnerFault")])
def test_what_the_child_finds_is_declined_or_a_runner_fault(
    api: FakeApi, state_dir: Path, mode: str, expected: str
) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher(mode)).run()
    kind, body = _refusal(api, "t1")
    assert kind == expected, body
    assert "(fake)" in body.get("reason", "") or "CUDA can use 0" in body.get("error", ""), body
    # Either way the child ran: what it used is counted with the refusal.
    assert body["gpuSeconds"] > 0, body


def test_completed_trials_keep_their_adapter_with_a_manifest(
    api: FakeApi, state_dir: Path, tmp_path: Path
) -> None:
    api.trials = [trial_json(f"t{n}", n, BBO3_PARAMS) for n in (1, 2, 3)]
    kept_root = tmp_path / "adapters"
    make_agent(api, state_dir, FakeLauncher(), adapter_dir=kept_root, keep_adapters=2).run()
    kept = sorted(p.name for p in (kept_root / "study-1").iterdir())
    assert kept == ["trial-00002-t2-a1", "trial-00003-t3-a1"]  # the oldest one removed
    manifest = json.loads((kept_root / "study-1" / kept[-1] / "meshtune-trial.json").read_text())
    assert manifest["trialId"] == "t3"
    assert manifest["outputs"]["val_loss"] == 1.125
    assert manifest["effectiveConfig"]["regimeHash"] == "sha256:fake"
    assert (kept_root / "study-1" / kept[-1] / "adapter_model.safetensors").read_bytes() == b"fake"
    records = [json.loads(line) for line in (state_dir / "results.jsonl").open()]
    assert records[-1]["adapter"] == str(kept_root / "study-1" / kept[-1])
    assert records[-1]["effectiveConfig"] == {"regimeHash": "sha256:fake", "gpuCount": 0}
    # The API gets the effective configuration and where the adapter is kept, with the outputs.
    sent = api.reports["t3"][1]
    assert sent.keys() == {"outputs", "gpuSeconds", "effectiveConfig", "adapter"}
    assert sent["effectiveConfig"] == {"regimeHash": "sha256:fake", "gpuCount": 0}
    assert sent["adapter"] == {
        "location": str(kept_root / "study-1" / kept[-1]),
        "sizeBytes": len(b"fake"),
    }


def test_should_stop_from_the_api_stops_the_child(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.should_stop_after = 1
    launcher = FakeLauncher("slow")
    started = time.monotonic()
    make_agent(api, state_dir, launcher).run()
    assert time.monotonic() - started < 8  # the slow child would need 10 s
    assert launcher.processes[0].returncode is not None
    assert "t1" not in api.reports
    assert api.released == ["t1"]
    # The release counts the attempt's GPU-seconds, the time since the last heartbeat included.
    assert api.release_bodies["t1"]["gpuSeconds"] >= api.heartbeats[-1]["gpuSeconds"] > 0


def test_result_survives_an_unreachable_api_and_is_resent(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.fail_reports = 3  # 503 three times, then accepted
    make_agent(api, state_dir, FakeLauncher()).run()
    assert api.reports["t1"][0] == "complete"

    # A hard stop while the report cannot be delivered keeps it on disk for the next start.
    api.trials = [trial_json("t2", 2, BBO3_PARAMS)]
    api.fail_reports = 10**6
    agent = make_agent(api, state_dir, FakeLauncher())
    original_send = agent.reporter.send

    def send_then_hard_stop(report: object) -> None:
        agent.stopping = agent.hard_stop = True
        agent._hard_stop_event.set()
        original_send(report)  # type: ignore[arg-type]

    agent.reporter.send = send_then_hard_stop  # type: ignore[method-assign]
    agent.run()
    assert "t2" not in api.reports
    assert [p.name for p in (state_dir / "outbox").iterdir()] == ["t2.json"]

    api.fail_reports = 0
    make_agent(api, state_dir, FakeLauncher()).run()
    assert api.reports["t2"][0] == "complete"
    assert list((state_dir / "outbox").iterdir()) == []


def test_lease_lost_result_is_dropped(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.lease_lost_on_report = True
    assert make_agent(api, state_dir, FakeLauncher()).run() == 0
    assert list((state_dir / "outbox").iterdir()) == []


def test_first_signal_drains_the_current_trial(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS), trial_json("t2", 2, BBO3_PARAMS)]
    agent = make_agent(api, state_dir, FakeLauncher())
    threading.Timer(0.3, agent._on_signal, args=(15, None)).start()
    assert agent.run() == 0
    assert list(api.reports) == ["t1"]  # finished and reported; t2 never leased
    assert len(api.trials) == 1


def test_second_signal_stops_now_without_reporting(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    launcher = FakeLauncher("slow")
    agent = make_agent(api, state_dir, launcher)
    threading.Timer(0.5, agent._on_signal, args=(15, None)).start()
    threading.Timer(1.0, agent._on_signal, args=(15, None)).start()
    started = time.monotonic()
    assert agent.run() == 1
    assert time.monotonic() - started < 8
    assert api.reports == {}
    assert api.released == ["t1"]
    assert launcher.processes[0].returncode is not None


def test_drain_timeout_releases_a_long_trial(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    agent = make_agent(api, state_dir, FakeLauncher("slow"), drain_timeout=0.5)
    threading.Timer(0.5, agent._on_signal, args=(15, None)).start()
    started = time.monotonic()
    assert agent.run() == 0
    assert api.released == ["t1"]
    assert api.reports == {}
    # What the child used until it was given back (a CPU runner counts as one device).
    assert 0.5 <= api.release_bodies["t1"]["gpuSeconds"] <= time.monotonic() - started

    # An API older than the field refuses it (400 naming gpuSeconds): released again without it.
    api.accepts_gpu_seconds = False
    api.trials = [trial_json("t2", 2, BBO3_PARAMS)]
    agent = make_agent(api, state_dir, FakeLauncher("slow"), drain_timeout=0.5)
    threading.Timer(0.5, agent._on_signal, args=(15, None)).start()
    assert agent.run() == 0
    assert api.released == ["t1", "t2"]
    assert "gpuSeconds" not in api.release_bodies["t2"]


def test_rejected_api_key_is_fatal(api: FakeApi, state_dir: Path) -> None:
    agent = make_agent(api, state_dir, FakeLauncher())
    agent.config.api_key = "wrong"
    assert agent.run() == 2


def test_a_url_that_is_not_the_api_is_a_clear_configuration_error(
    api: FakeApi, state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A --url with a path after the API's base (or another service on that port) answers the
    registration 404: the runner exits 2 naming --url, with no traceback and nothing saved."""

    def not_the_api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404,
            json={
                "statusCode": 404,
                "code": "NOT_FOUND",
                "message": f"Cannot {request.method} {request.url.path}",
            },
        )

    agent = make_agent(api, state_dir, FakeLauncher(), transport=httpx.MockTransport(not_the_api))
    with caplog.at_level(logging.ERROR, logger="meshtune_runner"):
        assert agent.run() == 2
    said = caplog.text
    assert "refused to register" in said and "--url" in said and "404 NOT_FOUND" in said, said
    assert not (state_dir / "runner.json").exists()


def test_unknown_study_is_a_configuration_error(api: FakeApi, state_dir: Path) -> None:
    agent = make_agent(api, state_dir, FakeLauncher(), study_id="no-such-study")
    assert agent.run() == 2


def test_a_study_deleted_while_its_trial_runs_ends_the_runner_cleanly(
    api: FakeApi, state_dir: Path
) -> None:
    """The study is stopped and deleted while its last trial trains: heartbeats and the report
    answer 404 TRIAL_NOT_FOUND, the next lease 404 STUDY_NOT_FOUND. The trial is dropped (no
    report kept in the outbox) and the runner exits 0, as after a finished study."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.delete_study_after_last_lease = True
    # Without --exit-when-idle: the runner ends because the study is gone, not for idling.
    agent = make_agent(api, state_dir, FakeLauncher(), study_id="study-1")
    agent.config.exit_when_idle = None
    assert agent.run() == 0
    assert api.reports == {}
    assert agent.outbox.pending() == []
    leases = [call for call in api.calls if call[1].endswith("/lease")]
    assert len(leases) == 2


def test_checkpoints_outlive_a_retryable_failure_and_go_with_the_result(
    api: FakeApi, state_dir: Path
) -> None:
    api.training_config = {**api.training_config, "checkpointSteps": 2}
    checkpoints = state_dir / "checkpoints" / "study-1" / "t1"
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("crash")).run()
    assert api.reports["t1"][1]["retryable"] is True
    assert (checkpoints / "checkpoint-2").is_dir()  # the next attempt resumes from it
    api.trials = [{**trial_json("t1", 1, BBO3_PARAMS), "attempt": 2}]
    api.reports.clear()
    make_agent(api, state_dir, FakeLauncher()).run()
    assert api.reports["t1"][0] == "complete"
    assert not checkpoints.exists()


def _trial_calls(api: FakeApi, trial_id: str) -> list[tuple[str, Any]]:
    return [
        (path.rsplit("/", 1)[-1], body)
        for _, path, body in api.calls
        if path.startswith(f"/v1/trials/{trial_id}/")
    ]


def test_gpu_seconds_grow_in_heartbeats_and_an_older_api_gets_none(
    api: FakeApi, state_dir: Path
) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher()).run()
    sent = [beat["gpuSeconds"] for beat in api.heartbeats]
    # The fake child runs about a second: one heartbeat or more, depending on the machine's load.
    assert len(sent) >= 1 and sent[0] > 0
    assert sent == sorted(sent)  # cumulative
    assert api.reports["t1"][1]["gpuSeconds"] >= sent[-1]

    # An API older than the field refuses it (400 naming gpuSeconds): sent once, then left out.
    api.accepts_gpu_seconds = False
    api.trials = [trial_json("t2", 2, BBO3_PARAMS)]
    api.calls.clear()
    make_agent(api, state_dir, FakeLauncher()).run()
    assert api.reports["t2"][0] == "complete"
    assert "gpuSeconds" not in api.reports["t2"][1]
    with_field = [body for _, body in _trial_calls(api, "t2") if "gpuSeconds" in body]
    assert len(with_field) == 1  # the first heartbeat; everything after went without


def test_an_early_stop_ends_the_child_keeps_its_adapter_and_reports_nothing(
    api: FakeApi, state_dir: Path, tmp_path: Path
) -> None:
    api.training_config = {**api.training_config, "checkpointSteps": 2}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.should_stop_after = 1
    api.stop_reason = "early_stopped"
    launcher = FakeLauncher("slow")
    started = time.monotonic()
    make_agent(api, state_dir, launcher, adapter_dir=tmp_path / "adapters").run()
    assert time.monotonic() - started < 8  # the slow child would need 10 s
    assert launcher.processes[0].returncode == 0  # it ended by itself, not killed
    # The trial ended on the server: no complete, no fail, no release, no more heartbeats.
    calls = [name for name, _ in _trial_calls(api, "t1")]
    assert calls == ["heartbeat", "heartbeat"]
    assert api.reports == {} and api.released == []
    kept = tmp_path / "adapters" / "study-1" / "trial-00001-t1-a1"
    assert (kept / "adapter_model.safetensors").read_bytes() == b"stopped"
    manifest = json.loads((kept / "meshtune-trial.json").read_text())
    assert manifest["status"] == "stopped" and manifest["stoppedReason"] == "early_stopped"
    assert 1 <= manifest["stoppedAtStep"] < 40
    assert manifest["gpuSeconds"] > 0
    # The checkpoint stays for a resume of the same point.
    assert (state_dir / "checkpoints" / "study-1" / "t1" / "checkpoint-2").is_dir()
    record = json.loads((state_dir / "results.jsonl").read_text().splitlines()[-1])
    assert record["report"] == "none (stopped by the API)" and record["adapter"] == str(kept)


def test_other_stop_reasons_still_give_the_trial_back(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.should_stop_after = 1
    api.stop_reason = "study_paused"
    make_agent(api, state_dir, FakeLauncher("slow")).run()
    assert api.released == ["t1"] and api.reports == {}
    assert not (state_dir / "adapters").exists()


@pytest.mark.training
def test_an_early_stop_ends_real_training_promptly(
    demo_assets: DemoAssets, state_dir: Path
) -> None:
    """The real training child (tiny Llama, CPU) under the agent: the API stops the trial at
    its first evaluation; training ends long before its last step, nothing is reported, the
    adapter is kept and loads; GPU-seconds were sent with every heartbeat, growing."""
    from meshtune_runner.demo_assets import demo_training_config

    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 192,  # 24 steps per epoch
        # 480 steps: on an idle CPU one epoch of the tiny model can end within the agent's 1 s
        # heartbeat interval, before the stop can arrive (seen once in CI); twenty cannot.
        "epochs": 20,
        "maxEvalSamples": 16,
        "evalSteps": 3,
        "loggingSteps": 1,
    }
    api = FakeApi(training_config=config, stop_reason="early_stopped", stop_at_first_val_loss=True)
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    agent = make_agent(api, state_dir, Launcher([]))
    assert agent.run() == 0
    assert api.stopped == ["t1"]
    assert api.reports == {} and api.released == []
    assert [name for name, _ in _trial_calls(api, "t1")][-1] == "heartbeat"
    sent = [beat["gpuSeconds"] for beat in api.heartbeats]
    assert sent[0] > 0 and sent == sorted(sent)

    kept = state_dir / "adapters" / "study-1" / "trial-00001-t1-a1"
    manifest = json.loads((kept / "meshtune-trial.json").read_text())
    assert manifest["status"] == "stopped"
    stopped_at = manifest["stoppedAtStep"]
    work = state_dir / "trials" / "t1-a1"
    waited = (work / "result.json").stat().st_mtime - (work / "stop").stat().st_mtime
    print(
        f"early stop: stop file to the child's result {waited:.2f} s, training ended at "
        f"step {stopped_at} of {manifest['effectiveConfig'].get('plannedSteps', '?')}, "
        f"gpuSeconds in heartbeats {sent}"
    )
    assert stopped_at is not None and stopped_at < 480  # stopped, not run to its end
    assert waited < 30
    from meshtune_runner.training.adapters import load_adapter

    assert load_adapter(kept) is not None


def test_an_adapter_that_would_bring_the_disk_under_the_floor_is_not_kept(
    api: FakeApi, state_dir: Path, tmp_path: Path
) -> None:
    # A study decides its adapters' size (its LoRA rank); kept without end they would fill the
    # file system the runner's state and other studies' trials share. Under the floor the result
    # is still reported, without an adapter. The floor here is above the real free space.
    kept_root = tmp_path / "adapters"
    kept_root.mkdir()
    free_mb = shutil.disk_usage(kept_root).free // 2**20
    api.trials = [trial_json("t1", 1, BBO3_PARAMS), trial_json("t2", 2, BBO3_PARAMS)]
    agent = make_agent(
        api,
        state_dir,
        FakeLauncher(),
        adapter_dir=kept_root,
        min_free_disk_mb=free_mb + 1024,
        keep_trial_dirs=True,
        prune=False,  # the retention would prune the trial folders read below (test_pruning.py)
    )
    agent.run()
    # The training child gets the floor too, for its checkpoints (test_training.py).
    spec = TrialSpec.load(state_dir / "trials" / "t1-a1" / "spec.json")
    assert spec.min_free_disk_mb == free_mb + 1024
    assert not (kept_root / "study-1").exists() or not any((kept_root / "study-1").iterdir())
    for trial in ("t1", "t2"):
        sent = api.reports[trial][1]
        assert sent["outputs"]["val_loss"] == 1.125  # the result is not lost
        assert "adapter" not in sent
        # ... and says why (the API shows the effective configuration).
        assert "--min-free-disk-mb" in sent["effectiveConfig"]["adapterNotKept"]
    # With no floor the same adapter is kept.
    api.trials = [trial_json("t3", 3, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher(), adapter_dir=kept_root, min_free_disk_mb=0).run()
    assert api.reports["t3"][1]["adapter"]["location"].startswith(str(kept_root / "study-1"))


def test_a_crashed_childs_log_reaches_the_api_redacted_printable_and_bounded(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last lines of a crashed child's log are its failure's text: the child inherits the
    runner's environment, so a secret it prints must not reach the API, nor must bytes the API
    cannot store or a line of a megabyte."""
    from meshtune_runner.failure_text import MAX_FAILURE_CHARS

    monkeypatch.setenv("HF_TOKEN", "hf-secret-value-123")  # not hf_ shaped: redacted as known
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("crash-leaky")).run()
    kind, body = api.reports["t1"]
    error = body["error"]
    assert kind == "fail" and body["retryable"] is True
    assert error.startswith("runner failure (retryable on another runner): training process")
    assert "hf-secret-value-123" not in error and "deadbeefcafe0123" not in error
    assert "[REDACTED]" in error
    assert len(error) <= MAX_FAILURE_CHARS and "characters cut" in error
    assert "\x00" not in error and "\x1b" not in error and " 90%|#########  | 9/10" in error
    assert error.rstrip().endswith("Traceback: something exploded")
    # What the runner records locally is what it sent (no secret kept in results.jsonl).
    recorded = (state_dir / "results.jsonl").read_text(encoding="utf-8")
    assert "hf-secret-value-123" not in recorded


def test_a_failure_whose_text_the_api_refuses_is_reported_all_the_same(
    api: FakeApi, state_dir: Path
) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.refuse_fail_text = 1
    make_agent(api, state_dir, FakeLauncher("crash")).run()
    kind, body = api.reports["t1"]
    assert kind == "fail" and body["retryable"] is True
    assert body["error"].startswith("the API refused this failure's text (error: must be shorter")
    assert "runner failure (retryable on another runner): training process exited" in body["error"]
    assert list((state_dir / "outbox").iterdir()) == []


def test_the_training_log_is_capped_keeping_its_head_and_tail(
    api: FakeApi, state_dir: Path
) -> None:
    """8 MiB of output under --max-log-mb 1: the log keeps its first half MiB and its end,
    and says what was cut; the result is reported as usual."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("chatty"), max_log_mb=1).run()
    assert api.reports["t1"][0] == "complete"
    (log_path,) = (state_dir / "trials").glob("t1-a*/train.log")
    assert sorted(p.name for p in log_path.parent.iterdir() if p.name.startswith("train.log")) == [
        "train.log"
    ]  # the tail segments were folded into it
    size = log_path.stat().st_size
    assert 2**20 * 3 // 4 <= size <= 2**20 + 4096, size
    text = log_path.read_text(encoding="utf-8")
    assert text.startswith("chatty line 0000000000000000000\n")
    assert f"chatty line {8 * 2**20 // 32 - 1:019d}\n" in text  # the last line
    assert "bytes of this log cut here (--max-log-mb" in text


def test_a_failure_after_skipped_checkpoints_says_where_a_retry_resumes(
    api: FakeApi, state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Checkpoint saves skipped under the disk floor cost an interrupted trial the steps since
    the last kept one: its failure says so (the API shows it to the study's users)."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("crash-skipped")).run()
    error = api.reports["t1"][1]["error"]
    assert error.startswith("runner failure (retryable on another runner)")
    assert error.split("\n")[-1] == (
        "note: checkpoint saves skipped up to step 4 (the disk is under this runner's "
        "--min-free-disk-mb floor): an interrupted trial resumes from its checkpoint of step 2"
    )
    assert "checkpoint saves skipped up to step 4" in caplog.text  # said as it happened
    # A checkpoint saved after the skips (room again) makes the resume point current: no note.
    api.trials = [trial_json("t2", 2, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher("crash-resaved")).run()
    assert "note:" not in api.reports["t2"][1]["error"]


def test_a_study_without_training_config_is_declined_not_failed(
    api: FakeApi, state_dir: Path
) -> None:
    """A study an SDK runWorker evaluates (no trainingConfig) is not this runner's kind: the
    trial is given back for another runner, budget untouched (docs/reliability.md, finding 49)."""
    api.training_config = {}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    launcher = FakeLauncher()
    assert make_agent(api, state_dir, launcher).run() == 0
    kind, body = api.reports["t1"]
    assert kind == "decline"
    assert "no trainingConfig" in body["reason"] and "runWorker" in body["reason"]
    assert launcher.processes == []
    assert not any(path.endswith("/fail") for _, path, _ in api.calls)


def test_decline_reasons_are_one_printable_line_the_api_accepts() -> None:
    from meshtune_runner.client import MAX_DECLINE_REASON_CHARS, decline_reason

    assert decline_reason("a\nb\tc\x1b[31m d\u202e e") == "a b c [31m d e"
    assert decline_reason("\x00\n ") == "this runner cannot run this study"
    long = decline_reason("x" * 5000)
    assert len(long) == MAX_DECLINE_REASON_CHARS and long.endswith("…")
    assert decline_reason("trainData: a local path this runner does not allow") == (
        "trainData: a local path this runner does not allow"
    )


def _decline_scenario(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch, error: tuple[int, str]
) -> list[tuple[float, str]]:
    """Three trials of a study this runner declines (leases of 2 s), its declines answered
    with `error`; the runner runs until idle for 2.5 s. Returns when it called what."""
    import meshtune_runner.agent as agent_module

    monkeypatch.setattr(agent_module, "DECLINE_HOLD_SECONDS", 0.5, raising=False)
    api.training_config = {}  # a runWorker study: declined
    api.lease_seconds = 2
    api.refuse_declines, api.decline_error = -1, error
    api.trials = [trial_json(f"t{n}", n, BBO3_PARAMS) for n in (1, 2, 3)]
    calls: list[tuple[float, str]] = []
    real_handle = api.handle

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append((time.monotonic(), request.url.path))
        return real_handle(request)

    agent = make_agent(
        api, state_dir, FakeLauncher(), transport=httpx.MockTransport(handle), exit_when_idle=2.5
    )
    assert agent.run() == 0
    return calls


def _declines_of(calls: list[tuple[float, str]], trial_id: str) -> list[float]:
    return [t for t, path in calls if path == f"/v1/trials/{trial_id}/decline"]


def _waits_before_leases(calls: list[tuple[float, str]]) -> list[float]:
    """For each lease after the first: the time since the runner's last call about a trial."""
    waits, last = [], None
    for t, path in calls:
        if path.endswith("/lease") and last is not None:
            waits.append(t - last)
        elif path.startswith("/v1/trials/"):
            last = t
    return waits


def test_a_decline_the_api_cannot_take_now_is_retried_then_left_to_the_lease_expiry(
    api: FakeApi,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """503 (or no answer) for the lease's whole length: retried with backoff (the client's
    retry policy) while the lease lasts, then left to expire (the API hands the trial out
    again), said in the log; no failure; and no lease for a while after, longer each time, so
    not a loop of lease and give back."""
    calls = _decline_scenario(api, state_dir, monkeypatch, (503, "UNAVAILABLE"))
    tries = _declines_of(calls, "t1")
    assert len(tries) >= 3, calls
    assert tries[-1] - tries[0] <= 2.0 + 1.0, tries  # about the lease's length (2 s), no more
    assert not any(path.endswith(("/fail", "/release")) for _, path in calls)
    waits = _waits_before_leases(calls)
    assert waits and waits[0] >= 0.5, waits
    assert len(waits) < 2 or waits[1] >= 1.0, waits  # doubled
    assert "decline not delivered" in caplog.text and "when its lease expires" in caplog.text


def test_a_decline_the_api_refuses_for_good_releases_the_trial_and_holds_off(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 4xx that retrying cannot fix (an API older than `decline`: 404): sent once, the trial
    released at once rather than held until expiry, and the next lease waits, longer each time
    (before this change the runner leased and gave back the next trial at once)."""
    calls = _decline_scenario(api, state_dir, monkeypatch, (404, "NOT_FOUND"))
    assert len(_declines_of(calls, "t1")) == 1
    assert api.released[:1] == ["t1"]
    assert not any(path.endswith("/fail") for _, path in calls)
    waits = _waits_before_leases(calls)
    assert waits and waits[0] >= 0.5, waits
    assert len(waits) < 2 or waits[1] >= 1.0, waits


def test_a_decline_of_a_trial_no_longer_held_leaves_it_to_the_api(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """409 LEASE_LOST: the trial is the API's again (leased to another runner); nothing to
    release, nothing held, so the next lease is not held off."""
    calls = _decline_scenario(api, state_dir, monkeypatch, (409, "LEASE_LOST"))
    assert [len(_declines_of(calls, t)) for t in ("t1", "t2", "t3")] == [1, 1, 1]
    assert api.released == []
    assert all(wait < 0.5 for wait in _waits_before_leases(calls)[:2]), calls


@pytest.mark.parametrize("field", ["model", "tokenizer"])
def test_a_hub_model_an_offline_runner_has_not_cached_is_declined_before_any_child(
    api: FakeApi, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    """docs/runner.md, "Whose fault a refusal is": an offline runner (the tests run with
    HF_HUB_OFFLINE=1) without the hub model in its cache lacks it; a runner online or with the
    model cached can train the point. Declined at once, no child started; a cached one is run."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    api.training_config = {**api.training_config, field: "example-org/absent-model"}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    launcher = FakeLauncher()
    make_agent(api, state_dir, launcher).run()
    kind, body = _refusal(api, "t1")
    assert kind == "decline", body
    assert "'example-org/absent-model' is a hub id not in this runner's hub cache" in body["reason"]
    assert launcher.processes == []

    # The same id with a snapshot in the cache (the layout huggingface_hub writes) is trained.
    snapshot = tmp_path / "hub" / "models--example-org--absent-model" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("a" * 40)
    api.trials = [trial_json("t2", 2, BBO3_PARAMS)]
    launcher = FakeLauncher()
    make_agent(api, state_dir, launcher).run()
    assert len(launcher.processes) == 1
    assert "t2" in api.reports
