"""Starts the training child: plain Python on CPU or one GPU, torchrun/accelerate on several."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

from .trial_log import read_log_tail

__all__ = ["Launcher", "build_command", "crash_reason", "stop_process_group"]

LauncherName = Literal["torchrun", "accelerate"]

#: Lines of a crashed child's log that go with its failure report.
CRASH_LOG_LINES = 15


def build_command(
    spec_path: Path, gpus: Sequence[str], launcher: LauncherName, python: str = sys.executable
) -> list[str]:
    if len(gpus) <= 1:
        return [python, "-m", "meshtune_runner.worker", str(spec_path)]
    if launcher == "accelerate":
        return [
            python,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            str(len(gpus)),
            "-m",
            "meshtune_runner.worker",
            str(spec_path),
        ]
    # As the seed did: torchrun, one process per GPU; --standalone picks a free rendezvous port.
    return [
        python,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(len(gpus)),
        "-m",
        "meshtune_runner.worker",
        str(spec_path),
    ]


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the agent dies (e.g. kill -9), so no orphan trains on."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


class Launcher:
    def __init__(
        self, gpus: Sequence[str], launcher: LauncherName = "torchrun", python: str = sys.executable
    ) -> None:
        self.gpus = list(gpus)
        self.launcher = launcher
        self.python = python

    def start(self, spec_path: Path, log_file: IO[bytes]) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        # An empty list means CPU: hide every GPU from the child.
        env["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus)
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        env.setdefault("PYTHONUNBUFFERED", "1")
        return subprocess.Popen(
            build_command(spec_path, self.gpus, self.launcher, self.python),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: signals reach torchrun's workers
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )


def stop_process_group(process: subprocess.Popen[bytes], grace_seconds: float) -> None:
    """SIGTERM the child's whole group, then SIGKILL after `grace_seconds`."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        process.wait()


def crash_reason(returncode: int | None, log_path: Path) -> str:
    """Why a child that wrote no result ended, with the end of its log (raw: the reporter
    redacts and bounds it before it leaves the machine, failure_text.py)."""
    tail = read_log_tail(log_path, CRASH_LOG_LINES)
    text = "\n".join(tail)
    if "CUDA out of memory" in text or "OutOfMemoryError" in text:
        return "CUDA out of memory (the training process died): " + (tail[-1] if tail else "")
    if returncode is not None and returncode < 0:
        reason = f"training process killed by {signal.Signals(-returncode).name}"
    else:
        reason = f"training process exited with code {returncode}"
    return f"{reason} without a result; last lines of its log ({log_path}):\n{text}"
