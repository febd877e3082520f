"""The runner's retention policy (pruning.py) on real folders in a temporary directory.

Pressure is made real without filling the disk: a free-space floor above the file system's
actual free space (nothing pruned can relieve it, so every prunable folder goes and what is
left is exactly what the policy protects), or a size cap a few MiB under the folders' size
(pruning stops as soon as it is met, which shows the order)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from meshtune_runner import pruning
from meshtune_runner.agent import Agent
from meshtune_runner.demo_assets import DemoAssets
from meshtune_runner.launcher import Launcher
from meshtune_runner.pruning import DiskRetention, PruneSettings, folder_bytes
from meshtune_runner.retention import MANIFEST_NAME

from .fake_api import FakeApi, trial_json
from .test_agent import BBO3_PARAMS, FakeLauncher, make_agent

RUNNER = "runner-a"
DAY = 86400.0
MIB = 2**20


def _age(path: Path, days: float) -> None:
    """Dates a folder and everything in it `days` back (what the policy's order reads)."""
    stamp = time.time() - days * DAY
    for top, dirs, files in os.walk(path, topdown=False):
        for name in (*files, *dirs):
            os.utime(Path(top) / name, (stamp, stamp), follow_symlinks=False)
    os.utime(path, (stamp, stamp))


def _folder(path: Path, size: int = 1024, days: float = 0.0) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "train.log").write_bytes(b"x" * size)
    _age(path, days)
    return path


def _adapter(
    root: Path,
    study: str,
    name: str,
    days: float,
    *,
    status: str = "completed",
    val_loss: float = 2.0,
    runner: str = RUNNER,
    size: int = 4096,
) -> Path:
    folder = root / study / name
    folder.mkdir(parents=True)
    (folder / "adapter_model.safetensors").write_bytes(b"w" * size)
    manifest = {
        "runner": runner,
        "status": status,
        "studyId": study,
        "outputs": {"val_loss": val_loss},
        "objective": {"name": "val_loss", "goal": "minimize"},
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    _age(folder, days)
    return folder


def _under_pressure(state: Path, **settings: object) -> PruneSettings:
    """A floor above the real free space: pressure no prune can relieve."""
    state.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(state).free
    return PruneSettings(below_free_bytes=free + 1024 * MIB, **settings)  # type: ignore[arg-type]


def test_pressure_keeps_a_paused_trials_checkpoint_and_the_newest_and_best_adapters(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    old_trials = [_folder(state / "trials" / f"t{i}-a1", days=10 - i) for i in range(3)]
    # A trial paused (early-stopped, resumable) in a study that is still active.
    paused = _folder(state / "checkpoints" / "study-1" / "t7" / "checkpoint-4", days=20).parent
    adapters = state / "adapters"
    # Five completed trials, the oldest the best (lowest val_loss), and a stopped trial's.
    completed = [
        _adapter(adapters, "study-1", f"trial-0000{i}", days=9 - i, val_loss=1.0 if i == 0 else 2)
        for i in range(5)
    ]
    stopped = _adapter(adapters, "study-1", "trial-00009", days=1, status="stopped")
    retention = DiskRetention(_under_pressure(state, keep_adapters=3), state, RUNNER)
    retention.note_study_active("study-1")

    summary = retention.prune()

    assert summary is not None and summary.still_under  # the floor cannot be met
    assert not any(p.exists() for p in old_trials)
    assert not stopped.exists()
    assert paused.is_dir() and (paused / "checkpoint-4" / "train.log").is_file()
    kept = sorted(p.name for p in (adapters / "study-1").iterdir())
    # The newest three, and the oldest because it is the study's best.
    assert kept == ["trial-00000", "trial-00002", "trial-00003", "trial-00004"]
    assert not completed[1].exists()
    assert summary.pruned == 5
    # The last pass is summed up in the state folder (the runner's own record of its disk).
    record = json.loads((state / "retention.json").read_text())
    assert record["lastPass"]["pruned"] == 5 and record["totals"]["pruned"] == 5
    assert record["lastPass"]["stillUnder"] is True


def test_a_size_cap_prunes_oldest_first_and_stops_once_met(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    folders = [_folder(state / "trials" / f"t{i}-a1", size=MIB, days=5 - i) for i in range(5)]
    settings = PruneSettings(below_free_bytes=0, max_bytes=int(2.5 * MIB))
    retention = DiskRetention(settings, state, RUNNER)

    with caplog.at_level(logging.INFO, logger="meshtune_runner"):
        summary = retention.prune()

    assert summary is not None and not summary.still_under
    assert [p.exists() for p in folders] == [False, False, False, True, True]
    assert summary.freed_bytes == 3 * MIB and summary.total_bytes == 2 * MIB
    pruned_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("pruned")]
    assert len(pruned_lines) == 3  # one line per folder, oldest first, saying why
    assert str(folders[0]) in pruned_lines[0] and "--max-disk-mb" in pruned_lines[0]
    # Under the cap now: the next pass does nothing.
    assert retention.prune() is None


def test_a_symlink_inside_a_trial_folder_is_not_followed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.bin").write_bytes(b"p" * MIB)
    trial = _folder(state / "trials" / "t1-a1")
    (trial / "link-to-folder").symlink_to(outside, target_is_directory=True)
    (trial / "link-to-file").symlink_to(outside / "precious.bin")
    # Links where a trial folder, a study folder or an adapter would be: not candidates at all.
    (state / "trials" / "t2-a1").symlink_to(outside, target_is_directory=True)
    (state / "adapters").mkdir()
    (state / "adapters" / "study-x").symlink_to(outside, target_is_directory=True)
    # The link's target is not counted either: the folder is its own bytes only.
    assert folder_bytes(trial) < 4096

    summary = DiskRetention(_under_pressure(state), state, RUNNER).prune()

    assert summary is not None and summary.pruned_paths == [str(trial)]
    assert not trial.exists()
    assert (outside / "precious.bin").read_bytes() == b"p" * MIB
    assert (state / "trials" / "t2-a1").is_symlink()


def test_a_candidate_swapped_for_a_symlink_is_not_removed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    trial = _folder(state / "trials" / "t1-a1")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    retention = DiskRetention(_under_pressure(state), state, RUNNER)
    candidates, _, _ = retention._candidates([], time.time())
    # Between the listing and the removal, the folder becomes a link out of the roots.
    shutil.rmtree(trial)
    trial.symlink_to(outside, target_is_directory=True)
    assert retention._remove(candidates[0], time.time(), "test") is False
    assert (outside / "keep.txt").read_text() == "keep"


def test_the_running_trials_folders_are_never_touched(tmp_path: Path) -> None:
    state = tmp_path / "state"
    running = _folder(state / "trials" / "t5-a2", days=30)
    ended = _folder(state / "trials" / "t4-a1", days=1)
    # Its checkpoints, in a study the API said ended (prunable, were it not in use).
    checkpoints = _folder(state / "checkpoints" / "study-1" / "t5" / "checkpoint-2", days=30)
    retention = DiskRetention(_under_pressure(state), state, RUNNER)
    retention.note_study_status("study-1", "stopped")

    retention.prune(in_use=[running, checkpoints.parent])

    assert running.is_dir() and checkpoints.is_dir()
    assert not ended.exists()


def test_checkpoints_go_once_their_study_ended_or_fell_silent(tmp_path: Path) -> None:
    state = tmp_path / "state"
    root = state / "checkpoints"
    ended = _folder(root / "study-ended" / "t1" / "checkpoint-2", days=1).parent
    paused_study = _folder(root / "study-paused" / "t2" / "checkpoint-2", days=1).parent
    silent = _folder(root / "study-silent" / "t3" / "checkpoint-2", days=30).parent
    _age(silent, 30)  # the trial's folder too (written when its last checkpoint was)
    retention = DiskRetention(_under_pressure(state, study_idle_seconds=14 * DAY), state, RUNNER)
    retention.note_study_active("study-ended", now=time.time() - DAY)
    retention.note_study_status("study-ended", "completed")
    retention.note_study_status("study-paused", "paused")  # a paused study may resume
    retention.note_study_active("study-silent", now=time.time() - 30 * DAY)

    retention.prune()

    assert not ended.exists() and not silent.exists()
    assert paused_study.is_dir()
    # Without the idle rule only what the API said counts: a silent study keeps its checkpoints.
    silent = _folder(root / "study-silent" / "t3" / "checkpoint-2", days=30).parent
    _age(silent, 30)
    DiskRetention(_under_pressure(state, study_idle_seconds=None), state, RUNNER).prune()
    assert silent.is_dir()


def test_another_runners_adapters_and_unknown_folders_are_not_this_runners_to_prune(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    shared = tmp_path / "shared-adapters"  # --adapter-dir on a shared file system
    theirs = _adapter(shared, "study-1", "trial-00001", days=40, runner="runner-b")
    mine_old = _adapter(shared, "study-1", "trial-00002", days=30)
    mine_new = _adapter(shared, "study-1", "trial-00003", days=1)
    unknown = _folder(shared / "study-1" / "someone-elses-folder", days=50)
    partial = _folder(shared / "study-1" / ".trial-00004.partial", days=2)
    retention = DiskRetention(_under_pressure(state, keep_adapters=1), state, RUNNER, [shared])

    retention.prune()

    assert theirs.is_dir() and unknown.is_dir() and mine_new.is_dir()
    assert not mine_old.exists() and not partial.exists()


def test_the_policy_can_be_turned_off(tmp_path: Path) -> None:
    state = tmp_path / "state"
    folders = [_folder(state / "trials" / f"t{i}-a1", days=100) for i in range(3)]
    settings = _under_pressure(state, enabled=False, max_bytes=0)

    assert DiskRetention(settings, state, RUNNER).prune() is None
    assert all(p.is_dir() for p in folders)
    assert not (state / "retention.json").exists()


def test_no_pressure_costs_no_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    _folder(state / "trials" / "t1-a1", days=100)
    retention = DiskRetention(PruneSettings(below_free_bytes=MIB), state, RUNNER)

    def walked(*_args: object) -> None:
        raise AssertionError("the folders were walked without pressure")

    monkeypatch.setattr(retention, "_candidates", walked)
    assert retention.prune() is None


# -- through the agent ----------------------------------------------------------------------


class _Recorded:
    """Wraps the agent's retention pass: what was in use at each pass that walked the folders,
    and whether it was still there afterwards. Passes are not spaced out (in the agent:
    `prune_every_seconds`; in pruning.py: the back-off after a pass that found nothing)."""

    def __init__(self, agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(pruning, "STUCK_BACKOFF_SECONDS", 0.0)
        self.passes: list[list[Path]] = []
        self.missing_after: list[Path] = []
        self.existed: list[Path] = []
        original = agent.retention.prune

        def prune(in_use: Any = (), force: bool = False) -> Any:
            busy = [Path(p) for p in in_use]
            there = [p for p in busy if p.exists()]  # a checkpoint folder comes with a save
            summary = original(busy, force)
            if summary is not None:  # a pass that walked the folders (under pressure)
                self.passes.append(busy)
            self.missing_after += [p for p in there if not p.exists()]
            self.existed += there
            return summary

        agent.retention.prune = prune  # type: ignore[method-assign]


NAME = "test-runner"  # make_agent's runner


def _pressure_mb(state: Path) -> int:
    return shutil.disk_usage(state).free // MIB + 1024


def test_the_agent_prunes_while_a_trial_runs_but_never_its_folders(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _folder(state_dir / "trials" / "t0-a1", days=10)
    paused = _folder(state_dir / "checkpoints" / "study-1" / "t0" / "checkpoint-2", days=3)
    api.training_config = {**api.training_config, "checkpointSteps": 2}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    agent = make_agent(
        api,
        state_dir,
        FakeLauncher(),
        prune_below_free_mb=_pressure_mb(state_dir),
        prune_every_seconds=0.0,
    )
    recorded = _Recorded(agent, monkeypatch)

    assert agent.run() == 0

    work = state_dir / "trials" / "t1-a1"
    running = [work, state_dir / "checkpoints" / "study-1" / "t1"]
    during = [busy for busy in recorded.passes if busy]
    assert during and all(busy == running for busy in during)  # passes while it trained
    assert recorded.missing_after == []  # ... none of which touched its folders
    assert api.reports["t1"][0] == "complete"  # its result was read from its folder
    assert not old.exists()
    # The paused trial of the study the runner just leased from: resumable, kept.
    assert paused.is_dir()
    # Once ended, the trial's own folder is an old folder like any other.
    assert not work.exists()


def test_a_study_the_api_says_ended_loses_its_checkpoints_under_pressure(
    api: FakeApi, state_dir: Path
) -> None:
    paused = _folder(state_dir / "checkpoints" / "study-1" / "t0" / "checkpoint-2").parent
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.should_stop_after = 1
    api.stop_reason = "study_stopped"  # the heartbeat reply of a stopped study
    pressure = _pressure_mb(state_dir)
    make_agent(api, state_dir, FakeLauncher("slow"), prune_below_free_mb=pressure).run()
    assert api.released == ["t1"]
    assert not paused.exists()

    # The same through a lease answer's Meshtune-Study-Status, for a runner bound to a study.
    paused = _folder(state_dir / "checkpoints" / "study-2" / "t5" / "checkpoint-2").parent
    api.study_status = "paused"  # may resume: kept
    make_agent(
        api, state_dir, FakeLauncher(), prune_below_free_mb=pressure, study_id="study-2"
    ).run()
    assert paused.is_dir()
    api.study_status = "completed"
    make_agent(
        api, state_dir, FakeLauncher(), prune_below_free_mb=pressure, study_id="study-2"
    ).run()
    assert not paused.exists()


def test_the_agent_prunes_nothing_with_the_policy_off(api: FakeApi, state_dir: Path) -> None:
    old = _folder(state_dir / "trials" / "t0-a1", days=100)
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(
        api,
        state_dir,
        FakeLauncher(),
        prune=False,
        prune_below_free_mb=_pressure_mb(state_dir),
        max_disk_mb=0,
    ).run()
    assert old.is_dir() and (state_dir / "trials" / "t1-a1").is_dir()


@pytest.mark.training
def test_real_training_under_pressure_keeps_its_checkpoints_and_its_adapter(
    demo_assets: DemoAssets, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real child (tiny Llama, CPU) saving checkpoints while a pass runs every half second
    under a floor no prune can meet: the running trial's checkpoints and work folder are never
    touched, it completes, and its adapter (the study's newest) is kept and loads."""
    from meshtune_runner.demo_assets import demo_training_config

    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 64,  # 8 steps
        "maxEvalSamples": 16,
        "evalSteps": 4,
        "checkpointSteps": 2,
    }
    api = FakeApi(training_config=config)
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    old_adapters = [
        _adapter(state_dir / "adapters", "study-1", f"trial-0000{i}", days=20 - i, runner=NAME)
        for i in range(2)
    ]
    agent = make_agent(
        api,
        state_dir,
        Launcher([]),
        prune_below_free_mb=_pressure_mb(state_dir),
        prune_every_seconds=0.0,
        prune_keep_adapters=1,
    )
    recorded = _Recorded(agent, monkeypatch)

    assert agent.run() == 0

    assert api.reports["t1"][0] == "complete"
    assert api.reports["t1"][1]["outputs"]["val_loss"] > 0
    checkpoints = state_dir / "checkpoints" / "study-1" / "t1"
    during = [busy for busy in recorded.passes if checkpoints in busy]
    assert len(during) >= 3 and recorded.missing_after == []
    assert checkpoints in recorded.existed  # passes ran while its checkpoints were on disk
    kept = Path(api.reports["t1"][1]["adapter"]["location"])
    assert kept.is_dir() and not any(p.exists() for p in old_adapters[:1])
    print(f"retention passes while training: {len(during)}")
    from meshtune_runner.training.adapters import load_adapter

    assert load_adapter(kept) is not None


def test_a_pass_that_found_nothing_is_not_walked_again_at_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    paused = _folder(state / "checkpoints" / "study-1" / "t1" / "checkpoint-2").parent
    retention = DiskRetention(_under_pressure(state), state, RUNNER)
    retention.note_study_active("study-1")
    assert retention.prune() is not None  # walked: nothing prunable
    assert retention.prune() is None  # backed off
    old = _folder(state / "trials" / "t0-a1")  # a trial ended: the agent forces a pass
    summary = retention.prune(force=True)
    assert summary is not None and summary.pruned_paths == [str(old)]
    assert paused.is_dir()
