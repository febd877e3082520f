from __future__ import annotations

import math

import pytest

from meshtune_runner.api_models import OutputSpec
from meshtune_runner.errors import TrialSetupError
from meshtune_runner.outputs import check_outputs_producible, collect_outputs
from meshtune_runner.training_config import parse_training_config

BBO3 = [
    OutputSpec(name="val_loss", type="objective", goal="minimize"),
    OutputSpec(name="eval_runtime", type="extra"),
    OutputSpec(name="train_loss", type="extra"),
    OutputSpec(name="train_runtime", type="extra"),
]


def test_outputs_are_reported_by_their_declared_names() -> None:
    metrics = {
        "val_loss": 1.5,
        "eval_runtime": 2.0,
        "train_loss": 1.2,
        "train_runtime": 30.0,
        "epoch": 3.0,
    }
    assert collect_outputs(BBO3, metrics) == {
        "val_loss": 1.5,
        "eval_runtime": 2.0,
        "train_loss": 1.2,
        "train_runtime": 30.0,
    }


def test_aliases_and_optional_extras() -> None:
    declared = [
        OutputSpec(name="MMLU", type="objective", goal="maximize"),
        OutputSpec(name="eval_loss", type="extra"),
        OutputSpec(name="gpu_hours", type="extra"),
    ]
    assert collect_outputs(declared, {"mmlu_accuracy": 0.4, "val_loss": math.nan}) == {"MMLU": 0.4}


def test_missing_or_non_finite_objective_is_an_error() -> None:
    with pytest.raises(TrialSetupError, match="missing"):
        collect_outputs(BBO3, {"train_loss": 1.0})
    with pytest.raises(TrialSetupError, match="not finite"):
        collect_outputs(BBO3, {"val_loss": math.inf})


def test_producible_checks_the_config_before_training() -> None:
    no_mmlu = parse_training_config({"model": "m", "trainData": "t", "evalData": "e"})
    check_outputs_producible(BBO3, no_mmlu)
    with pytest.raises(TrialSetupError, match="mmluData"):
        check_outputs_producible([OutputSpec(name="mmlu_accuracy", type="objective")], no_mmlu)
    with pytest.raises(TrialSetupError, match="bleu"):
        check_outputs_producible([OutputSpec(name="bleu", type="constraint_pb")], no_mmlu)
