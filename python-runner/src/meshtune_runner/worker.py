"""The training child: `python -m meshtune_runner.worker SPEC.json` (or under torchrun).

Reads the spec the agent wrote, trains, and writes `result.json` (rank 0). Every failure
becomes a failed result with a one-line reason and a kind (errors.FailureKind); every rank
that fails also writes its own `failures/rank-<r>.json`, so that the agent reports the rank
that failed first (an out-of-memory error on rank 1 is not "connection closed" seen by rank 0).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from .errors import (
    FailureKind,
    ResourceError,
    RunnerError,
    RunnerFaultError,
    RunnerMismatchError,
    refusal_of,
)
from .hyperparameters import Hyperparameters
from .training_config import parse_training_config
from .trial_files import EventWriter, TrialResult, TrialSpec

__all__ = ["classify_failure", "describe_failure", "is_out_of_memory", "main"]

log = logging.getLogger("meshtune_runner.worker")

OOM_HINT = (
    "CUDA out of memory (try a smaller perDeviceTrainBatchSize or maxLength, "
    "gradientCheckpointing, or more GPUs)"
)

# What a rank sees when another rank died under it (gloo, NCCL, the TCP store).
_PEER_LOST = (
    "Connection closed by peer",
    "Connection reset by peer",
    "Broken pipe",
    "NCCL communicator was aborted",
    "ProcessGroupNCCL",
    "DistBackendError",
    "DistNetworkError",
)


def is_out_of_memory(exc: BaseException) -> bool:
    return (
        isinstance(exc, ResourceError)
        or type(exc).__name__ == "OutOfMemoryError"
        or "CUDA out of memory" in str(exc)
    )


def is_peer_lost(text: str) -> bool:
    return any(marker in text for marker in _PEER_LOST)


def classify_failure(exc: BaseException) -> FailureKind:
    if is_out_of_memory(exc):
        return "resource"
    if isinstance(exc, (RunnerMismatchError, RunnerFaultError)) or is_peer_lost(
        f"{type(exc).__name__}: {exc}"
    ):
        return "runner"
    return "evaluation"


def describe_failure(exc: BaseException) -> str:
    if is_out_of_memory(exc):
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{OOM_HINT}: {first_line}"[:2000]
    if isinstance(exc, RunnerError):
        return str(exc)[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


#: Set by the tests that run several ranks on the CPU (`check_gpus_usable`).
TEST_CPU_RANKS = "MESHTUNE_TEST_CPU_RANKS"


def check_gpus_usable() -> None:
    """The GPUs the agent gave this child (`--gpus`, as CUDA_VISIBLE_DEVICES; launcher.py) must
    be usable: without it the child would train on the CPU, slowly and in fp32, a result of
    another regime that looks like a GPU runner's. No driver, a driver that does not match,
    an index that names no GPU: this runner is broken whatever the study (its health).
    `MESHTUNE_TEST_CPU_RANKS=1`: the tests name GPUs on a CPU machine on purpose, to run
    several gloo ranks under torchrun (tests/test_training.py)."""
    given = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if not given or os.environ.get(TEST_CPU_RANKS) == "1":
        return  # a CPU runner: the launcher hides every GPU
    import torch

    usable = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if usable < len(given):
        raise RunnerFaultError(
            f"this runner was given GPU(s) {','.join(given)} (--gpus) but CUDA can use "
            f"{usable} of them (torch {torch.__version__}, CUDA build "
            f"{torch.version.cuda or 'none'}): check the driver and --gpus"
        )


def _record(function: Callable[[], int]) -> Callable[[], int | None]:
    """torch elastic's @record (writes an uncaught exception to the rank's error file that
    torchrun summarises); imported lazily so that `--help` of the agent stays light."""
    try:
        from torch.distributed.elastic.multiprocessing.errors import record
    except ImportError:  # pragma: no cover - torch is a dependency
        return function
    recorded: Callable[[], int | None] = record(function)
    return recorded


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m meshtune_runner.worker SPEC.json", file=sys.stderr)
        return 2
    spec = TrialSpec.load(Path(args[0]))
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s [trial {spec.trial_number} rank {rank}] %(levelname)s %(message)s",
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    events = EventWriter(spec.events_path if rank == 0 else None)
    try:
        check_gpus_usable()
        config = parse_training_config(spec.training_config)
        hyper = Hyperparameters(**spec.hyperparameters)
        from .training.finetune import run_finetune

        outcome = run_finetune(
            config,
            hyper,
            Path(spec.work_dir) / "output",
            events,
            spec.adapter_path,
            Path(spec.checkpoint_dir) if spec.checkpoint_dir else None,
            spec.stop_path,
            spec.min_free_disk_mb * 2**20,
        )
        result = TrialResult(
            "stopped" if outcome.stopped_at_step is not None else "completed",
            outcome.metrics,
            effective_config=outcome.effective_config,
            adapter_dir=outcome.adapter_dir,
        )
    except Exception as exc:
        if not isinstance(exc, RunnerError):
            traceback.print_exc()
        result = TrialResult(
            "failed",
            error=describe_failure(exc),
            kind=classify_failure(exc),
            rank=rank,
            refusal=refusal_of(exc),
        )
        log.error("trial failed on rank %d (%s failure): %s", rank, result.kind, result.error)
        result.save(spec.rank_failure_path(rank))
    if rank == 0:
        result.save(spec.result_path)
    return 1 if result.status == "failed" else 0


if __name__ == "__main__":
    sys.exit(_record(main)())
