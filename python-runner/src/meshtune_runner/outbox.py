"""Finished results written to disk before they are sent, and kept until acknowledged."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .trial_files import write_json_atomic

__all__ = ["Outbox", "PendingReport"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingReport:
    trial_id: str
    kind: Literal["complete", "fail"]
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"trialId": self.trial_id, "kind": self.kind, "payload": self.payload}


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, trial_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in trial_id)
        return self.directory / f"{safe}.json"

    def put(self, report: PendingReport) -> None:
        write_json_atomic(self._path(report.trial_id), report.to_json())

    def remove(self, trial_id: str) -> None:
        self._path(trial_id).unlink(missing_ok=True)

    def pending(self) -> list[PendingReport]:
        reports = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                reports.append(PendingReport(raw["trialId"], raw["kind"], raw["payload"]))
            except (OSError, ValueError, KeyError) as exc:
                log.error("unreadable outbox entry %s (%s); moved aside", path, exc)
                path.rename(path.with_suffix(".bad"))
        return reports
