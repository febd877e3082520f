"""The training child: `python -m meshtune_runner.worker SPEC.json` (or under torchrun).

Reads the spec the agent wrote, trains, and writes `result.json` (rank 0). Every failure
becomes a failed result with a one-line reason; the agent reports it.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from .errors import RunnerError
from .hyperparameters import Hyperparameters
from .training_config import parse_training_config
from .trial_files import EventWriter, TrialResult, TrialSpec

__all__ = ["describe_failure", "main"]

log = logging.getLogger("meshtune_runner.worker")

OOM_HINT = (
    "CUDA out of memory (try a smaller perDeviceTrainBatchSize or maxLength, "
    "gradientCheckpointing, or more GPUs)"
)


def describe_failure(exc: BaseException) -> str:
    if type(exc).__name__ == "OutOfMemoryError" or "CUDA out of memory" in str(exc):
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{OOM_HINT}: {first_line}"[:2000]
    if isinstance(exc, RunnerError):
        return str(exc)[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


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
        config = parse_training_config(spec.training_config)
        hyper = Hyperparameters(**spec.hyperparameters)
        from .training.finetune import run_finetune

        metrics = run_finetune(config, hyper, Path(spec.work_dir) / "output", events)
        result = TrialResult("completed", metrics)
    except Exception as exc:
        if not isinstance(exc, RunnerError):
            traceback.print_exc()
        result = TrialResult("failed", error=describe_failure(exc))
        log.error("trial failed: %s", result.error)
    if rank == 0:
        result.save(spec.result_path)
    return 0 if result.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
