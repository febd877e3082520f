"""Kept adapters: one folder per completed trial under `<root>/<study>/`, with a manifest,
the oldest removed beyond a per-study count, and none kept where keeping it would bring the
file system under the runner's free-space floor (a study's adapters, whose size its own LoRA
rank decides, must not fill the disk the runner's state and other studies' trials live on)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .trial_files import write_json_atomic

__all__ = ["MANIFEST_NAME", "DiskFloorError", "KeptAdapter", "adapter_size_bytes", "keep_adapter"]

log = logging.getLogger("meshtune_runner")

MANIFEST_NAME = "meshtune-trial.json"


class DiskFloorError(OSError):
    """Keeping an adapter would leave less free space than the runner's floor."""


@dataclass(frozen=True)
class KeptAdapter:
    """Where a kept adapter lies and its size (bytes of its files, the manifest left out; None
    when they could not be read), measured once, before the copy, for the disk floor."""

    path: Path
    size_bytes: int | None


def keep_adapter(
    source: Path,
    study_root: Path,
    name: str,
    manifest: dict[str, Any],
    keep: int | None,
    min_free_bytes: int = 0,
) -> KeptAdapter | None:
    """Move `source` to `study_root/name` (replacing an earlier attempt's copy), write the
    manifest, then remove the oldest kept folders beyond `keep` (None: keep all). Returns the
    kept folder and the size measured for the floor (None: nothing kept). Raises DiskFloorError,
    keeping nothing, when the copy would leave less than `min_free_bytes` free on `study_root`'s
    file system."""
    study_root.mkdir(parents=True, exist_ok=True)
    size = adapter_size_bytes(source)
    needed = size or 0
    left = shutil.disk_usage(study_root).free - needed
    if left < min_free_bytes:
        raise DiskFloorError(
            f"keeping it ({needed / 2**20:.1f} MiB) would leave {max(left, 0) / 2**20:.0f} MiB "
            f"free, under this runner's floor of {min_free_bytes / 2**20:.0f} MiB "
            "(--min-free-disk-mb)"
        )
    target = study_root / name
    staging = study_root / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)  # works across file systems (a shared mount)
    write_json_atomic(staging / MANIFEST_NAME, {**manifest, "adapterDir": str(target)})
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # readers see the whole folder or none of it
    shutil.rmtree(source, ignore_errors=True)
    if keep is not None:
        kept = sorted(
            (p for p in study_root.iterdir() if p.is_dir() and (p / MANIFEST_NAME).is_file()),
            key=lambda p: (p / MANIFEST_NAME).stat().st_mtime,
            reverse=True,
        )
        for old in kept[keep:]:
            log.info("removing kept adapter %s (--keep-adapters %d)", old, keep)
            shutil.rmtree(old, ignore_errors=True)
    return KeptAdapter(target, size) if target.is_dir() else None


def adapter_size_bytes(folder: Path) -> int | None:
    """Bytes of a kept adapter's files (its manifest left out); None when unreadable."""
    try:
        return sum(
            p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST_NAME
        )
    except OSError:
        return None
