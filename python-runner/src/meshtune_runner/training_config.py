"""The schema of a study's `trainingConfig` (opaque to the API, defined by the runner).

Defaults follow the NOMAD team's BBO3 script: 3 epochs, per-device batch 4 (eval 4),
gradient accumulation 8, max length 512, AdamW, cosine schedule, warmup ratio 0.03,
weight decay 0, learning rate 10^-3.5, evaluation once per epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .adapter_store import is_store_url
from .errors import RunnerFaultError, RunnerMismatchError, TrainingConfigError

__all__ = [
    "PATH_FIELDS",
    "RUNNER_SIDE_FIELDS",
    "TrainingConfig",
    "check_runner_overrides",
    "overrides_field",
    "parse_training_config",
]

PATH_FIELDS = (
    "model",
    "tokenizer",
    "train_data",
    "eval_data",
    "mmlu_data",
    "adapter_dir",
    "checkpoint_dir",
)

#: What a runner may override: where things are, and how it fits the study's regime on its
#: hardware. Anything else defines the objective and is the study's alone (see regime.py).
RUNNER_SIDE_FIELDS = (
    *PATH_FIELDS,
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_checkpointing",
    "memory_probe",
    "checkpoint_steps",
    "checkpoint_dir",
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class TrainingConfig(BaseModel):
    """What one trial trains on and how. JSON keys are camelCase (`trainData`, `maxLength`)."""

    model_config = ConfigDict(
        alias_generator=_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    model: str = Field(min_length=1, description="Local folder or Hugging Face hub id")
    tokenizer: str | None = Field(default=None, description="Defaults to `model`")
    train_data: str = Field(min_length=1)
    eval_data: str | None = None
    metric: Literal["val_loss", "mmlu"] = "val_loss"
    mmlu_data: str | None = None
    epochs: float = Field(default=3.0, gt=0, le=1000)
    max_steps: int | None = Field(default=None, gt=0)
    global_batch_size: int | None = Field(
        default=None,
        ge=1,
        le=1_048_576,
        description="Examples per optimizer step over all GPUs; runners derive the accumulation",
    )
    per_device_train_batch_size: int = Field(default=4, ge=1, le=4096)
    per_device_eval_batch_size: int = Field(default=4, ge=1, le=4096)
    gradient_accumulation_steps: int | None = Field(
        default=None, ge=1, le=4096, description="Only without globalBatchSize; default 8"
    )
    max_length: int = Field(default=512, ge=8, le=1_048_576)
    learning_rate: float = Field(default=10**-3.5, gt=0, lt=1)
    warmup_ratio: float = Field(default=0.03, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    lr_scheduler_type: str = "cosine"
    optim: str = "adamw_torch"
    eval_steps: int | None = Field(default=None, ge=1, description="None: evaluate each epoch")
    logging_steps: int = Field(default=1, ge=1)
    seed: int = 42
    max_train_samples: int | None = Field(default=None, ge=1)
    max_eval_samples: int | None = Field(default=None, ge=1)
    max_mmlu_samples: int | None = Field(default=None, ge=1)
    lora_target_modules: list[str] | str | None = Field(
        default=None, description="None: PEFT's default for the architecture (q_proj, v_proj)"
    )
    precision: Literal["auto", "bf16", "bf16-mixed", "fp16", "fp32"] = "auto"
    quantization: Literal["none", "nf4"] = Field(
        default="none",
        description=(
            "nf4: QLoRA, base weights quantised to 4-bit NormalFloat with double quantisation "
            "(bitsandbytes), LoRA weights trained in full precision. Part of the regime: such "
            "results are not comparable with the seed's (fp32 weights, bf16 autocast)"
        ),
    )
    gradient_checkpointing: bool = False
    memory_probe: bool = Field(
        default=True,
        description="Forward and backward of the longest batch before step 1 (fails fast on OOM)",
    )
    save_adapter: bool = True
    checkpoint_steps: int | None = Field(
        default=None,
        ge=1,
        description="Save a resumable checkpoint every N optimizer steps (None: no checkpoints)",
    )
    checkpoint_dir: str | None = Field(
        default=None,
        description="Where checkpoints live (a shared path lets another runner resume)",
    )
    adapter_dir: str | None = Field(
        default=None,
        description=(
            "Where completed trials' adapters are kept: a folder (e.g. a shared file system) or "
            "an object store URL such as s3://bucket/prefix (default: the runner's)"
        ),
    )
    trust_remote_code: bool = Field(
        default=False,
        description="Run the model's own Python code; refused unless the runner's operator "
        "passed --allow-remote-code (policy.py)",
    )
    training_arguments: dict[str, Any] = Field(
        default_factory=dict,
        description="Passed to transformers.TrainingArguments: only the keys the runner allows "
        "(policy.ALLOWED_TRAINING_ARGUMENTS and the operator's --allow-training-argument)",
    )
    description: str | None = None

    @model_validator(mode="after")
    def _metric_needs_its_data(self) -> TrainingConfig:
        if self.metric == "val_loss" and not self.eval_data:
            raise ValueError("metric 'val_loss' needs evalData (the validation set)")
        if self.metric == "mmlu" and not self.mmlu_data:
            raise ValueError("metric 'mmlu' needs mmluData (an MMLU-format file)")
        if self.global_batch_size is not None and self.gradient_accumulation_steps is not None:
            raise ValueError(
                "gradientAccumulationSteps is derived from globalBatchSize on each runner; "
                "set only globalBatchSize"
            )
        return self

    def resolve_paths(self, data_root: Path | None) -> TrainingConfig:
        """Make relative local paths relative to `data_root` (hub ids stay as they are)."""
        if data_root is None:
            return self
        updates: dict[str, str] = {}
        for name in PATH_FIELDS:
            value = getattr(self, name)
            # An adapterDir URL is not a path (Path would fold `s3://b` into `<root>/s3:/b`).
            if not value or Path(value).is_absolute() or is_store_url(value):
                continue
            candidate = data_root / value
            # A model may be a hub id ("meta-llama/Llama-2-7b-hf"): only rebase what exists.
            if name in ("model", "tokenizer") and not candidate.exists():
                continue
            updates[name] = str(candidate)
        return self.model_copy(update=updates) if updates else self


def check_runner_overrides(overrides: dict[str, Any]) -> None:
    """Runner-side overrides are limited to paths and resources (RUNNER_SIDE_FIELDS)."""
    allowed = {_camel(name) for name in RUNNER_SIDE_FIELDS}
    refused = sorted(key for key in overrides if _camel(key) not in allowed)
    if refused:
        raise ValueError(
            f"trainingConfig key(s) {', '.join(refused)} define the study's training regime and "
            "cannot be overridden by a runner; a runner may set only " + ", ".join(sorted(allowed))
        )


def overrides_field(overrides: dict[str, Any], key: str) -> bool:
    """Whether a runner's overrides set the trainingConfig field `key` (camelCase)."""
    return any(_camel(name) == key and value is not None for name, value in overrides.items())


def parse_training_config(raw: Any, overrides: dict[str, Any] | None = None) -> TrainingConfig:
    """Validate the study's trainingConfig merged with this runner's overrides.

    Overrides may use camelCase or snake_case keys; None values are ignored. An override
    outside RUNNER_SIDE_FIELDS, or one whose value is invalid, is a RunnerFaultError: this
    runner's settings are wrong whatever the study. A per-device batch override of a study
    without a global batch (it would change the regime) is a RunnerMismatchError: this runner
    cannot run that study, another runner may.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise TrainingConfigError(f"trainingConfig must be a JSON object, got {type(raw).__name__}")
    merged: dict[str, Any] = {_camel(k): v for k, v in raw.items()}
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        check_runner_overrides(given)
    except ValueError as exc:
        raise RunnerFaultError(str(exc)) from None
    if (
        "perDeviceTrainBatchSize" in {_camel(k) for k in given}
        and merged.get("globalBatchSize") is None
    ):
        raise RunnerMismatchError(
            "this runner overrides perDeviceTrainBatchSize, which changes the global batch of "
            "a study without globalBatchSize"
        )
    for key, value in given.items():
        merged[_camel(key)] = value
    try:
        return TrainingConfig.model_validate(merged)
    except ValidationError as exc:
        problems = []
        overridden = {_camel(key) for key in given}
        runners = False
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "trainingConfig"
            problems.append(f"{where}: {error['msg']}")
            # A field's own bounds (perDeviceTrainBatchSize >= 1) hold whatever the study:
            # an invalid value this runner set is its own fault, not the study's.
            runners = runners or (bool(error["loc"]) and str(error["loc"][0]) in overridden)
        if runners:
            raise RunnerFaultError(
                "this runner's trainingConfig overrides are invalid: " + "; ".join(problems)
            ) from exc
        raise TrainingConfigError("bad trainingConfig: " + "; ".join(problems)) from exc
