"""From the metrics a trial computed to the outputs the study declared."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .api_models import OutputSpec
from .errors import TrialSetupError
from .training_config import TrainingConfig

__all__ = ["METRIC_NAMES", "check_outputs_producible", "collect_outputs", "metric_for_output"]

#: Every metric a trial can produce, and the data it needs.
METRIC_NAMES: dict[str, str] = {
    "val_loss": "evalData",
    "eval_runtime": "evalData",
    "eval_samples_per_second": "evalData",
    "perplexity": "evalData",
    "train_loss": "trainData",
    "train_runtime": "trainData",
    "train_samples_per_second": "trainData",
    "epoch": "trainData",
    "mmlu_accuracy": "mmluData",
    "mmlu_runtime": "mmluData",
}

# Other names a study may use for the same metric.
_ALIASES: dict[str, str] = {
    "eval_loss": "val_loss",
    "validation_loss": "val_loss",
    "valid_loss": "val_loss",
    "val_runtime": "eval_runtime",
    "validation_runtime": "eval_runtime",
    "mmlu": "mmlu_accuracy",
    "mmlu_acc": "mmlu_accuracy",
    "accuracy": "mmlu_accuracy",
    "ppl": "perplexity",
}


def metric_for_output(name: str) -> str | None:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in METRIC_NAMES else None


def check_outputs_producible(outputs: Sequence[OutputSpec], config: TrainingConfig) -> None:
    """Before training: every objective/constraint must be a metric this config yields."""
    available = {
        "trainData": True,
        "evalData": bool(config.eval_data),
        "mmluData": bool(config.mmlu_data),
    }
    for output in outputs:
        if not output.required:
            continue
        metric = metric_for_output(output.name)
        if metric is None:
            raise TrialSetupError(
                f"the study's {output.type} output {output.name!r} is not a metric the runner "
                f"produces ({', '.join(METRIC_NAMES)})"
            )
        needs = METRIC_NAMES[metric]
        if not available[needs]:
            raise TrialSetupError(
                f"output {output.name!r} needs trainingConfig.{needs}, which is not set"
            )


def collect_outputs(
    outputs: Sequence[OutputSpec], metrics: Mapping[str, float]
) -> dict[str, float]:
    """Values by declared name; a missing or non-finite objective/constraint is an error."""
    reported: dict[str, float] = {}
    for output in outputs:
        metric = metric_for_output(output.name)
        value = metrics.get(metric) if metric else None
        if value is None or not math.isfinite(value):
            if output.required:
                shown = "missing" if value is None else f"not finite ({value})"
                raise TrialSetupError(f"{output.type} output {output.name!r} is {shown}")
            continue
        reported[output.name] = float(value)
    return reported
