from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from meshtune_runner.errors import TrialSetupError
from meshtune_runner.hyperparameters import LR_SCHEDULERS, RECOGNISED_PARAMETERS, map_parameters
from meshtune_runner.regime import batch_layout
from meshtune_runner.training.arguments import build_training_arguments
from meshtune_runner.training_config import parse_training_config


def test_bbo3_parameters_map_onto_lora_and_learning_rate() -> None:
    hyper = map_parameters(
        {
            "lora_rank": 8,
            "lora_alpha_multiplier": 8,
            "lora_alpha": 64,
            "lora_dropout": 0.0,
            "learning_rate": 10**-3.5,
        }
    )
    assert (hyper.r, hyper.lora_alpha, hyper.lora_dropout) == (8, 64.0, 0.0)
    assert hyper.training == {"learning_rate": pytest.approx(10**-3.5)}


def test_alpha_is_derived_from_the_multiplier_when_absent() -> None:
    hyper = map_parameters({"lora_r": 16.0, "lora_alpha_multiplier": 4, "lora_dropout": "0.1"})
    assert (hyper.r, hyper.lora_alpha, hyper.lora_dropout) == (16, 64.0, 0.1)


def test_training_parameters_and_log_learning_rate() -> None:
    hyper = map_parameters(
        {
            "log10_learning_rate": -4,
            "warmup_ratio": 0.1,
            "weight_decay": 0.01,
            "num_train_epochs": 2,
            "lora_target_modules": "q_proj,v_proj",
        }
    )
    assert hyper.training == {
        "learning_rate": pytest.approx(1e-4),
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "num_train_epochs": 2.0,
    }
    assert hyper.target_modules == ["q_proj", "v_proj"]


# One valid value for every documented trial parameter.
VALID_VALUES: dict[str, Any] = {
    "lora_rank": 8,
    "lora_r": 8,
    "rank": 8,
    "lora_alpha": 16,
    "alpha": 16,
    "lora_alpha_multiplier": 2,
    "alpha_multiplier": 2,
    "lora_dropout": 0.05,
    "dropout": 0.05,
    "lora_target_modules": "q_proj,v_proj",
    "learning_rate": 1e-4,
    "lr": 1e-4,
    "log10_learning_rate": -4,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "num_train_epochs": 2,
    "epochs": 2,
    "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 4,
    "max_grad_norm": 0.3,
    "adam_beta1": 0.9,
    "adam_beta2": 0.95,
    "adam_epsilon": 1e-6,
    "lr_scheduler_type": "linear",
}


def _training_arguments(parameters: dict[str, Any], tmp_path: Path) -> Any:
    """What the training child builds, without a model: the installed TrainingArguments."""
    from transformers import TrainingArguments

    config = parse_training_config({"model": "m", "trainData": "t", "evalData": "e"})
    hyper = map_parameters(parameters)
    layout = batch_layout(config, 1, hyper.training)
    precision = {"bf16": False, "fp16": False, "tf32": None}
    arguments = build_training_arguments(
        config, hyper, layout, precision, tmp_path, use_cpu=True, eval_strategy="epoch"
    )
    return TrainingArguments(**arguments)


def test_every_documented_parameter_builds_the_installed_training_arguments(
    tmp_path: Path,
) -> None:
    assert set(VALID_VALUES) == set(RECOGNISED_PARAMETERS)
    for name, value in VALID_VALUES.items():
        args = _training_arguments({name: value}, tmp_path)  # raised TypeError for warmup_ratio
        assert args.output_dir == str(tmp_path), name
    args = _training_arguments(
        {"warmup_ratio": 0.1, "adam_beta2": 0.95, "per_device_train_batch_size": 2}, tmp_path
    )
    assert args.get_warmup_steps(95) == math.ceil(95 * 0.1)  # 10 warm-up steps
    assert args.adam_beta2 == 0.95
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (2, 8)
    # The study's own warmupRatio (0.03 by default) maps the same way.
    assert _training_arguments({}, tmp_path).get_warmup_steps(100) == 3


def test_scheduler_names_are_the_installed_transformers_ones() -> None:
    from transformers.trainer_utils import SchedulerType

    assert set(LR_SCHEDULERS) == {s.value for s in SchedulerType}


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"lora_rank": 8, "temperature": 0.7}, "unknown trial parameter.*temperature"),
        ({"lora_rank": 8.5}, "integer"),
        ({"lora_rank": 0}, "rank"),
        ({"lora_dropout": 1.5}, "lora_dropout"),
        ({"learning_rate": "fast"}, "number"),
        ({"learning_rate": float("nan")}, "finite"),
        ({"learning_rate": 1.5}, r"learning_rate must be in \(0, 1\)"),
        ({"warmup_ratio": 1.0}, r"warmup_ratio must be in \[0, 1\)"),
        ({"warmup_ratio": -0.1}, "warmup_ratio"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"num_train_epochs": 0}, "num_train_epochs"),
        ({"per_device_train_batch_size": 0}, "per_device_train_batch_size"),
        ({"adam_beta1": 1.0}, "adam_beta1"),
        ({"adam_epsilon": 0}, "adam_epsilon"),
        ({"max_grad_norm": -1}, "max_grad_norm"),
        ({"lr_scheduler_type": "cosine_annealing"}, "lr_scheduler_type 'cosine_annealing'"),
        # Numbers past any run (docs/reliability.md, finding 39): named as sent, never an
        # OverflowError out of the runner, nor a child that runs out of memory.
        ({"rank": 2**62}, r"'rank' \(the LoRA rank\) must be in \[1, 65536\]"),
        ({"lora_r": 1e308}, "'lora_r'"),
        ({"lora_rank": 10**400}, "'lora_rank' is not finite"),
        ({"lora_rank": -8}, "'lora_rank'"),
        ({"log10_learning_rate": 400}, "'log10_learning_rate' must be < 0"),
        ({"lora_rank": 8, "alpha_multiplier": 1e308}, "'alpha_multiplier'.*finite"),
        ({"lr": 2**62}, r"'lr': learning_rate must be in \(0, 1\)"),
        ({"gradient_accumulation_steps": 1e308}, "gradient_accumulation_steps"),
    ],
)
def test_bad_parameters_fail_the_trial_clearly(parameters: dict[str, object], message: str) -> None:
    with pytest.raises(TrialSetupError, match=message):
        map_parameters(parameters)
