"""End to end: the real meshtune API (embedded PostgreSQL) and two real runner processes.

A small BBO3-like study on the tiny demo Llama; one runner is killed (SIGKILL) in the middle
of a trial; the other finishes the study and nothing is lost. Needs the API built
(`npm run build` at the repository root; the test builds it when dist/ is missing).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from meshtune_runner.demo_assets import DemoAssets, demo_training_config

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
API_MAIN = REPO_ROOT / "dist" / "api" / "src" / "main.js"
ADMIN_KEY = "e2e-admin-key-0123456789"


@dataclass
class RunningApi:
    url: str
    admin: httpx.Client
    process: subprocess.Popen[bytes]
    log_path: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    if not API_MAIN.is_file():
        build = subprocess.run(
            ["npm", "run", "build"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if build.returncode != 0 or not API_MAIN.is_file():
            pytest.fail(
                f"the API does not build (npm run build):\n{build.stdout[-3000:]}"
                f"\n{build.stderr[-3000:]}"
            )
    # Not under pytest's 0700 tmp dirs: as root, embedded PostgreSQL runs initdb as another
    # user, which must be able to reach its data folder.
    data_dir = Path(tempfile.mkdtemp(prefix="meshtune-e2e-"))
    data_dir.chmod(0o755)
    log_path = data_dir / "api.log"
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "MESHTUNE_DATA_DIR": str(data_dir / "db"),
        "MESHTUNE_ADMIN_KEY": ADMIN_KEY,
        "MESHTUNE_RETRY_AFTER_SECONDS": "1",
        "MESHTUNE_LEASE_SWEEP_MS": "500",
        "MESHTUNE_LOG_LEVEL": "warn",
    }
    env.pop("DATABASE_URL", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["node", str(API_MAIN)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the API exited:\n{log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_for(healthy, 120, "the API's /health")
        admin = httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        yield RunningApi(url, admin, process, log_path)
        admin.close()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def _check(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def _study_body(assets: DemoAssets, max_evaluations: int) -> dict[str, Any]:
    training = {
        **demo_training_config(assets),
        "maxTrainSamples": 128,
        "maxEvalSamples": 32,
        "evalSteps": 4,
    }
    return {
        "name": "e2e-bbo3-tiny",
        "description": "BBO3's space, smaller, on the tiny demo Llama",
        "parameters": [
            {"name": "lora_rank", "type": "ordinal", "values": [4, 8, 16, 32, 64]},
            {"name": "lora_alpha_multiplier", "type": "integer", "lower": 1, "upper": 64},
            {"name": "lora_dropout", "type": "ordinal", "values": [0, 0.0001, 0.001, 0.01, 0.1]},
            {
                "name": "learning_rate",
                "type": "real",
                "lower": 0.00001,
                "upper": 0.01,
                "log": True,
                "fixed": 0.000316227766016838,
            },
        ],
        "derived": [{"name": "lora_alpha", "expression": "lora_alpha_multiplier * lora_rank"}],
        "outputs": [
            {"name": "val_loss", "type": "objective", "goal": "minimize"},
            {"name": "eval_runtime", "type": "extra"},
            {"name": "train_loss", "type": "extra"},
            {"name": "train_runtime", "type": "extra"},
        ],
        "x0": [
            {
                "lora_rank": 8,
                "lora_alpha_multiplier": 8,
                "lora_dropout": 0,
                "learning_rate": 0.000316227766016838,
            }
        ],
        "budget": {
            "maxEvaluations": max_evaluations,
            "maxParallelTrials": 2,
            "maxAttempts": 3,
            "leaseSeconds": 8,
        },
        "algorithm": {"name": "mads", "seed": 0},
        "trainingConfig": training,
    }


def _start_runner(
    api: RunningApi, key: str, study_id: str, name: str, tmp_path: Path, data_root: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    state_dir = tmp_path / name
    log_path = tmp_path / f"{name}.log"
    env = {**os.environ, "MESHTUNE_API_KEY": key, "OMP_NUM_THREADS": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meshtune_runner",
                "--url",
                api.url,
                "--study",
                study_id,
                "--name",
                name,
                "--gpus",
                "none",
                "--state-dir",
                str(state_dir),
                # The study's model and data lie there (a runner reads a study's paths only
                # under its data root: docs/runner.md, "What a study may ask of a runner").
                "--data-root",
                str(data_root),
                "--exit-when-idle",
                "60",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, state_dir


def _trials(api: RunningApi, study_id: str) -> list[dict[str, Any]]:
    body = _check(api.admin.get(f"/v1/studies/{study_id}/trials", params={"limit": 200}), 200)
    items: list[dict[str, Any]] = body["items"]
    return items


def test_two_runners_finish_a_study_even_when_one_is_killed(
    api: RunningApi, demo_assets: DemoAssets, tmp_path: Path
) -> None:
    max_evaluations = 6
    key = _check(
        api.admin.post("/v1/api-keys", json={"name": "e2e-runners", "scope": "runner"}), 201
    )["key"]
    study = _check(
        api.admin.post("/v1/studies", json=_study_body(demo_assets, max_evaluations)), 201
    )
    study_id = study["id"]
    runner_a, state_a = _start_runner(api, key, study_id, "runner-a", tmp_path, demo_assets.root)
    runner_b, _ = _start_runner(api, key, study_id, "runner-b", tmp_path, demo_assets.root)

    def logs() -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(tmp_path.glob("*.log"))
        )

    try:
        # Runner A leases the first trial; wait until it is in the middle of training.
        victim: dict[str, Any] = {}

        def a_is_mid_training() -> bool:
            """Runner A's child has reported progress but has not finished (local files)."""
            if runner_a.poll() is not None:
                raise AssertionError(f"runner A exited early\n{logs()}")
            for events in (state_a / "trials").glob("*/events.jsonl"):
                if (events.parent / "result.json").exists():
                    continue
                progress = [
                    json.loads(line).get("value")
                    for line in events.read_text().splitlines()
                    if '"progress"' in line
                ]
                if progress and 0 < progress[-1] < 0.9:
                    victim["id"] = events.parent.name.rsplit("-a", 1)[0]
                    return True
            return False

        _wait_for(a_is_mid_training, 180, f"runner A to be mid-trial\n{logs()}", interval=0.1)
        runner_a.send_signal(signal.SIGKILL)
        runner_a.wait(timeout=30)
        killed = _check(api.admin.get(f"/v1/trials/{victim['id']}"), 200)
        assert killed["status"] == "running", killed
        victim["runnerId"] = killed["runnerId"]

        def study_done() -> bool:
            if runner_b.poll() is not None:
                raise AssertionError(f"runner B exited before the study was done\n{logs()}")
            status = _check(api.admin.get(f"/v1/studies/{study_id}"), 200)["status"]
            return bool(status == "completed")

        _wait_for(study_done, 480, f"the study to complete\n{logs()}", interval=2)
        # Nothing left to do: a SIGTERM drains the idle runner, which exits cleanly.
        runner_b.send_signal(signal.SIGTERM)
        assert runner_b.wait(timeout=60) == 0, logs()
        assert not list((tmp_path / "runner-b" / "outbox").glob("*.json"))  # all delivered
    finally:
        for process in (runner_a, runner_b):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    trials = _trials(api, study_id)
    finished = [t for t in trials if t["status"] in ("completed", "failed")]
    assert len(finished) == max_evaluations, trials
    for trial in finished:
        assert trial["status"] == "completed", trial
        val_loss = trial["outputs"]["val_loss"]
        assert math.isfinite(val_loss) and 0 < val_loss < 20, trial
        assert math.isfinite(trial["outputs"]["train_loss"]), trial
        assert trial["parameters"]["lora_alpha"] == (
            trial["parameters"]["lora_alpha_multiplier"] * trial["parameters"]["lora_rank"]
        )
    # The killed runner's trial came back (attempt 2) and runner B completed it.
    assert victim["id"] in {t["id"] for t in finished}
    again = _check(api.admin.get(f"/v1/trials/{victim['id']}"), 200)
    assert again["status"] == "completed", again
    assert again["attempt"] >= 2, again
    assert again["runnerId"] != victim["runnerId"], again
    # Intermediate losses reached the API through heartbeats.
    assert any(m["name"] == "val_loss" for m in again.get("metrics", [])), again


def test_a_restarted_runner_gives_back_the_trial_its_killed_run_held(
    api: RunningApi, demo_assets: DemoAssets, tmp_path: Path
) -> None:
    """A runner killed while training and started again with its state folder: the API holds
    the killed run's lease against the runner's one slot (maxConcurrentTrials 1), so the first
    lease of the restarted runner is refused (409 RUNNER_LEASE_LIMIT) naming that trial; the
    runner gives it back and trains it again at once instead of waiting for the lease to expire
    (ten minutes here, longer than the test waits)."""
    key = _check(
        api.admin.post("/v1/api-keys", json={"name": "e2e-restart", "scope": "runner"}), 201
    )["key"]
    body = _study_body(demo_assets, 2)
    body["budget"] = {**body["budget"], "leaseSeconds": 600, "maxParallelTrials": 1}
    study_id = _check(api.admin.post("/v1/studies", json=body), 201)["id"]
    first, state = _start_runner(api, key, study_id, "runner-r", tmp_path, demo_assets.root)
    log_path = tmp_path / "runner-r.log"
    victim: dict[str, Any] = {}

    def mid_training() -> bool:
        if first.poll() is not None:
            raise AssertionError(f"the runner exited early\n{log_path.read_text()[-4000:]}")
        for events in (state / "trials").glob("*/events.jsonl"):
            progress = [
                json.loads(line).get("value")
                for line in events.read_text().splitlines()
                if '"progress"' in line
            ]
            finished = (events.parent / "result.json").exists()
            if progress and 0 < progress[-1] < 0.9 and not finished:
                victim["id"] = events.parent.name.rsplit("-a", 1)[0]
                return True
        return False

    _wait_for(mid_training, 180, "the runner to be mid-trial", interval=0.1)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    held = _check(api.admin.get(f"/v1/trials/{victim['id']}"), 200)
    assert held["status"] == "running", held
    runners = _check(api.admin.get("/v1/runners"), 200)["items"]
    runner = next(r for r in runners if r["id"] == held["runnerId"])
    assert runner["maxConcurrentTrials"] == 1

    # The same name, so the same state folder and identity (no new registration).
    second, _ = _start_runner(api, key, study_id, "runner-r", tmp_path, demo_assets.root)
    try:

        def study_done() -> bool:
            if second.poll() is not None:
                raise AssertionError(f"the runner exited\n{log_path.read_text()[-4000:]}")
            status = _check(api.admin.get(f"/v1/studies/{study_id}"), 200)["status"]
            return bool(status == "completed")

        _wait_for(study_done, 300, "the study to complete", interval=2)
    finally:
        if second.poll() is None:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    log = log_path.read_text(errors="replace")
    assert f"trial {victim['id']} is held by an earlier run of this runner" in log, log[-4000:]
    again = _check(api.admin.get(f"/v1/trials/{victim['id']}"), 200)
    assert again["status"] == "completed", again
    assert again["runnerId"] == held["runnerId"], again  # the same runner, not a new one
    runners = _check(api.admin.get("/v1/runners"), 200)["items"]
    assert [r["id"] for r in runners if r["name"] == "runner-r"] == [held["runnerId"]]


def _project_keys(api: RunningApi, name: str) -> tuple[str, httpx.Client]:
    """A project of its own (tenancy keeps other tests' runners off its studies): its runner key
    and a client with its user key."""
    project = _check(api.admin.post("/v1/projects", json={"name": name}), 201)["id"]

    def key(scope: str) -> str:
        body = {"name": f"{name} {scope}", "scope": scope, "projectId": project}
        return str(_check(api.admin.post("/v1/api-keys", json=body), 201)["key"])

    runner_key, user_key = key("runner"), key("user")
    user = httpx.Client(
        base_url=api.url, timeout=30, headers={"Authorization": f"Bearer {user_key}"}
    )
    return runner_key, user


def _run_until_idle(
    api: RunningApi, runner_key: str, name: str, state_dir: Path, log_path: Path, *extra: str
) -> str:
    """A CPU runner run as its operator would, until idle for 5 s; returns what it logged."""
    env = {**os.environ, "MESHTUNE_API_KEY": runner_key, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "meshtune_runner", "--url", api.url, "--name", name]
    command += ["--gpus", "none", "--state-dir", str(state_dir), "--exit-when-idle", "5", *extra]
    with log_path.open("wb") as log:
        done = subprocess.run(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=120, check=False
        )
    said = log_path.read_text(errors="replace")
    assert done.returncode == 0, said[-4000:]
    return said


def test_a_runner_without_study_or_data_root_declines_what_it_cannot_run(
    api: RunningApi, demo_assets: DemoAssets, tmp_path: Path
) -> None:
    """docs/reliability.md, finding 49: a runner started without `--study` or `--data-root`
    beside a study whose paths lie outside its roots and a study with no trainingConfig (one an
    SDK runWorker evaluates). Neither study loses an evaluation or fails; the runner gives each
    trial back once and does not lease the studies again; other runners complete them."""
    runner_key, user = _project_keys(api, "e2e-declines")
    paths = {**_study_body(demo_assets, 1), "name": "paths outside its roots"}
    worker_body = {**_study_body(demo_assets, 2), "name": "a runWorker study"}
    del worker_body["trainingConfig"]
    outside = _check(user.post("/v1/studies", json=paths), 201)["id"]
    worker = _check(user.post("/v1/studies", json=worker_body), 201)["id"]

    def run_laptop(run: str, *extra: str) -> str:
        """The laptop runner, run until idle for 5 s (the same state folder each time)."""
        state, log = tmp_path / "laptop", tmp_path / f"laptop-{run}.log"
        return _run_until_idle(api, runner_key, "laptop", state, log, *extra)

    said = run_laptop("first")
    assert said.count("cannot run its study; giving it back") == 2, said[-4000:]

    for study_id in (outside, worker):
        study = _check(user.get(f"/v1/studies/{study_id}"), 200)
        assert study["status"] == "active", study
        assert study["evaluationCount"] == 0, study
        declines = _check(user.get(f"/v1/studies/{study_id}/runner-declines"), 200)
        assert declines["total"] == 1, declines
        assert declines["items"][0]["runnerName"] == "laptop", declines
        # Leased once by the laptop, given back: no failure, no second lease.
        for trial in _trials(api, study_id):
            assert trial["status"] == "pending" and trial["attempt"] == 2, trial
    reasons = {
        study_id: _check(user.get(f"/v1/studies/{study_id}/runner-declines"), 200)["items"][0][
            "reason"
        ]
        for study_id in (outside, worker)
    }
    assert reasons[outside].startswith("model: a local path this runner does not allow"), reasons
    assert "no trainingConfig" in reasons[worker], reasons
    runners = _check(user.get("/v1/runners"), 200)["items"]
    assert [r["health"] for r in runners if r["name"] == "laptop"] == ["healthy"], runners

    # Restarted with the same settings: it keeps its declines (no lease of either study) ...
    said = run_laptop("same")
    assert "registering again" not in said, said[-4000:]
    assert "giving it back" not in said, said[-4000:]
    # ... restarted with other settings: it registers again with its token (same runner, its
    # labels updated), which clears its declines, so it is offered both studies at once.
    said = run_laptop("labels", "--labels", "cpu,laptop")
    assert said.count("settings changed since last run: registering again") == 1, said[-4000:]
    assert said.count("cannot run its study; giving it back") == 2, said[-4000:]
    runners = _check(user.get("/v1/runners"), 200)["items"]
    laptops = [r for r in runners if r["name"] == "laptop"]
    assert [r["labels"] for r in laptops] == [["cpu", "laptop"]], runners
    for study_id in (outside, worker):
        for trial in _trials(api, study_id):
            assert trial["status"] == "pending" and trial["attempt"] == 3, trial

    # An SDK-style worker evaluates the runWorker study over HTTP ...
    sdk = _check(
        httpx.post(
            f"{api.url}/v1/runners",
            json={"name": "sdk worker", "gpus": 0},
            headers={"Authorization": f"Bearer {runner_key}"},
            timeout=30,
        ),
        201,
    )
    sdk_client = httpx.Client(
        base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {sdk['token']}"}
    )
    for _ in range(10):
        leased = sdk_client.post(f"/v1/runners/{sdk['id']}/lease", json={"studyId": worker})
        if leased.status_code == 204:
            if _check(user.get(f"/v1/studies/{worker}"), 200)["status"] == "completed":
                break
            continue
        trial_id = _check(leased, 200)["trial"]["id"]
        outputs = {"val_loss": 1.0, "eval_runtime": 0.1, "train_loss": 1.0, "train_runtime": 0.1}
        _check(sdk_client.post(f"/v1/trials/{trial_id}/complete", json={"outputs": outputs}), 200)
    assert _check(user.get(f"/v1/studies/{worker}"), 200)["status"] == "completed"
    # ... and a runner whose data root holds the study's files trains the other one.
    runner, _ = _start_runner(api, runner_key, outside, "gpu-box", tmp_path, demo_assets.root)
    try:

        def done() -> bool:
            if runner.poll() is not None:
                raise AssertionError((tmp_path / "gpu-box.log").read_text()[-4000:])
            return bool(_check(user.get(f"/v1/studies/{outside}"), 200)["status"] == "completed")

        _wait_for(done, 300, "the study to complete", interval=2)
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=60)
        sdk_client.close()
        user.close()
    for study_id in (outside, worker):
        trials = _trials(api, study_id)
        assert trials and all(t["status"] == "completed" for t in trials), trials


def test_what_a_runner_lacks_is_declined_not_failed(
    api: RunningApi, demo_assets: DemoAssets, tmp_path: Path
) -> None:
    """docs/runner.md, "Whose fault a refusal is": a CPU runner whose data root lacks a study's
    file (another runner may have it mounted), which has no GPU for a study's bf16-mixed, and
    whose own per-device batch (3) does not split a study's global batch (8) declines each
    study once: no evaluation spent, no study failed, the runner still healthy. Before this
    change the missing file was a runner failure: the trial was leased to the same runner again
    at once, and three in a row quarantined it within a second (2026-12-05, this test against
    the earlier runner code); the bf16-mixed study would have trained in fp32."""
    runner_key, user = _project_keys(api, "e2e-runner-fit")
    mounted = tmp_path / "mnt"  # this runner's data root: the shared data is not mounted here
    mounted.mkdir()
    base = _study_body(demo_assets, 2)
    training = {**base["trainingConfig"], "globalBatchSize": 8, "perDeviceTrainBatchSize": 4}
    training.pop("gradientAccumulationSteps", None)  # derived from the global batch
    studies = {
        "missing": {**training, "trainData": str(mounted / "shared" / "train.jsonl")},
        "precision": {**training, "precision": "bf16-mixed"},
        "layout": training,
    }
    ids = {
        name: _check(
            user.post(
                "/v1/studies", json={**base, "name": f"fit {name}", "trainingConfig": config}
            ),
            201,
        )["id"]
        for name, config in studies.items()
    }
    said = _run_until_idle(
        api,
        runner_key,
        "small",
        tmp_path / "small",
        tmp_path / "small.log",
        *("--data-root", str(mounted), "--allow-read", str(demo_assets.root)),
        *("--per-device-train-batch-size", "3"),
    )
    assert said.count("cannot run its study; giving it back") == 3, said[-4000:]
    assert "runner failure" not in said, said[-4000:]
    expected = {
        "missing": "trainData not found on this runner",
        "precision": "precision 'bf16-mixed' needs a GPU",
        "layout": "perDeviceTrainBatchSize 3 x 1 GPU(s)",
    }
    for name, study_id in ids.items():
        study = _check(user.get(f"/v1/studies/{study_id}"), 200)
        assert (study["status"], study["evaluationCount"]) == ("active", 0), study
        declines = _check(user.get(f"/v1/studies/{study_id}/runner-declines"), 200)
        assert declines["total"] == 1, declines
        assert expected[name] in declines["items"][0]["reason"], declines
        for trial in _trials(api, study_id):
            assert trial["status"] == "pending" and trial["attempt"] == 2, trial
    runners = _check(user.get("/v1/runners"), 200)["items"]
    user.close()
    assert [r["health"] for r in runners if r["name"] == "small"] == ["healthy"], runners
