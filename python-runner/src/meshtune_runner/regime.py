"""One training regime per study: what defines the objective, and how a runner fits it.

The study's `trainingConfig` fixes everything that changes the number reported to the
optimizer (global batch, epochs, length, schedule, precision, ...). A runner only chooses how
to fit that regime on its hardware: the per-device batch and, from its GPU count, the gradient
accumulation (global = per-device x accumulation x GPUs). When the global batch cannot be
split over this runner's GPUs (or over the per-device batch this runner set), the runner
declines the study (another runner may fit it); when it cannot be split over the per-device
batch the study or the trial set, no runner can, and the trial fails as an evaluation.

Imports no ML library: the agent checks the regime before it starts a training child.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RunnerMismatchError, TrialSetupError
from .training_config import RUNNER_SIDE_FIELDS, TrainingConfig

__all__ = ["BatchLayout", "batch_layout", "regime_fields", "regime_hash"]


@dataclass(frozen=True)
class BatchLayout:
    global_batch_size: int
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    world_size: int


def batch_layout(
    config: TrainingConfig,
    world_size: int,
    trial_training: Mapping[str, Any] | None = None,
    runner_per_device: bool = False,
) -> BatchLayout:
    """Accumulation derived from the study's global batch and this runner's GPU count.

    Without `globalBatchSize` (older studies) the accumulation is the study's and the global
    batch follows from the GPU count, as before: such results depend on the runner.
    `trial_training` (the trial's TrainingArguments parameters) may set the per-device batch,
    and the accumulation only when the study has no global batch. `runner_per_device`: the
    config's per-device batch is this runner's override (not the study's).
    """
    trial = dict(trial_training or {})
    world_size = max(1, world_size)
    per_device = int(trial.get("per_device_train_batch_size", config.per_device_train_batch_size))
    if config.global_batch_size is None:
        accumulation = int(
            trial.get("gradient_accumulation_steps", config.gradient_accumulation_steps or 8)
        )
        return BatchLayout(
            per_device * accumulation * world_size, per_device, accumulation, world_size
        )
    if "gradient_accumulation_steps" in trial:
        raise TrialSetupError(
            "the trial parameter gradient_accumulation_steps conflicts with the study's "
            "globalBatchSize (the accumulation is derived from it on each runner)"
        )
    per_step = per_device * world_size
    if config.global_batch_size % per_step != 0:
        from_trial = "per_device_train_batch_size" in trial
        if config.global_batch_size % per_device != 0 and not (
            runner_per_device and not from_trial
        ):
            # Not even one process splits it: no runner can train this point as defined.
            raise TrialSetupError(
                f"globalBatchSize {config.global_batch_size} is not a multiple of "
                f"perDeviceTrainBatchSize {per_device} "
                f"({'the trial parameter' if from_trial else 'the study'}): no runner can "
                "split it"
            )
        raise RunnerMismatchError(
            f"globalBatchSize {config.global_batch_size} is not a multiple of "
            f"perDeviceTrainBatchSize {per_device} x {world_size} GPU(s) = {per_step} on this "
            "runner; a runner with another GPU count (or another perDeviceTrainBatchSize) "
            "can train it"
        )
    return BatchLayout(
        config.global_batch_size, per_device, config.global_batch_size // per_step, world_size
    )


def regime_fields(config: TrainingConfig, precision: str, layout: BatchLayout) -> dict[str, Any]:
    """The settings that define the objective: the study's config less what a runner may
    choose (paths, per-device batches, resources), with the precision and global batch
    actually used."""
    fields = config.model_dump(
        by_alias=True,
        # Neither changes the objective: what is kept afterwards, free text, and the
        # accumulation (derived from the global batch, which is added below).
        exclude={*RUNNER_SIDE_FIELDS, "save_adapter", "description", "gradient_accumulation_steps"},
    )
    fields["precision"] = precision
    fields["globalBatchSize"] = layout.global_batch_size
    # The model is named by a path or hub id that differs between runners; its base name stays.
    fields["model"] = config.model.rstrip("/").rsplit("/", 1)[-1]
    return fields


def regime_hash(config: TrainingConfig, precision: str, layout: BatchLayout) -> str:
    fields = regime_fields(config, precision, layout)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
