"""docs/runner.md stays in step with the code and the deployment files."""

from __future__ import annotations

from pathlib import Path

from meshtune_runner.cli import OVERRIDES
from meshtune_runner.hyperparameters import RECOGNISED_PARAMETERS
from meshtune_runner.outputs import METRIC_NAMES
from meshtune_runner.training_config import TrainingConfig

RUNNER = Path(__file__).resolve().parents[1]
DOC = (RUNNER.parent / "docs" / "runner.md").read_text(encoding="utf-8")


def test_deployment_files_are_shown_verbatim() -> None:
    for path in ("deploy/slurm/meshtune-runner.sbatch", "deploy/k8s/runner-statefulset.yaml"):
        assert (RUNNER / path).read_text(encoding="utf-8") in DOC, path


def test_every_training_config_key_is_documented() -> None:
    for name, field in TrainingConfig.model_fields.items():
        key = field.alias or name
        assert f"`{key}`" in DOC, key


def test_every_parameter_metric_and_override_is_documented() -> None:
    for parameter in RECOGNISED_PARAMETERS:
        assert f"`{parameter}`" in DOC, parameter
    for metric in METRIC_NAMES:
        assert f"`{metric}`" in DOC, metric
    for name in OVERRIDES:
        assert (
            f"`{name.replace('_', '-')}`" in DOC
            or f"--{name.replace('_', '-')}" in DOC
            or f"MESHTUNE_{name.upper()}" in DOC
            or OVERRIDES[name][0] in DOC
        ), name


def test_the_bbo3_example_is_the_seeds_regime_on_any_gpu_count() -> None:
    import json

    from meshtune_runner.regime import batch_layout
    from meshtune_runner.training_config import parse_training_config

    example = json.loads((RUNNER.parent / "docs" / "examples" / "bbo3.json").read_text("utf-8"))
    config = parse_training_config(example["trainingConfig"])
    assert config.precision == "bf16-mixed"  # fp32 weights + bf16 autocast, as the seed
    assert config.global_batch_size == 128
    for gpus, accumulation in ((1, 32), (4, 8), (8, 4)):
        assert batch_layout(config, gpus).gradient_accumulation_steps == accumulation


def test_what_a_study_may_ask_of_a_runner_is_documented() -> None:
    from meshtune_runner.policy import ALLOWED_TRAINING_ARGUMENTS

    section = DOC.split("## What a study may ask of a runner", 1)[1].split("\n## ", 1)[0]
    for key in ALLOWED_TRAINING_ARGUMENTS:
        assert f"`{key}`" in section, key
    for flag in ("allow-remote-code", "allow-read", "allow-write", "allow-training-argument"):
        assert f"`--{flag}" in DOC, flag
        assert f"MESHTUNE_{flag.upper().replace('-', '_')}" in DOC, flag


def test_the_retention_options_are_documented() -> None:
    from meshtune_runner.cli import build_parser

    section = DOC.split("## Retention: pruning old folders", 1)[1].split("\n## ", 1)[0]
    flags = [
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--prune") or option == "--max-disk-mb"
    ]
    assert len(flags) >= 5, flags
    for flag in flags:
        assert f"`{flag}" in DOC, flag
        if flag != "--no-prune":
            assert f"MESHTUNE_{flag[2:].upper().replace('-', '_')}" in DOC, flag
    assert "`--prune-below-free-mb`" in section and "`--max-disk-mb`" in section
