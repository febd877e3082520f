"""Maps a trial's parameters (user-space values from the API) onto LoRA and training settings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import TrialSetupError

__all__ = [
    "LR_SCHEDULERS",
    "MAX_LORA_RANK",
    "RECOGNISED_PARAMETERS",
    "Hyperparameters",
    "map_parameters",
]

# name in the study -> (target, kind). Targets starting with "lora." go to LoraConfig,
# the others to TrainingArguments.
_ALIASES: dict[str, tuple[str, str]] = {
    "lora_rank": ("lora.r", "int"),
    "lora_r": ("lora.r", "int"),
    "rank": ("lora.r", "int"),
    "lora_alpha": ("lora.lora_alpha", "float"),
    "alpha": ("lora.lora_alpha", "float"),
    "lora_alpha_multiplier": ("alpha_multiplier", "float"),
    "alpha_multiplier": ("alpha_multiplier", "float"),
    "lora_dropout": ("lora.lora_dropout", "float"),
    "dropout": ("lora.lora_dropout", "float"),
    "lora_target_modules": ("lora.target_modules", "modules"),
    "learning_rate": ("learning_rate", "float"),
    "lr": ("learning_rate", "float"),
    "log10_learning_rate": ("log10_learning_rate", "float"),
    "warmup_ratio": ("warmup_ratio", "float"),
    "weight_decay": ("weight_decay", "float"),
    "num_train_epochs": ("num_train_epochs", "float"),
    "epochs": ("num_train_epochs", "float"),
    "per_device_train_batch_size": ("per_device_train_batch_size", "int"),
    "gradient_accumulation_steps": ("gradient_accumulation_steps", "int"),
    "max_grad_norm": ("max_grad_norm", "float"),
    "adam_beta1": ("adam_beta1", "float"),
    "adam_beta2": ("adam_beta2", "float"),
    "adam_epsilon": ("adam_epsilon", "float"),
    "lr_scheduler_type": ("lr_scheduler_type", "str"),
}

RECOGNISED_PARAMETERS = tuple(sorted(_ALIASES))

#: transformers' `SchedulerType` values (tests/test_hyperparameters.py keeps this list in step
#: with the installed version), so a bad name fails in the agent, before a child loads a model.
LR_SCHEDULERS = (
    "constant",
    "constant_with_warmup",
    "cosine",
    "cosine_warmup_with_min_lr",
    "cosine_with_min_lr",
    "cosine_with_restarts",
    "greedy",
    "inverse_sqrt",
    "linear",
    "polynomial",
    "reduce_lr_on_plateau",
    "warmup_stable_decay",
)

# Allowed values of the numeric TrainingArguments targets: (low, low inclusive, high, high
# inclusive); None is unbounded. Checked in the agent so that a bad value fails the trial
# before the child loads torch, the model and the data.
_RANGES: dict[str, tuple[float | None, bool, float | None, bool]] = {
    "learning_rate": (0.0, False, 1.0, False),
    "warmup_ratio": (0.0, True, 1.0, False),
    "weight_decay": (0.0, True, None, False),
    "num_train_epochs": (0.0, False, 1000.0, True),
    "per_device_train_batch_size": (1.0, True, 4096.0, True),
    "gradient_accumulation_steps": (1.0, True, 4096.0, True),
    "max_grad_norm": (0.0, True, None, False),
    "adam_beta1": (0.0, True, 1.0, False),
    "adam_beta2": (0.0, True, 1.0, False),
    "adam_epsilon": (0.0, False, 1.0, False),
}


#: The largest LoRA rank the runner trains. PEFT refuses only r <= 0 (peft's
#: `LoraLayer.update_layer`: "`r` should be a positive integer"); above, it allocates an r x
#: in_features and an out_features x r matrix per adapted weight, so a huge r is an
#: out-of-memory crash (or an overflow) in the child after the model has loaded. The update
#: B @ A of a weight has rank at most min(in_features, out_features) <= hidden_size, and no
#: model transformers ships has a hidden size near 2**16 (the largest are about 16k-25k): a
#: rank past this adds parameters, never rank, on any model.
MAX_LORA_RANK = 2**16


def _check_range(name: str, value: float) -> None:
    low, low_inclusive, high, high_inclusive = _RANGES[name]
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        shown_low = "-inf" if low is None else f"{low:g}"
        shown_high = "inf" if high is None else f"{high:g}"
        raise TrialSetupError(
            f"{name} must be in {left}{shown_low}, {shown_high}{right}, got {value:.6g}"
        )


@dataclass(frozen=True)
class Hyperparameters:
    """LoRA settings and TrainingArguments overrides of one trial."""

    r: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    target_modules: list[str] | str | None = None
    training: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        extra = " ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in sorted(self.training.items())
        )
        return f"r={self.r} alpha={self.lora_alpha:g} dropout={self.lora_dropout:g} {extra}".strip()


def _shown(value: Any) -> str:
    """A value as an error shows it: a 400-digit integer would be a 400-character message."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _coerce(name: str, value: Any, kind: str) -> Any:
    if kind == "str":
        return str(value)
    if kind == "modules":
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return parts[0] if parts == ["all-linear"] else parts
        raise TrialSetupError(f"parameter {name!r} must be a comma-separated string")
    if isinstance(value, bool):
        raise TrialSetupError(f"parameter {name!r} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TrialSetupError(f"parameter {name!r} must be a number, got {value!r}") from None
    except OverflowError:  # an int past a float's range (JSON integers are unbounded)
        raise TrialSetupError(f"parameter {name!r} is not finite: {_shown(value)}") from None
    if not math.isfinite(number):
        raise TrialSetupError(f"parameter {name!r} is not finite: {_shown(value)}")
    if kind == "int":
        if number != round(number):
            raise TrialSetupError(f"parameter {name!r} must be an integer, got {_shown(value)}")
        return round(number)
    return number


def map_parameters(parameters: dict[str, Any]) -> Hyperparameters:
    """Translate trial parameters; an unknown name fails the trial with the list of known ones."""
    unknown = sorted(name for name in parameters if name not in _ALIASES)
    if unknown:
        raise TrialSetupError(
            f"unknown trial parameter(s) {', '.join(unknown)}; the runner understands: "
            + ", ".join(RECOGNISED_PARAMETERS)
        )
    lora: dict[str, Any] = {}
    training: dict[str, Any] = {}
    #: target -> the study's name for it, so that an error names the parameter as sent
    named: dict[str, str] = {}
    multiplier: float | None = None
    for name, raw in parameters.items():
        if raw is None:
            continue
        target, kind = _ALIASES[name]
        value = _coerce(name, raw, kind)
        if target == "alpha_multiplier":
            multiplier = value
            named["alpha_multiplier"] = name
        elif target == "log10_learning_rate":
            # 10**309 overflows a float: past the learning rate's range all the same.
            if value >= 0:
                raise TrialSetupError(
                    f"parameter {name!r} must be < 0 (learning_rate in (0, 1)), got {value:g}"
                )
            training["learning_rate"] = 10.0**value
            named["learning_rate"] = name
        elif target.startswith("lora."):
            lora[target.removeprefix("lora.")] = value
            named[target.removeprefix("lora.")] = name
        else:
            training[target] = value
            named[target] = name

    r = lora.get("r", 8)
    if not 1 <= r <= MAX_LORA_RANK:
        raise TrialSetupError(
            f"parameter {named.get('r', 'lora_rank')!r} (the LoRA rank) must be in "
            f"[1, {MAX_LORA_RANK}], got {_shown(r)}"
        )
    if "lora_alpha" not in lora:
        # The seed's encoding: alpha = multiplier x rank (the API usually sends both).
        lora["lora_alpha"] = multiplier * r if multiplier is not None else 2.0 * r
        named["lora_alpha"] = named.get("alpha_multiplier", named.get("r", "lora_rank"))
    dropout = lora.get("lora_dropout", 0.0)
    if not 0.0 <= dropout < 1.0:
        raise TrialSetupError(
            f"parameter {named.get('lora_dropout', 'lora_dropout')!r} must be in [0, 1), "
            f"got {dropout}"
        )
    # PEFT scales the update by lora_alpha / r: an infinite alpha (a finite multiplier times
    # the rank can overflow) would make every loss NaN.
    if not 0 < lora["lora_alpha"] < math.inf:
        raise TrialSetupError(
            f"parameter {named['lora_alpha']!r} gives lora_alpha {lora['lora_alpha']:g}, "
            "which must be finite and > 0"
        )
    for name, value in training.items():
        if name in _RANGES:
            try:
                _check_range(name, float(value))
            except TrialSetupError as exc:
                sent = named.get(name, name)
                raise TrialSetupError(
                    str(exc) if sent == name else f"parameter {sent!r}: {exc}"
                ) from None
    scheduler = training.get("lr_scheduler_type")
    if scheduler is not None and scheduler not in LR_SCHEDULERS:
        raise TrialSetupError(
            f"lr_scheduler_type {scheduler!r} is not one of {', '.join(LR_SCHEDULERS)}"
        )
    return Hyperparameters(
        r=r,
        lora_alpha=float(lora["lora_alpha"]),
        lora_dropout=float(dropout),
        target_modules=lora.get("target_modules"),
        training=training,
    )
