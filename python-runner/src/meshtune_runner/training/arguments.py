"""From the study's config, the trial's parameters and this runner's layout to the keyword
arguments of the installed transformers' `TrainingArguments` (one owner for that mapping)."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path
from typing import Any

from ..hyperparameters import Hyperparameters
from ..regime import BatchLayout
from ..training_config import TrainingConfig

__all__ = ["build_training_arguments", "warmup_arguments"]

# Trial parameters that are not TrainingArguments fields as such: the batch ones go through
# the layout (regime.batch_layout), the warm-up ratio through warmup_arguments.
_TRANSLATED = {"warmup_ratio", "per_device_train_batch_size", "gradient_accumulation_steps"}


@cache
def _training_argument_fields() -> frozenset[str]:
    from transformers import TrainingArguments

    return frozenset(f.name for f in dataclasses.fields(TrainingArguments))


def warmup_arguments(ratio: float) -> dict[str, Any]:
    """A warm-up given as a fraction of the optimizer steps.

    transformers 4 has `warmup_ratio`; transformers 5 dropped it, and its `warmup_steps` takes
    a float in [0, 1) as that fraction (`TrainingArguments.get_warmup_steps`: ceil(ratio x
    total steps)). Both give the same number of warm-up steps.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"warmup ratio must be in [0, 1), got {ratio}")
    if "warmup_ratio" in _training_argument_fields():
        return {"warmup_ratio": ratio}
    return {"warmup_steps": float(ratio)}


def build_training_arguments(
    config: TrainingConfig,
    hyper: Hyperparameters,
    layout: BatchLayout,
    precision: dict[str, Any],
    output_dir: Path,
    *,
    use_cpu: bool,
    eval_strategy: str,
    checkpoint_dir: Path | None = None,
) -> dict[str, Any]:
    trial = dict(hyper.training)
    arguments: dict[str, Any] = {
        "output_dir": str(output_dir),
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps or -1,
        "per_device_train_batch_size": layout.per_device_train_batch_size,
        "per_device_eval_batch_size": config.per_device_eval_batch_size,
        "gradient_accumulation_steps": layout.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay,
        **warmup_arguments(float(trial.get("warmup_ratio", config.warmup_ratio))),
        "lr_scheduler_type": config.lr_scheduler_type,
        "optim": config.optim,
        "logging_steps": config.logging_steps,
        "eval_strategy": eval_strategy,
        "eval_steps": config.eval_steps,
        "save_strategy": "no",
        "report_to": "none",
        "seed": config.seed,
        "bf16": precision["bf16"],
        "fp16": precision["fp16"],
        "tf32": precision["tf32"],
        "use_cpu": use_cpu,
        "disable_tqdm": True,
        "remove_unused_columns": False,
        "ddp_find_unused_parameters": False if layout.world_size > 1 else None,
    }
    if checkpoint_dir is not None and config.checkpoint_steps:
        # Trainer checkpoints (adapter, optimizer, scheduler, RNG states, step) every N steps;
        # only the newest is kept: it is what a re-leased attempt resumes from.
        arguments.update(
            output_dir=str(checkpoint_dir),
            save_strategy="steps",
            save_steps=config.checkpoint_steps,
            save_total_limit=1,
        )
    arguments.update(config.training_arguments)
    arguments.update({k: v for k, v in trial.items() if k not in _TRANSLATED})
    return arguments
