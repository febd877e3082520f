"""Which GPUs this machine has, without importing torch (so start-up stays fast)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["GpuInfo", "detect_gpus", "select_gpus"]


@dataclass(frozen=True)
class GpuInfo:
    index: str
    memory_mb: int | None


def _nvidia_smi_gpus() -> list[GpuInfo]:
    smi = shutil.which("nvidia-smi")
    found: list[GpuInfo] = []
    if smi is not None:
        try:
            listing = subprocess.run(
                [smi, "--query-gpu=index,memory.total", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listing = ""
        for line in listing.splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 2 and parts[0].isdigit():
                memory = int(parts[1]) if parts[1].isdigit() else None
                found.append(GpuInfo(parts[0], memory))
    return found


def detect_gpus() -> list[GpuInfo]:
    """GPUs reported by nvidia-smi, limited to CUDA_VISIBLE_DEVICES when that is set."""
    found = _nvidia_smi_gpus()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        wanted = [v.strip() for v in visible.split(",") if v.strip()]
        by_index = {g.index: g for g in found}
        found = [by_index.get(v, GpuInfo(v, None)) for v in wanted]
    return found


def select_gpus(spec: str) -> list[GpuInfo]:
    """`auto` (every visible GPU), `none`/`cpu`, or nvidia-smi indices such as `0,1,2,3`
    (which replace CUDA_VISIBLE_DEVICES for the training child)."""
    spec = spec.strip().lower()
    if spec in ("none", "cpu", ""):
        return []
    if spec == "auto":
        return detect_gpus()
    by_index = {g.index: g for g in _nvidia_smi_gpus()}
    chosen = [v.strip() for v in spec.split(",") if v.strip()]
    for value in chosen:
        if not value.isdigit():
            raise ValueError(f"--gpus expects auto, none or indices like 0,1,2,3; got {spec!r}")
    return [by_index.get(v, GpuInfo(v, None)) for v in chosen]
