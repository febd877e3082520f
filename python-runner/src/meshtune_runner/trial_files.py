"""Files the agent and its training child exchange (they work across torchrun ranks too).

- `spec.json`: what to train (written by the agent before it starts the child);
- `events.jsonl`: progress and metric events, appended by the child (rank 0 only);
- `result.json`: the child's final answer, written atomically once (rank 0);
- `failures/rank-<r>.json`: each rank's own failure, so that the agent can tell which rank
  failed first and why (rank 0 often sees only "connection closed" when another one died);
- `adapter/`: the trained LoRA adapter (rank 0), moved by the agent to the kept adapters;
- `stop`: written by the agent when the API has stopped the trial early (heartbeat reply
  `shouldStop` with reason `early_stopped`); every rank sees it and training ends after the
  current optimizer step, with the adapter saved and a `stopped` result.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import FailureKind, Refusal

__all__ = ["EventReader", "EventWriter", "TrialResult", "TrialSpec", "write_json_atomic"]


def write_json_atomic(path: Path, payload: Any, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(descriptor, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class TrialSpec:
    trial_id: str
    trial_number: int
    study_id: str
    training_config: dict[str, Any]
    hyperparameters: dict[str, Any]
    work_dir: str
    #: this trial's checkpoint folder, the same for every attempt (None: no checkpoints)
    checkpoint_dir: str | None = None
    #: the runner's free-space floor (--min-free-disk-mb): a checkpoint save that would leave
    #: less free on the checkpoint folder's file system is skipped (0: no floor)
    min_free_disk_mb: int = 0

    @property
    def events_path(self) -> Path:
        return Path(self.work_dir) / "events.jsonl"

    @property
    def result_path(self) -> Path:
        return Path(self.work_dir) / "result.json"

    @property
    def log_path(self) -> Path:
        return Path(self.work_dir) / "train.log"

    @property
    def adapter_path(self) -> Path:
        return Path(self.work_dir) / "adapter"

    @property
    def stop_path(self) -> Path:
        return Path(self.work_dir) / "stop"

    @property
    def failures_dir(self) -> Path:
        return Path(self.work_dir) / "failures"

    def rank_failure_path(self, rank: int) -> Path:
        return self.failures_dir / f"rank-{rank}.json"

    def save(self, path: Path) -> None:
        write_json_atomic(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> TrialSpec:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class TrialResult:
    #: "stopped": ended early because the agent asked (the `stop` file), adapter kept
    status: Literal["completed", "failed", "stopped"]
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    #: for a failure: what the optimizer is told (errors.FailureKind)
    kind: FailureKind = "evaluation"
    #: the configuration the trial actually ran with (finetune.effective_configuration)
    effective_config: dict[str, Any] = field(default_factory=dict)
    adapter_dir: str | None = None
    rank: int = 0
    #: for a failure that is no evaluation: declined, or a runner fault (errors.Refusal)
    refusal: Refusal | None = None

    @property
    def retryable(self) -> bool:
        """Resource and runner failures go back to the queue; a failed evaluation does not."""
        return self.status == "failed" and self.kind != "evaluation"

    def save(self, path: Path) -> None:
        clean = {k: v for k, v in self.metrics.items() if math.isfinite(v)}
        nonfinite = sorted(k for k, v in self.metrics.items() if not math.isfinite(v))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            path,
            {
                "status": self.status,
                "metrics": clean,
                "nonFinite": nonfinite,
                "error": self.error,
                "kind": self.kind,
                "effectiveConfig": self.effective_config,
                "adapterDir": self.adapter_dir,
                "rank": self.rank,
                "refusal": self.refusal,
            },
        )

    @classmethod
    def load(cls, path: Path) -> TrialResult:
        raw = json.loads(path.read_text(encoding="utf-8"))
        metrics = {k: float(v) for k, v in raw.get("metrics", {}).items()}
        for name in raw.get("nonFinite", []):
            metrics[name] = math.nan
        kind = raw.get("kind", "evaluation")
        return cls(
            status=raw["status"],
            metrics=metrics,
            error=raw.get("error"),
            kind=kind if kind in ("evaluation", "resource", "runner") else "evaluation",
            effective_config=dict(raw.get("effectiveConfig") or {}),
            adapter_dir=raw.get("adapterDir"),
            rank=int(raw.get("rank", 0)),
            refusal=raw["refusal"] if raw.get("refusal") in ("decline", "runnerFault") else None,
        )


class EventWriter:
    """Appends events; progress events are throttled to one per `min_interval` seconds."""

    def __init__(self, path: Path | None, min_interval: float = 1.0) -> None:
        self.path = path
        self.min_interval = min_interval
        self._last_progress = 0.0

    def progress(self, value: float, step: int, max_steps: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < self.min_interval:
            return
        self._last_progress = now
        self._write({"type": "progress", "value": value, "step": step, "maxSteps": max_steps})

    def metric(self, name: str, step: int, value: float) -> None:
        if math.isfinite(value):
            self._write({"type": "metric", "name": name, "step": step, "value": value})

    def checkpoint_skipped(self, step: int, resume_step: int | None) -> None:
        """A checkpoint save skipped under the disk floor; `resume_step`: the newest checkpoint
        a later attempt would resume from (None: it would start again)."""
        self._write({"type": "checkpointSkipped", "step": step, "resumeStep": resume_step})

    def checkpoint_saved(self, step: int) -> None:
        """A checkpoint saved after skipped ones: the resume point is current again."""
        self._write({"type": "checkpointSaved", "step": step})

    def _write(self, event: dict[str, Any]) -> None:
        if self.path is None:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")


class EventReader:
    """Reads the events appended since the last call (only whole lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self._offset += end + 1
        events = []
        for line in chunk[: end + 1].splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events
