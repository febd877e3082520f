"""The runner's disk over a long life: old folders pruned, oldest first, under pressure.

Every trial leaves folders behind on the runner: its work folder (`<state>/trials/<trial>-a<n>`,
the child's log and small files; the Trainer output too with `--keep-trial-dirs`), its kept
adapter (`<adapters>/<study>/trial-…`, retention.py) and, when it was stopped, paused or given
back, its checkpoints (`<state>/checkpoints/<study>/<trial>`). A runner that lives for weeks
would fill its disk with them, after which every adapter is refused under the floor and every
checkpoint save skipped. `DiskRetention.prune` removes them when a root's file system has less
free space than `--prune-below-free-mb` or the runner's folders hold more than `--max-disk-mb`,
in this order, oldest first within each tier, until neither holds:

1. work folders of ended trials, and half-copied adapters (`.trial-….partial`, left by a kill);
2. checkpoints of studies that ended (a heartbeat reply `study_completed`/`_failed`/`_stopped`,
   a lease answer's `Meshtune-Study-Status`) or that gave this runner nothing for
   `--prune-study-idle-days`: nothing will resume them;
3. adapters of stopped (early-stopped or paused) trials, then of completed ones, except, per
   study, the newest `--prune-keep-adapters` completed ones and the best one by the study's
   objective (what the user comes back for).

Never pruned: a folder the running child uses (its work folder and checkpoint folder; the agent
passes them), checkpoints of a study that may still resume them, the protected adapters, and
anything outside the runner's own roots (`<state>/trials`, `<state>/checkpoints`,
`<state>/adapters`, `--adapter-dir` when a folder) or made by another runner (a kept adapter's
manifest names its runner: a shared `--adapter-dir` holds other runners' too). Symlinks are never
followed (docs/reliability.md, finding 15): a root's entries are listed without following links,
a link is neither a candidate nor entered when sizes are measured, a candidate is removed only if
its real path is the path listed, and `shutil.rmtree` (the fd-based walk on Linux) removes a link
inside a folder, never what it points to.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .retention import MANIFEST_NAME
from .trial_files import write_json_atomic

__all__ = [
    "ENDED_STUDY_STATUSES",
    "DiskRetention",
    "PruneCandidate",
    "PruneSettings",
    "PruneSummary",
    "folder_bytes",
]

log = logging.getLogger("meshtune_runner")

#: Study statuses after which nothing of the study is resumed (a `paused` study may resume).
ENDED_STUDY_STATUSES = frozenset({"completed", "failed", "stopped"})

#: Where the retention keeps what it knows of studies and its last pass (in the state folder).
STATE_FILE = "retention.json"

_DAY = 86400.0

#: After a pass under pressure that found nothing to prune, how long before the folders are
#: walked again (a walk of 5,000 folders took 0.5-0.9 s on 2 busy cores): nothing new becomes
#: prunable while a trial runs, except by age.
STUCK_BACKOFF_SECONDS = 600.0

#: (folder, kind, tier or None when not prunable, time, study)
_Consider = Callable[[Path, str, int | None, float, str | None], None]

#: tiers, pruned in this order (lower first)
_TIER_SCRAP, _TIER_ENDED_CHECKPOINT, _TIER_STOPPED_ADAPTER, _TIER_ADAPTER = 1, 2, 3, 4


@dataclass(frozen=True)
class PruneSettings:
    """The operator's retention settings (cli.py: `--prune`, `--prune-below-free-mb`, …)."""

    enabled: bool = True
    #: prune while a root's file system has less free than this (0: never for free space)
    below_free_bytes: int = 2 * 1024 * 2**20
    #: prune while the runner's folders hold more than this (None: no cap)
    max_bytes: int | None = None
    #: per study, the newest N completed trials' adapters are never pruned (the best one neither)
    keep_adapters: int = 3
    #: a study that gave this runner no trial for this long is taken as ended for its
    #: checkpoints (None: only an ended status the API said makes them prunable)
    study_idle_seconds: float | None = 14 * _DAY


@dataclass(frozen=True)
class PruneCandidate:
    path: Path
    kind: str  # "trial folder", "partial adapter", "checkpoints", "adapter"
    tier: int
    mtime: float
    size_bytes: int
    study_id: str | None = None


@dataclass
class PruneSummary:
    """One pass: what it found, what it removed and why (also written to retention.json)."""

    at: float
    reason: str | None  # why it pruned (None: no pressure)
    pruned: int = 0
    freed_bytes: int = 0
    total_bytes: int = 0  # the runner's folders after the pass
    min_free_bytes: int | None = None  # the lowest free space among the roots' file systems
    protected_bytes: int = 0  # what pressure could not remove (in use, resumable, protected)
    still_under: bool = False
    pruned_paths: list[str] = field(default_factory=list)


def folder_bytes(path: Path) -> int:
    """Bytes of the files under `path`, links counted as links (never followed), unreadable
    entries skipped."""
    total = 0
    stack = [path]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(Path(entry.path))
                    else:
                        total += info.st_size
        except OSError:
            continue
    return total


def _newest_mtime(path: Path) -> float:
    """The folder's own time or its newest direct entry's (a folder's mtime does not change
    when a file in it is rewritten)."""
    try:
        newest = path.lstat().st_mtime
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
                except OSError:
                    continue
    except OSError:
        return 0.0
    return newest


def _real_folders(folder: Path) -> list[Path]:
    """Direct subfolders, links left out (neither listed nor entered)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        if path.is_symlink():
            return None
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _under(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == f or path.is_relative_to(f) or f.is_relative_to(path) for f in folders)


def _best_adapter(adapters: list[tuple[Path, dict[str, Any]]]) -> Path | None:
    """The completed adapter with the best objective value, where the manifest says which
    output is the objective and in which direction (the agent writes `objective`)."""
    best: tuple[float, Path] | None = None
    for path, manifest in adapters:
        objective = manifest.get("objective")
        outputs = manifest.get("outputs")
        if not isinstance(objective, dict) or not isinstance(outputs, dict):
            continue
        value = outputs.get(objective.get("name"))
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        score = -float(value) if objective.get("goal") == "maximize" else float(value)
        if best is None or score < best[0]:
            best = (score, path)
    return best[1] if best else None


class DiskRetention:
    """Prunes the runner's folders under pressure (see the module's text for what and when)."""

    def __init__(
        self,
        settings: PruneSettings,
        state_dir: Path,
        runner_name: str,
        adapter_roots: Iterable[Path] = (),
    ) -> None:
        self.settings = settings
        self.runner_name = runner_name
        self.state_dir = Path(os.path.realpath(state_dir))
        self.trials_root = self.state_dir / "trials"
        self.checkpoints_root = self.state_dir / "checkpoints"
        roots = [self.state_dir / "adapters", *(Path(os.path.realpath(r)) for r in adapter_roots)]
        self.adapter_roots = list(dict.fromkeys(roots))
        self._state_path = self.state_dir / STATE_FILE
        self._state = _read_json(self._state_path) or {}
        #: while under pressure with nothing left to prune: since when, and when it was said
        self._stuck_since: float | None = None
        self._stuck_warned = 0.0

    # -- what the runner learns of studies -------------------------------------------------

    def _study(self, study_id: str) -> dict[str, Any]:
        studies = self._state.get("studies")
        if not isinstance(studies, dict):
            studies = self._state["studies"] = {}
        entry = studies.get(study_id)
        if isinstance(entry, dict):
            return entry
        fresh: dict[str, Any] = {}
        studies[study_id] = fresh
        return fresh

    def note_study_active(self, study_id: str, now: float | None = None) -> None:
        """A trial of the study was leased: the study is active (it may resume its trials)."""
        entry = self._study(study_id)
        entry["lastLeasedAt"] = time.time() if now is None else now
        entry.pop("ended", None)
        self._save_state()

    def note_study_status(self, study_id: str, status: str) -> bool:
        """The API said the study's status (a heartbeat reply `study_<status>`, a lease
        answer's `Meshtune-Study-Status`): an ended study's checkpoints become prunable.
        True when the study has just been learnt to have ended (a pass is worth running)."""
        entry = self._study(study_id)
        if status in ENDED_STUDY_STATUSES:
            if entry.get("ended") == status:
                return False
            entry["ended"] = status
            self._save_state()
            return True
        if entry.pop("ended", None) is not None:
            self._save_state()
        return False

    def _study_ended(self, study_id: str, folder_mtime: float, now: float) -> bool:
        studies = self._state.get("studies")
        entry = studies.get(study_id) if isinstance(studies, dict) else None
        entry = entry if isinstance(entry, dict) else {}
        if entry.get("ended") in ENDED_STUDY_STATUSES:
            return True
        idle = self.settings.study_idle_seconds
        if idle is None:
            return False
        last_seen = max(float(entry.get("lastLeasedAt") or 0.0), folder_mtime)
        return now - last_seen >= idle

    def _save_state(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self._state_path, self._state)
        except OSError as exc:  # what it knows is worth less than the trial running
            log.warning("could not write %s: %s", self._state_path, exc)

    # -- what lies on the disk -------------------------------------------------------------

    def _candidates(self, in_use: list[Path], now: float) -> tuple[list[PruneCandidate], int, int]:
        """Prunable folders, and the bytes of the runner's folders and of those not prunable."""
        found: list[PruneCandidate] = []
        total = 0
        protected = 0

        def consider(
            path: Path, kind: str, tier: int | None, mtime: float, study: str | None
        ) -> None:
            nonlocal total, protected
            size = folder_bytes(path)
            total += size
            if tier is None or _under(path, in_use):
                protected += size
                return
            found.append(PruneCandidate(path, kind, tier, mtime, size, study))

        for folder in _real_folders(self.trials_root):
            consider(folder, "trial folder", _TIER_SCRAP, _newest_mtime(folder), None)
        for study in _real_folders(self.checkpoints_root):
            for folder in _real_folders(study):
                mtime = _newest_mtime(folder)
                ended = self._study_ended(study.name, mtime, now)
                consider(
                    folder,
                    "checkpoints",
                    _TIER_ENDED_CHECKPOINT if ended else None,
                    mtime,
                    study.name,
                )
        for root in self.adapter_roots:
            for study in _real_folders(root):
                self._adapter_candidates(study, consider)
        return found, total, protected

    def _adapter_candidates(self, study: Path, consider: _Consider) -> None:
        completed: list[tuple[Path, float, dict[str, Any]]] = []
        for folder in _real_folders(study):
            manifest = _read_json(folder / MANIFEST_NAME)
            if manifest is None:
                if folder.name.startswith(".") and folder.name.endswith(".partial"):
                    # a copy a kill interrupted (retention.keep_adapter's staging)
                    consider(
                        folder, "partial adapter", _TIER_SCRAP, _newest_mtime(folder), study.name
                    )
                continue  # otherwise not an adapter this runner kept: not its to remove
            if manifest.get("runner") != self.runner_name:
                continue  # another runner's (a shared --adapter-dir)
            try:
                mtime = (folder / MANIFEST_NAME).lstat().st_mtime
            except OSError:
                continue
            if manifest.get("status", "completed") == "completed":
                completed.append((folder, mtime, manifest))
            else:  # a stopped or paused trial's: its resume needs the checkpoint, not this
                consider(
                    folder, "adapter (stopped trial)", _TIER_STOPPED_ADAPTER, mtime, study.name
                )
        completed.sort(key=lambda item: item[1], reverse=True)
        keep = {folder for folder, _, _ in completed[: self.settings.keep_adapters]}
        best = _best_adapter([(folder, manifest) for folder, _, manifest in completed])
        if best is not None:
            keep.add(best)
        for folder, mtime, _ in completed:
            tier = None if folder in keep else _TIER_ADAPTER
            consider(folder, "adapter", tier, mtime, study.name)

    def _roots(self) -> list[Path]:
        return [self.trials_root, self.checkpoints_root, *self.adapter_roots]

    def _free_bytes(self) -> dict[int, tuple[Path, int]]:
        """Free space per file system of the roots that exist (device -> a root, free)."""
        free: dict[int, tuple[Path, int]] = {}
        for root in self._roots():
            try:
                device = os.stat(root).st_dev
                if device not in free:
                    free[device] = (root, shutil.disk_usage(root).free)
            except OSError:
                continue
        return free

    # -- the pass ---------------------------------------------------------------------------

    def prune(
        self, in_use: Iterable[Path | str | None] = (), force: bool = False
    ) -> PruneSummary | None:
        """One pass: nothing when off or without pressure; else candidates removed by tier,
        oldest first, until the pressure is gone or nothing prunable is left. After a pass that
        could prune nothing, the folders are not walked again for STUCK_BACKOFF_SECONDS unless
        `force` (the agent forces a pass after each trial: what it left may be prunable)."""
        if not self.settings.enabled:
            return None
        now = time.time()
        if (
            not force
            and self._stuck_since is not None
            and now - self._stuck_since < STUCK_BACKOFF_SECONDS
        ):
            return None
        floor = self.settings.below_free_bytes
        free = self._free_bytes()
        under_floor = {d for d, (_, f) in free.items() if floor > 0 and f < floor}
        cap = self.settings.max_bytes
        if not under_floor and cap is None:
            return None  # the cheap check: a statvfs per root, no walk
        busy = [Path(os.path.realpath(p)) for p in in_use if p]
        candidates, total, protected = self._candidates(busy, now)
        over_cap = cap is not None and total > cap
        if not under_floor and not over_cap:
            return None
        reason = (
            f"the disk has less than {floor / 2**20:.0f} MiB free (--prune-below-free-mb)"
            if under_floor
            else f"the runner's folders hold more than {(cap or 0) / 2**20:.0f} MiB (--max-disk-mb)"
        )
        summary = PruneSummary(at=now, reason=reason)
        candidates.sort(key=lambda c: (c.tier, c.mtime))
        for candidate in candidates:
            over_cap = cap is not None and total > cap
            if not under_floor and not over_cap:
                break
            device = self._device(candidate.path)
            if device not in under_floor and not over_cap:
                continue  # its file system has room; the pressure is elsewhere
            if not self._remove(candidate, now, reason):
                continue
            summary.pruned += 1
            summary.freed_bytes += candidate.size_bytes
            summary.pruned_paths.append(str(candidate.path))
            total -= candidate.size_bytes
            if device in under_floor and shutil.disk_usage(candidate.path.parent).free >= floor:
                under_floor.discard(device)
        removed = set(summary.pruned_paths)
        left = [c for c in candidates if str(c.path) not in removed]
        summary.total_bytes = total
        summary.protected_bytes = protected + sum(c.size_bytes for c in left)
        free_after = self._free_bytes()
        summary.min_free_bytes = min((f for _, f in free_after.values()), default=None)
        summary.still_under = bool(under_floor) or (cap is not None and total > cap)
        self._report(summary)
        return summary

    def _device(self, path: Path) -> int | None:
        try:
            return os.stat(path.parent).st_dev
        except OSError:
            return None

    def _remove(self, candidate: PruneCandidate, now: float, reason: str) -> bool:
        """Removes a candidate that is still a real folder at the path listed (no link on
        the way: its real path is that path) under one of the roots."""
        path = candidate.path
        try:
            info = path.lstat()
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or os.path.realpath(path) != str(path):
            log.warning("not pruning %s: it is not a folder of this runner any more", path)
            return False
        if not any(path.is_relative_to(root) and path != root for root in self._roots()):
            return False
        try:
            shutil.rmtree(path)
        except OSError as exc:
            log.warning("pruning %s left files behind: %s", path, exc)
        age_days = max(0.0, now - candidate.mtime) / _DAY
        log.info(
            "pruned %s %s (%.1f MiB, last written %.1f days ago): %s",
            candidate.kind,
            path,
            candidate.size_bytes / 2**20,
            age_days,
            reason,
        )
        return not path.exists()

    def _report(self, summary: PruneSummary) -> None:
        text = (
            f"retention: pruned {summary.pruned} folder(s), {summary.freed_bytes / 2**20:.1f} MiB "
            f"freed; the runner's folders now hold {summary.total_bytes / 2**20:.1f} MiB"
            + (
                f", {summary.min_free_bytes / 2**20:.0f} MiB free"
                if summary.min_free_bytes is not None
                else ""
            )
        )
        stuck = summary.still_under and summary.pruned == 0
        was_stuck = self._stuck_since is not None
        self._stuck_since = summary.at if stuck else None
        if stuck and was_stuck and summary.at - self._stuck_warned < 3600:
            return  # said already (at most once an hour while nothing can be pruned)
        if stuck:
            self._stuck_warned = summary.at
        if summary.still_under:
            log.warning(
                "%s; still under pressure (%s): the %.1f MiB left are in use, resumable or "
                "protected adapters (--prune-keep-adapters)",
                text,
                summary.reason,
                summary.protected_bytes / 2**20,
            )
        else:
            log.info("%s", text)
        self._state["lastPass"] = {
            "at": summary.at,
            "reason": summary.reason,
            "pruned": summary.pruned,
            "freedBytes": summary.freed_bytes,
            "totalBytes": summary.total_bytes,
            "minFreeBytes": summary.min_free_bytes,
            "protectedBytes": summary.protected_bytes,
            "stillUnder": summary.still_under,
            "prunedPaths": summary.pruned_paths[-50:],
        }
        totals = self._state.get("totals")
        if not isinstance(totals, dict):
            totals = self._state["totals"] = {"pruned": 0, "freedBytes": 0}
        totals["pruned"] = int(totals.get("pruned", 0)) + summary.pruned
        totals["freedBytes"] = int(totals.get("freedBytes", 0)) + summary.freed_bytes
        self._save_state()
