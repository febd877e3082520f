from __future__ import annotations

import pytest

from meshtune_runner.errors import TrialSetupError
from meshtune_runner.hyperparameters import map_parameters


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


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"lora_rank": 8, "temperature": 0.7}, "unknown trial parameter.*temperature"),
        ({"lora_rank": 8.5}, "integer"),
        ({"lora_rank": 0}, "rank"),
        ({"lora_dropout": 1.5}, "lora_dropout"),
        ({"learning_rate": "fast"}, "number"),
        ({"learning_rate": float("nan")}, "finite"),
    ],
)
def test_bad_parameters_fail_the_trial_clearly(parameters: dict[str, object], message: str) -> None:
    with pytest.raises(TrialSetupError, match=message):
        map_parameters(parameters)
