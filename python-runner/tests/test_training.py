"""Real LoRA fine-tuning of the tiny Llama on CPU, through the training child's entry point."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from meshtune_runner.demo_assets import DemoAssets, demo_training_config
from meshtune_runner.hyperparameters import map_parameters
from meshtune_runner.trial_files import EventReader, TrialResult, TrialSpec
from meshtune_runner.worker import TEST_CPU_RANKS, classify_failure, describe_failure

pytestmark = pytest.mark.training


@pytest.fixture(autouse=True)
def _cpu_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several ranks on this CPU machine: Launcher(["0", "1"]) names GPUs it lacks on purpose
    (worker.check_gpus_usable would refuse them as a broken runner's)."""
    monkeypatch.setenv(TEST_CPU_RANKS, "1")


BBO3_X0 = {
    "lora_rank": 8,
    "lora_alpha_multiplier": 8,
    "lora_alpha": 64,
    "lora_dropout": 0.0,
    "learning_rate": 10**-3.5,
}


def run_worker(
    tmp_path: Path,
    config: dict[str, Any],
    parameters: dict[str, Any] = BBO3_X0,
    name: str = "trial",
    checkpoint_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[TrialResult, TrialSpec]:
    work = tmp_path / name
    work.mkdir()
    spec = TrialSpec(
        "trial-1",
        1,
        "study-1",
        config,
        asdict(map_parameters(parameters)),
        str(work),
        str(checkpoint_dir) if checkpoint_dir else None,
    )
    spec.save(work / "spec.json")
    completed = subprocess.run(
        [sys.executable, "-m", "meshtune_runner.worker", str(work / "spec.json")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, **(env or {})},
    )
    spec.log_path.write_text(completed.stdout + completed.stderr)
    assert spec.result_path.is_file(), completed.stdout + completed.stderr
    return TrialResult.load(spec.result_path), spec


def test_a_killed_trial_resumes_from_its_last_checkpoint(
    demo_assets: DemoAssets, tmp_path: Path
) -> None:
    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 96,
        "maxEvalSamples": 16,
        "evalSteps": 6,
        "checkpointSteps": 4,
        "saveAdapter": False,
    }
    checkpoints = tmp_path / "checkpoints"
    # Attempt 1 dies (as if killed) at step 6 of 12, after the checkpoint of step 4.
    with pytest.raises(AssertionError):
        run_worker(
            tmp_path,
            config,
            name="a1",
            checkpoint_dir=checkpoints,
            env={"MESHTUNE_TEST_EXIT_AT_STEP": "6"},
        )
    assert (checkpoints / "checkpoint-4" / "trainer_state.json").is_file()
    # Attempt 2 resumes there and finishes; an uninterrupted run gives the same result.
    resumed, spec = run_worker(tmp_path, config, name="a2", checkpoint_dir=checkpoints)
    assert resumed.status == "completed", resumed.error
    assert resumed.effective_config["resumedFromStep"] == 4
    assert resumed.effective_config["optimizerSteps"] == 12
    steps = [
        e["step"] for e in EventReader(spec.events_path).read_new() if e.get("name") == "train_loss"
    ]
    assert min(steps) > 4  # steps 1-4 were not trained again
    whole, _ = run_worker(tmp_path, {**config, "checkpointSteps": None}, name="whole")
    print(
        f"val_loss resumed {resumed.metrics['val_loss']:.8f}, whole {whole.metrics['val_loss']:.8f}"
    )
    assert abs(resumed.metrics["val_loss"] - whole.metrics["val_loss"]) < 1e-6


def test_val_loss_trial_reports_the_seeds_metrics_and_heartbeat_events(
    demo_assets: DemoAssets, tmp_path: Path
) -> None:
    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 96,
        "maxEvalSamples": 32,
        "evalSteps": 4,
    }
    result, spec = run_worker(tmp_path, config)
    assert result.status == "completed", result.error
    for name in ("val_loss", "eval_runtime", "train_loss", "train_runtime", "perplexity"):
        assert math.isfinite(result.metrics[name]), name
    assert 0 < result.metrics["val_loss"] < 20
    events = EventReader(spec.events_path).read_new()
    evaluations = [e for e in events if e.get("name") == "val_loss"]
    assert [e["step"] for e in evaluations] == [4, 8, 12]  # 96 records / batch 8 = 12 steps
    assert evaluations[-1]["value"] == pytest.approx(result.metrics["val_loss"])
    assert any(e.get("name") == "train_loss" for e in events)
    progress = [e["value"] for e in events if e["type"] == "progress"]
    assert progress[-1] == 1.0
    # The effective configuration travels with the result.
    effective = result.effective_config
    assert effective["regimeHash"].startswith("sha256:")
    assert (effective["globalBatchSize"], effective["gradientAccumulationSteps"]) == (8, 1)
    assert (effective["gpuCount"], effective["precision"]) == (0, "fp32")
    assert effective["valLoss"] == "global token mean"
    assert set(effective["libraries"]) >= {"torch", "transformers", "peft", "python"}

    # The adapter is kept, loads with PeftModel.from_pretrained on the base model, and gives
    # back the reported val_loss.
    assert result.adapter_dir == str(spec.adapter_path)
    assert (spec.adapter_path / "adapter_config.json").is_file()
    from peft import PeftModel
    from transformers import AutoTokenizer

    from meshtune_runner.training.adapters import load_adapter
    from meshtune_runner.training.data import SupervisedCollator, load_records, tokenize_records
    from meshtune_runner.training.evaluation import token_loss_sums

    model = load_adapter(spec.adapter_path)
    assert isinstance(model, PeftModel)
    tokenizer = AutoTokenizer.from_pretrained(str(spec.adapter_path))
    examples = tokenize_records(
        load_records(demo_assets.eval_data, 32), tokenizer, config["maxLength"], "eval"
    )
    again = token_loss_sums(model, examples, SupervisedCollator(tokenizer.pad_token_id), 5)
    assert abs(again.mean - result.metrics["val_loss"]) < 1e-6


def test_warmup_ratio_as_a_trial_parameter_trains_with_that_warmup(
    demo_assets: DemoAssets, tmp_path: Path
) -> None:
    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 64,
        "maxEvalSamples": 8,
        "maxSteps": 8,
        "loggingSteps": 1,
        "evalSteps": None,
        "lrSchedulerType": "linear",
        "saveAdapter": False,
        "memoryProbe": False,
    }
    result, spec = run_worker(tmp_path, config, {**BBO3_X0, "warmup_ratio": 0.5})
    assert result.status == "completed", result.error
    assert result.adapter_dir is None
    rates = {
        e["step"]: e["value"]
        for e in EventReader(spec.events_path).read_new()
        if e.get("name") == "learning_rate"
    }
    assert sorted(rates) == list(range(1, 9))
    peak = max(rates.values())
    assert peak == pytest.approx(BBO3_X0["learning_rate"])
    # ceil(0.5 x 8) = 4 warm-up steps: rising to the peak, then the linear decay
    # (the study's own 0.03 would give one step).
    rising = [rates[step] for step in range(1, 5)]
    assert rising == sorted(rising) and rising[0] < peak / 2
    assert rates[8] < rates[6] < peak


def test_mmlu_trial_scores_answer_letters(demo_assets: DemoAssets, tmp_path: Path) -> None:
    config = {
        **demo_training_config(demo_assets, metric="mmlu"),
        "maxSteps": 2,
        "maxTrainSamples": 32,
        "evalData": None,
    }
    result, _ = run_worker(tmp_path, config, {"lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.1})
    assert result.status == "completed", result.error
    assert 0.0 <= result.metrics["mmlu_accuracy"] <= 1.0
    assert "val_loss" not in result.metrics
    # 40 questions: the accuracy is a multiple of 1/40
    assert result.metrics["mmlu_accuracy"] * 40 == pytest.approx(
        round(result.metrics["mmlu_accuracy"] * 40)
    )


def test_missing_model_is_a_clear_failure(demo_assets: DemoAssets, tmp_path: Path) -> None:
    config = {**demo_training_config(demo_assets), "model": str(tmp_path / "no-such-model")}
    result, _ = run_worker(tmp_path, config)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith(f"cannot load tokenizer {str(tmp_path / 'no-such-model')!r}")


def test_cuda_out_of_memory_is_named_as_such() -> None:
    class OutOfMemoryError(RuntimeError):
        pass

    error = OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB\nx")
    message = describe_failure(error)
    assert message.startswith("CUDA out of memory (try a smaller perDeviceTrainBatchSize")
    assert message.endswith("Tried to allocate 2 GiB")
    assert classify_failure(error) == "resource"
    assert classify_failure(RuntimeError("[gloo] Connection closed by peer")) == "runner"
    assert classify_failure(ValueError("loss is nan")) == "evaluation"


def test_demo_assets_load_through_from_pretrained(demo_assets: DemoAssets) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(demo_assets.model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(demo_assets.model_dir))
    assert tokenizer.pad_token is None  # the runner has to add one, as for LLaMA-2
    assert model.config.model_type == "llama"
    assert model.config.num_hidden_layers == 2
    records = json.loads(demo_assets.train_data.read_text())
    assert len(records) >= 300
    assert {"instruction", "context", "response"} <= set(records[0])
    assert any(r["context"] for r in records) and any(not r["context"] for r in records)
    config = json.loads(demo_assets.training_config_path.read_text())
    assert config["model"] == str(demo_assets.model_dir)


def _two_rank_config(demo_assets: DemoAssets) -> dict[str, Any]:
    config = {
        **demo_training_config(demo_assets, metric="mmlu"),
        "maxTrainSamples": 64,
        "maxEvalSamples": 32,
        "globalBatchSize": 8,
        "perDeviceTrainBatchSize": 4,
        "evalSteps": 4,
    }
    del config["gradientAccumulationSteps"]  # derived from globalBatchSize
    return config


def _run_two_ranks(
    tmp_path: Path, config: dict[str, Any], name: str
) -> tuple[TrialSpec, subprocess.Popen[bytes]]:
    from meshtune_runner.launcher import Launcher

    work = tmp_path / name
    work.mkdir()
    spec = TrialSpec(
        name,
        2,
        "study-1",
        config,
        asdict(map_parameters({"lora_rank": 8, "lora_alpha": 16})),
        str(work),
    )
    spec.save(work / "spec.json")
    with spec.log_path.open("wb") as log:
        process = Launcher(["0", "1"]).start(work / "spec.json", log)
        process.wait(timeout=300)
    return spec, process


def test_several_devices_run_one_trial_under_torchrun(
    demo_assets: DemoAssets, tmp_path: Path
) -> None:
    """The multi-GPU path (torchrun, DDP, rank 0 reports, MMLU shared across ranks), on CPU:
    two "GPU" indices that do not exist make two gloo processes."""
    config = _two_rank_config(demo_assets)
    spec, process = _run_two_ranks(tmp_path, config, "trial-2")
    assert process.returncode == 0, spec.log_path.read_text()
    result = TrialResult.load(spec.result_path)
    assert result.status == "completed", result.error
    assert math.isfinite(result.metrics["val_loss"])
    assert result.metrics["mmlu_accuracy"] * 40 == pytest.approx(
        round(result.metrics["mmlu_accuracy"] * 40)
    )  # all 40 questions, counted once
    events = EventReader(spec.events_path).read_new()
    # 64 records / (4 per device x 2 devices) = 8 steps, evaluations at 4 and 8, once each
    assert [e["step"] for e in events if e.get("name") == "val_loss"] == [4, 8]

    # The same trial on one process: accumulation 2 there, 1 here; the same regime hash,
    # the same optimizer steps over the same examples, the same val_loss.
    effective = result.effective_config
    assert (effective["processes"], effective["gradientAccumulationSteps"]) == (2, 1)
    single, _ = run_worker(
        tmp_path, {**config, "saveAdapter": False}, {"lora_rank": 8, "lora_alpha": 16}
    )
    assert single.status == "completed", single.error
    assert single.effective_config["gradientAccumulationSteps"] == 2
    assert single.effective_config["regimeHash"] == effective["regimeHash"]
    one, two = single.metrics["val_loss"], result.metrics["val_loss"]
    print(f"val_loss 1 process {one:.8f}, 2 ranks {two:.8f}")
    assert abs(single.metrics["val_loss"] - result.metrics["val_loss"]) < 1e-6
    assert single.metrics["mmlu_accuracy"] == result.metrics["mmlu_accuracy"]

    # The adapter trained on two ranks, evaluated on one process: the same val_loss.
    from transformers import AutoTokenizer

    from meshtune_runner.training.adapters import load_adapter
    from meshtune_runner.training.data import SupervisedCollator, load_records, tokenize_records
    from meshtune_runner.training.evaluation import token_loss_sums

    model = load_adapter(spec.adapter_path)
    tokenizer = AutoTokenizer.from_pretrained(str(spec.adapter_path))
    examples = tokenize_records(load_records(demo_assets.eval_data, 32), tokenizer, 128, "eval")
    again = token_loss_sums(model, examples, SupervisedCollator(tokenizer.pad_token_id), 16)
    print(f"val_loss 2 ranks {result.metrics['val_loss']:.8f}, 1 process {again.mean:.8f}")
    assert abs(again.mean - result.metrics["val_loss"]) < 1e-6


def test_out_of_memory_on_rank_1_is_reported_as_out_of_memory(
    demo_assets: DemoAssets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshtune_runner.agent import _failure_payload, _merge_rank_failures

    monkeypatch.setenv("MESHTUNE_TEST_OOM_RANK", "1")
    config = {**_two_rank_config(demo_assets), "metric": "val_loss", "mmluData": None}
    spec, process = _run_two_ranks(tmp_path, config, "trial-oom")
    assert process.returncode != 0
    merged = _merge_rank_failures(
        spec, TrialResult.load(spec.result_path) if spec.result_path.is_file() else None
    )
    assert merged is not None, spec.log_path.read_text()
    assert (merged.kind, merged.rank) == ("resource", 1)
    assert merged.error is not None and "simulated on rank 1" in merged.error
    payload = _failure_payload(merged)
    assert payload["retryable"] is True
    assert payload["error"].startswith("out of GPU memory on rank 1")


def test_memory_probe_and_gradient_checkpointing_leave_the_result_unchanged(
    demo_assets: DemoAssets, tmp_path: Path
) -> None:
    """Both are runner-side (resources), so neither may change what the trial reports."""
    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 48,
        "maxEvalSamples": 16,
        "evalSteps": None,
        "saveAdapter": False,
    }
    parameters = {**BBO3_X0, "lora_dropout": 0.1}  # dropout: the probe must not shift the RNG
    probed, spec = run_worker(tmp_path, config, parameters, name="probed")
    assert "memory probe: forward+backward of 8 x" in spec.log_path.read_text()
    plain, _ = run_worker(tmp_path, {**config, "memoryProbe": False}, parameters, name="plain")
    checkpointed, _ = run_worker(
        tmp_path, {**config, "gradientCheckpointing": True}, parameters, name="checkpointed"
    )
    values = [r.metrics["val_loss"] for r in (probed, plain, checkpointed)]
    print("val_loss probe / no probe / gradient checkpointing:", values)
    assert values[0] == values[1]
    assert abs(values[2] - values[0]) < 1e-6
    assert checkpointed.effective_config["gradientCheckpointing"] is True
    assert checkpointed.effective_config["regimeHash"] == probed.effective_config["regimeHash"]


def test_qlora_trains_a_4bit_base_and_keeps_a_loadable_adapter(
    demo_assets: DemoAssets, tmp_path: Path
) -> None:
    """`quantization: "nf4"` (QLoRA) on CPU: the base's linear layers are 4-bit, the loss
    falls, the effective configuration says so and the regime hash differs from LoRA's (the
    objective is another one), and the kept adapter loads on the full-precision base."""
    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 48,
        "maxEvalSamples": 16,
        "evalSteps": None,
        "mmluData": None,
    }
    lora, _ = run_worker(tmp_path, config, BBO3_X0, name="lora")
    qlora, spec = run_worker(tmp_path, {**config, "quantization": "nf4"}, BBO3_X0, name="qlora")
    assert qlora.status == "completed", qlora.error
    assert "Linear4bit layers" in spec.log_path.read_text(), "the base was not quantised"
    effective = qlora.effective_config
    assert effective["quantization"] == "nf4" and lora.effective_config["quantization"] == "none"
    assert "bitsandbytes" in effective["libraries"]
    assert effective["regimeHash"] != lora.effective_config["regimeHash"]
    losses = [lora.metrics["val_loss"], qlora.metrics["val_loss"]]
    print("val_loss LoRA / QLoRA (nf4):", losses)
    # Quantising a random tiny model's weights changes its loss, not by orders of magnitude.
    assert math.isfinite(losses[1]) and abs(losses[1] - losses[0]) < 0.5 * losses[0]

    from meshtune_runner.training.adapters import load_adapter

    model = load_adapter(spec.adapter_path)
    assert any("lora_A" in name for name, _ in model.named_parameters())


def _stop_at_first_evaluation(
    tmp_path: Path, config: dict[str, Any], gpus: list[str], name: str
) -> tuple[TrialSpec, int, int]:
    """Starts a trial (one process, or torchrun with one gloo rank per "GPU" index), writes
    the agent's stop file as soon as the first evaluation's loss appears, and waits for the
    child. Returns the spec, the step of that evaluation and the child's exit status."""
    from meshtune_runner.launcher import Launcher

    work = tmp_path / name
    work.mkdir()
    spec = TrialSpec(
        name,
        3,
        "study-1",
        config,
        asdict(map_parameters(BBO3_X0)),
        str(work),
        str(tmp_path / f"{name}-checkpoints"),
    )
    spec.save(work / "spec.json")
    reader = EventReader(spec.events_path)
    flagged_at = 0
    with spec.log_path.open("wb") as log:
        process = Launcher(gpus).start(work / "spec.json", log)
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            if not flagged_at:
                evaluations = [e for e in reader.read_new() if e.get("name") == "val_loss"]
                if evaluations:
                    flagged_at = int(evaluations[0]["step"])
                    spec.stop_path.write_text("early_stopped\n")
            time.sleep(0.02)
        process.wait(timeout=60)
    return spec, flagged_at, process.returncode


@pytest.mark.parametrize("gpus", [[], ["0", "1"]], ids=["1-process", "2-ranks"])
def test_a_stop_request_ends_training_within_one_evaluation_step(
    demo_assets: DemoAssets, tmp_path: Path, gpus: list[str]
) -> None:
    """The agent's stop file (the API stopped the trial early) ends training after the
    current optimizer step on every rank: no more evaluations, no final evaluation, the
    adapter as trained so far saved, a `stopped` result."""
    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 96,
        "maxEvalSamples": 16,
        "epochs": 3,  # 12 steps per epoch, 36 in all
        "evalSteps": 3,
        "loggingSteps": 1,
        "globalBatchSize": 8,
        "perDeviceTrainBatchSize": 4,
        "checkpointSteps": 5,
    }
    del config["gradientAccumulationSteps"]
    spec, flagged_at, returncode = _stop_at_first_evaluation(
        tmp_path, config, gpus, f"stop-{len(gpus)}"
    )
    assert returncode == 0, spec.log_path.read_text()
    assert flagged_at == 3
    result = TrialResult.load(spec.result_path)
    assert result.status == "stopped", result.error
    stopped_at = result.effective_config["stoppedAtStep"]
    print(
        f"{max(1, len(gpus))} process(es): stop file written at the evaluation of step 3, "
        f"training ended at step {stopped_at} of 36"
    )
    # Within one evaluation interval of the flag (in practice the step after it), not at the
    # end of the epoch (step 12) or of the training (36).
    assert flagged_at <= stopped_at <= flagged_at + config["evalSteps"]
    assert result.effective_config["optimizerSteps"] == stopped_at
    assert result.effective_config["plannedSteps"] == 36
    events = EventReader(spec.events_path).read_new()
    evaluations = [e["step"] for e in events if e.get("name") == "val_loss"]
    assert max(evaluations) <= stopped_at and len(evaluations) <= 2
    assert result.metrics["last_val_loss_step"] == max(evaluations)
    assert "val_loss" not in result.metrics  # not a final result: nothing to report
    trained = [e["step"] for e in events if e.get("name") == "train_loss"]
    assert max(trained) == stopped_at
    # The adapter of the stopped trial is kept, loadable as any other.
    assert result.adapter_dir == str(spec.adapter_path)
    from meshtune_runner.training.adapters import load_adapter

    assert load_adapter(spec.adapter_path) is not None
    # The checkpoint of the stop step is saved too (the resume of this trial starts there).
    checkpoints = tmp_path / f"stop-{len(gpus)}-checkpoints"
    assert (checkpoints / f"checkpoint-{stopped_at}" / "trainer_state.json").is_file()


def _run_with_disk_floor(
    tmp_path: Path, config: dict[str, Any], gpus: list[str], floor_mb: int, name: str
) -> tuple[TrialResult, TrialSpec, Path]:
    from meshtune_runner.launcher import Launcher

    work = tmp_path / name
    work.mkdir()
    checkpoints = tmp_path / f"{name}-checkpoints"
    spec = TrialSpec(
        name,
        4,
        "study-1",
        config,
        asdict(map_parameters(BBO3_X0)),
        str(work),
        str(checkpoints),
        floor_mb,
    )
    spec.save(work / "spec.json")
    with spec.log_path.open("wb") as log:
        process = Launcher(gpus).start(work / "spec.json", log)
        process.wait(timeout=300)
    assert process.returncode == 0, spec.log_path.read_text()
    return TrialResult.load(spec.result_path), spec, checkpoints


def test_a_checkpoint_that_would_bring_the_disk_under_the_floor_is_skipped(
    demo_assets: DemoAssets, tmp_path: Path
) -> None:
    """The runner's free-space floor (--min-free-disk-mb, in the trial spec) holds for the
    trial's own checkpoints: a save under it is skipped, training goes on, the result says so.
    Under torchrun every rank skips the same saves: rank 0 decides and shares it."""
    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 40,
        "maxEvalSamples": 8,
        "globalBatchSize": 8,
        "perDeviceTrainBatchSize": 4,
        "checkpointSteps": 2,  # 5 steps: saves at 2, 4 and the last step, 5
        "saveAdapter": False,
    }
    del config["gradientAccumulationSteps"]
    val_losses = []
    for gpus in ([], ["0", "1"]):
        name = f"floor-{len(gpus)}"
        # A floor above any disk's free space: every save is skipped.
        under, spec, checkpoints = _run_with_disk_floor(tmp_path, config, gpus, 10**9, name)
        assert under.status == "completed", under.error
        assert under.effective_config["optimizerSteps"] == 5
        assert math.isfinite(under.metrics["val_loss"])
        assert not list(checkpoints.glob("checkpoint-*"))
        assert under.effective_config["checkpointSavesSkipped"] == 3
        assert under.effective_config["checkpointSkippedFromStep"] == 2
        assert spec.log_path.read_text().count("--min-free-disk-mb") == 1  # logged once
        # ... and told to the agent at each skip, with the resume point (none was kept).
        skips = [
            (e["step"], e["resumeStep"])
            for e in EventReader(spec.events_path).read_new()
            if e["type"] == "checkpointSkipped"
        ]
        assert skips == [(2, None), (4, None), (5, None)]
        val_losses.append(under.metrics["val_loss"])
    # No floor: the checkpoint is written as before, nothing recorded as skipped.
    kept, _, checkpoints = _run_with_disk_floor(tmp_path, config, [], 0, "floor-none")
    assert kept.status == "completed", kept.error
    assert (checkpoints / "checkpoint-5" / "trainer_state.json").is_file()
    assert "checkpointSavesSkipped" not in kept.effective_config
    # Skipping saves changes nothing in the training (1 process, 2 ranks, no floor).
    print("val_loss skipped 1 process / 2 ranks / saved:", *val_losses, kept.metrics["val_loss"])
    assert max(abs(v - kept.metrics["val_loss"]) for v in val_losses) < 1e-6


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_the_trials_own_adapter_is_saved_only_above_the_disk_floor(
    demo_assets: DemoAssets, tmp_path: Path
) -> None:
    """The adapter the child writes into its trial folder is under the runner's floor too:
    under it the adapter is not saved, the result is still completed, with the reason in
    its effective configuration; the estimates the floor is judged on (the adapter, and the
    first checkpoint, which has no earlier one to measure) are not under what is written."""
    config = {
        **demo_training_config(demo_assets),
        "maxTrainSamples": 40,
        "maxEvalSamples": 8,
        "globalBatchSize": 8,
        "perDeviceTrainBatchSize": 4,
        "checkpointSteps": 5,  # 5 steps: one save, the first
    }
    del config["gradientAccumulationSteps"]
    under, spec, checkpoints = _run_with_disk_floor(tmp_path, config, [], 10**9, "adapter-under")
    assert under.status == "completed", under.error
    assert under.adapter_dir is None and not spec.adapter_path.exists()
    reason = under.effective_config["adapterNotKept"]
    assert reason.startswith("not saved: its ") and "--min-free-disk-mb" in reason
    assert under.effective_config["checkpointSavesSkipped"] == 1  # the first save: estimated
    assert not list(checkpoints.glob("checkpoint-*"))

    kept, spec, checkpoints = _run_with_disk_floor(tmp_path, config, [], 0, "adapter-kept")
    assert kept.status == "completed", kept.error
    assert kept.adapter_dir == str(spec.adapter_path)
    assert "adapterNotKept" not in kept.effective_config
    assert kept.metrics["val_loss"] == under.metrics["val_loss"]

    # The estimates, from the same model and tokenizer as the child's.
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from meshtune_runner.training.adapters import adapter_bytes_estimate

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(str(demo_assets.model_dir)),
        LoraConfig(task_type=TaskType.CAUSAL_LM, r=8, lora_alpha=64, lora_dropout=0.0),
    )
    tokenizer = AutoTokenizer.from_pretrained(str(demo_assets.model_dir))
    adapter_estimate = adapter_bytes_estimate(model, tokenizer)
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    adapter_actual = _folder_bytes(spec.adapter_path)
    checkpoint_actual = _folder_bytes(checkpoints / "checkpoint-5")
    print("adapter estimate/actual", adapter_estimate, adapter_actual)
    print("first checkpoint estimate/actual", adapter_estimate + 2 * trainable, checkpoint_actual)
    assert adapter_actual <= adapter_estimate <= adapter_actual + 2**20 + 2**16
    assert checkpoint_actual <= adapter_estimate + 2 * trainable <= checkpoint_actual + 2 * 2**20
