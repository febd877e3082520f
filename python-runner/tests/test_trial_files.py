from __future__ import annotations

import math
from pathlib import Path

from meshtune_runner.outbox import Outbox, PendingReport
from meshtune_runner.trial_files import EventReader, EventWriter, TrialResult


def test_event_reader_returns_only_whole_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    reader = EventReader(path)
    assert reader.read_new() == []
    writer = EventWriter(path, min_interval=0.0)
    writer.metric("val_loss", 3, 1.5)
    writer.metric("val_loss", 4, math.nan)  # never sent: JSON has no NaN
    with path.open("a") as handle:
        handle.write('{"type": "progress", "val')
    assert reader.read_new() == [{"type": "metric", "name": "val_loss", "step": 3, "value": 1.5}]
    with path.open("a") as handle:
        handle.write('ue": 0.5, "step": 1, "maxSteps": 2}\n')
    assert reader.read_new() == [{"type": "progress", "value": 0.5, "step": 1, "maxSteps": 2}]


def test_progress_events_are_throttled(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path, min_interval=60.0)
    for step in range(10):
        writer.progress(step / 10, step, 10)
    writer.progress(1.0, 10, 10, force=True)
    assert len(EventReader(path).read_new()) == 2


def test_results_round_trip_non_finite_metrics(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    TrialResult("completed", {"val_loss": 1.25, "perplexity": math.inf}).save(path)
    loaded = TrialResult.load(path)
    assert loaded.metrics["val_loss"] == 1.25
    assert math.isnan(loaded.metrics["perplexity"])


def test_outbox_keeps_reports_until_removed(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox")
    outbox.put(PendingReport("trial/1", "complete", {"outputs": {"val_loss": 1.0}}))
    outbox.put(PendingReport("trial-2", "fail", {"error": "boom"}))
    again = Outbox(tmp_path / "outbox")
    assert {r.trial_id for r in again.pending()} == {"trial/1", "trial-2"}
    again.remove("trial/1")
    assert [r.kind for r in again.pending()] == ["fail"]
    (tmp_path / "outbox" / "junk.json").write_text("{")
    assert len(again.pending()) == 1
