"""One training regime per study: the global batch is the study's, runners fit it."""

from __future__ import annotations

import pytest

from meshtune_runner.errors import RunnerFaultError, RunnerMismatchError, TrialSetupError
from meshtune_runner.regime import batch_layout, regime_hash
from meshtune_runner.training_config import parse_training_config

BBO3 = {
    "model": "meta-llama/Llama-2-7b-hf",
    "trainData": "/data/train.json",
    "evalData": "/data/validation.json",
    "globalBatchSize": 128,
    "perDeviceTrainBatchSize": 4,
    "precision": "bf16-mixed",
}


@pytest.mark.parametrize(("gpus", "accumulation"), [(1, 32), (2, 16), (4, 8), (8, 4), (32, 1)])
def test_accumulation_is_derived_from_the_gpu_count(gpus: int, accumulation: int) -> None:
    layout = batch_layout(parse_training_config(BBO3), gpus)
    assert layout.gradient_accumulation_steps == accumulation
    assert layout.global_batch_size == 128 == 4 * accumulation * gpus


@pytest.mark.parametrize("gpus", [3, 5, 64])
def test_a_gpu_count_that_does_not_divide_is_this_runners_mismatch(gpus: int) -> None:
    """Declined by the agent: a runner with another GPU count splits it."""
    with pytest.raises(RunnerMismatchError, match=f"{gpus} GPU"):
        batch_layout(parse_training_config(BBO3), gpus)


def test_a_per_device_batch_that_does_not_divide_is_the_setters_fault() -> None:
    """Not even one process splits 128 into batches of 3: the study's or the point's fault
    (no runner can), unless this runner set the per-device batch itself."""
    study = parse_training_config({**BBO3, "perDeviceTrainBatchSize": 3})
    with pytest.raises(TrialSetupError, match=r"\(the study\): no runner can split it"):
        batch_layout(study, 1)
    point = parse_training_config(BBO3)
    with pytest.raises(TrialSetupError, match=r"\(the trial parameter\)"):
        batch_layout(point, 2, {"per_device_train_batch_size": 3}, runner_per_device=True)
    runners = parse_training_config(BBO3, {"perDeviceTrainBatchSize": 3})
    with pytest.raises(RunnerMismatchError, match="3 x 1 GPU"):
        batch_layout(runners, 1, runner_per_device=True)


def test_the_regime_hash_is_the_same_on_every_runner_that_fits_it() -> None:
    config = parse_training_config(BBO3)
    hashes = {regime_hash(config, "bf16-mixed", batch_layout(config, g)) for g in (1, 2, 4, 8)}
    assert len(hashes) == 1
    # Paths and per-device batches (the runner's) do not change it ...
    local = parse_training_config(
        BBO3,
        {
            "model": "/models/Llama-2-7b-hf",
            "trainData": "/mnt/t.json",
            "perDeviceTrainBatchSize": 2,
        },
    )
    assert regime_hash(local, "bf16-mixed", batch_layout(local, 1)) in hashes
    assert batch_layout(local, 1).gradient_accumulation_steps == 64
    kept = parse_training_config({**BBO3, "saveAdapter": False, "checkpointSteps": 50})
    assert regime_hash(kept, "bf16-mixed", batch_layout(kept, 2)) in hashes
    # ... the precision actually used and the objective's settings do.
    assert regime_hash(config, "bf16", batch_layout(config, 1)) not in hashes
    other = parse_training_config({**BBO3, "maxLength": 1024})
    assert regime_hash(other, "bf16-mixed", batch_layout(other, 1)) not in hashes


def test_without_a_global_batch_the_regime_depends_on_the_runner() -> None:
    legacy = {**BBO3, "globalBatchSize": None, "gradientAccumulationSteps": 8}
    config = parse_training_config(legacy)
    one, four = batch_layout(config, 1), batch_layout(config, 4)
    assert (one.global_batch_size, four.global_batch_size) == (32, 128)
    assert regime_hash(config, "bf16", one) != regime_hash(config, "bf16", four)


def test_runner_overrides_are_limited_to_paths_and_resources() -> None:
    with pytest.raises(RunnerFaultError, match="epochs"):  # wrong whatever the study
        parse_training_config(BBO3, {"epochs": 1})
    with pytest.raises(RunnerFaultError, match="overrides are invalid: perDeviceTrainBatchSize"):
        parse_training_config(BBO3, {"per_device_train_batch_size": 0})
    with pytest.raises(RunnerMismatchError, match="without globalBatchSize"):
        parse_training_config({**BBO3, "globalBatchSize": None}, {"perDeviceTrainBatchSize": 2})
    with pytest.raises(Exception, match="set only globalBatchSize"):
        parse_training_config({**BBO3, "gradientAccumulationSteps": 4})


def test_trial_batch_parameters_fit_the_study_regime() -> None:
    config = parse_training_config(BBO3)
    assert (
        batch_layout(config, 2, {"per_device_train_batch_size": 8}).gradient_accumulation_steps == 8
    )
    with pytest.raises(TrialSetupError, match="gradient_accumulation_steps"):
        batch_layout(config, 1, {"gradient_accumulation_steps": 2})
