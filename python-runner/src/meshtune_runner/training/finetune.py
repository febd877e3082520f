"""One trial: LoRA fine-tuning with transformers' Trainer + PEFT, then the metrics.

Imported only in the training child (it imports torch, transformers and peft). Runs the
same under `torchrun` (one process per GPU; rank 0 writes events and the result).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import MissingInputError, TrialSetupError
from ..hub_cache import missing_from_hub_cache
from ..hyperparameters import Hyperparameters
from ..regime import BatchLayout, batch_layout, regime_hash
from ..training_config import TrainingConfig
from ..trial_files import EventWriter
from .adapters import adapter_bytes_estimate, save_adapter
from .arguments import build_training_arguments
from .data import SupervisedCollator, TokenizedExample, load_records, tokenize_records
from .evaluation import make_token_mean_trainer
from .mmlu import load_mmlu, score_mmlu

__all__ = ["METRIC_NAMES", "FinetuneOutcome", "distributed_rank", "run_finetune"]

log = logging.getLogger(__name__)

#: Metrics a trial can produce (see docs/runner.md).
METRIC_NAMES = (
    "val_loss",
    "eval_runtime",
    "eval_samples_per_second",
    "perplexity",
    "train_loss",
    "train_runtime",
    "train_samples_per_second",
    "epoch",
    "mmlu_accuracy",
    "mmlu_runtime",
)


def distributed_rank() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


class _ListDataset:
    """A map-style dataset over pre-tokenized examples."""

    def __init__(self, examples: list[TokenizedExample]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> TokenizedExample:
        return self.examples[index]


def _integral_if_whole(value: float) -> Any:
    return int(value) if value.is_integer() else value


def _precision(config: TrainingConfig) -> dict[str, Any]:
    """bf16 (and tf32) when the GPU has them, as the seed did on A100s; fp32 on CPU.

    `name` is the precision actually used (what `auto` resolved to): part of the regime."""
    resolved = _resolve_precision(config)
    resolved["name"] = _precision_name(resolved)
    return resolved


def _precision_name(resolved: dict[str, Any]) -> str:
    import torch

    weights = "bf16" if resolved["dtype"] == torch.bfloat16 else "fp32"
    autocast = "bf16" if resolved["bf16"] else "fp16" if resolved["fp16"] else None
    if autocast is None:
        return weights
    return autocast if weights == autocast else f"{autocast}-mixed"


def _resolve_precision(config: TrainingConfig) -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        return {"dtype": torch.float32, "bf16": False, "fp16": False, "tf32": None}
    major, _ = torch.cuda.get_device_capability()
    tf32 = True if major >= 8 else None
    choice = config.precision
    if choice == "auto":
        # Native bf16 only (Ampere+): emulated bf16 on older GPUs is slower than fp16.
        choice = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
    if choice == "bf16":
        return {"dtype": torch.bfloat16, "bf16": True, "fp16": False, "tf32": tf32}
    if choice == "bf16-mixed":
        # The seed: fp32 weights, bf16 autocast (--bf16 True without a torch_dtype).
        return {"dtype": torch.float32, "bf16": True, "fp16": False, "tf32": tf32}
    if choice == "fp16":
        # fp16 weights cannot be trained with the GradScaler; keep them fp32, autocast fp16.
        return {"dtype": torch.float32, "bf16": False, "fp16": True, "tf32": tf32}
    return {"dtype": torch.float32, "bf16": False, "fp16": False, "tf32": tf32}


def _add_missing_special_tokens(tokenizer: Any, model: Any) -> None:
    """As the seed does: add pad (and eos/bos/unk) when missing, new embeddings = the mean."""
    missing: dict[str, str] = {}
    for attribute, default in (
        ("pad_token", "[PAD]"),
        ("eos_token", "</s>"),
        ("bos_token", "<s>"),
        ("unk_token", "<unk>"),
    ):
        if getattr(tokenizer, attribute) is None:
            missing[attribute] = default
    if not missing:
        return
    added = tokenizer.add_special_tokens(missing)
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    if added > 0:
        import torch

        with torch.no_grad():
            for embeddings in (model.get_input_embeddings(), model.get_output_embeddings()):
                if embeddings is None:
                    continue
                weight = embeddings.weight
                weight[-added:] = weight[:-added].mean(dim=0, keepdim=True)
    log.info("added special tokens %s to the tokenizer", sorted(missing))


def _quantization_arguments(config: TrainingConfig, precision: dict[str, Any]) -> dict[str, Any]:
    """from_pretrained arguments for QLoRA (`quantization: "nf4"`): 4-bit NormalFloat base
    weights with double quantisation, as the QLoRA paper trains, computing in the autocast
    precision (bf16 on Ampere GPUs, fp32 on CPU). A quantised model is not moved by the
    Trainer, so each process loads it onto its own device."""
    if config.quantization == "none":
        return {}
    import torch
    from transformers import BitsAndBytesConfig

    compute = torch.float32
    if precision["bf16"] or precision["fp16"]:
        compute = torch.bfloat16 if precision["bf16"] else torch.float16
    device: Any = "cpu"
    if torch.cuda.is_available():
        device = int(os.environ.get("LOCAL_RANK", "0"))
    return {
        "quantization_config": BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute,
        ),
        "device_map": {"": device},
    }


def _load(config: TrainingConfig, precision: dict[str, Any]) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer_source = config.tokenizer or config.model
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            tokenizer_source,
            model_max_length=config.max_length,
            padding_side="right",
            trust_remote_code=config.trust_remote_code,
        )
    except (OSError, ValueError) as exc:
        if missing_from_hub_cache(exc):
            raise MissingInputError(
                f"tokenizer {tokenizer_source!r} is neither in this runner's hub cache "
                "nor reachable"
            ) from exc
        raise TrialSetupError(f"cannot load tokenizer {tokenizer_source!r}: {exc}") from exc
    try:
        model = AutoModelForCausalLM.from_pretrained(
            config.model,
            dtype=precision["dtype"],
            trust_remote_code=config.trust_remote_code,
            **_quantization_arguments(config, precision),
        )
    except (OSError, ValueError) as exc:
        if missing_from_hub_cache(exc):
            raise MissingInputError(
                f"model {config.model!r} is neither in this runner's hub cache nor reachable"
            ) from exc
        raise TrialSetupError(f"cannot load model {config.model!r}: {exc}") from exc
    return tokenizer, model


def _make_callback(events: EventWriter, last_eval: dict[str, Any], rank: int) -> Any:
    from transformers import TrainerCallback

    # Fault injection for the distributed-failure tests (tests/test_failures.py): this rank
    # raises a (simulated) CUDA out-of-memory error at the end of step 1.
    oom_rank = os.environ.get("MESHTUNE_TEST_OOM_RANK")
    inject_oom = oom_rank is not None and oom_rank.strip() == str(rank)
    # ... and for the resume test: the process dies (as if killed) at the end of this step.
    exit_step = int(os.environ.get("MESHTUNE_TEST_EXIT_AT_STEP", "0"))

    class ProgressCallback(TrainerCallback):
        """Feeds the agent's heartbeats: progress, train loss and each evaluation's loss."""

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if exit_step and state.global_step == exit_step:
                os._exit(137)
            if inject_oom:
                import torch

                raise torch.OutOfMemoryError(
                    f"CUDA out of memory. Tried to allocate 20.00 GiB (simulated on rank {rank})"
                )
            if state.is_world_process_zero and state.max_steps:
                events.progress(
                    state.global_step / state.max_steps, state.global_step, state.max_steps
                )

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if state.is_world_process_zero and logs and "loss" in logs:
                events.metric("train_loss", state.global_step, float(logs["loss"]))
                if "learning_rate" in logs:
                    events.metric("learning_rate", state.global_step, float(logs["learning_rate"]))

        def on_evaluate(
            self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
        ) -> None:
            if metrics and "eval_loss" in metrics:
                last_eval.clear()
                last_eval.update(metrics)
                last_eval["step"] = state.global_step
                if state.is_world_process_zero:
                    events.metric("val_loss", state.global_step, float(metrics["eval_loss"]))

    return ProgressCallback()


def _on_any_rank(local: bool, world_size: int, device: Any) -> bool:
    """True on every rank when `local` is true on any rank: one all-reduce (MAX) of a flag under
    torchrun, so that all ranks take the same branch before the next collective (a gradient
    all-reduce or a checkpoint save); `local` itself on one process."""
    if world_size <= 1:
        return local
    import torch

    if not torch.distributed.is_initialized():
        return local
    flag = torch.tensor([1 if local else 0], dtype=torch.int32, device=device)
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return bool(flag.item())


class _StopOnRequest:
    """Ends training after the optimizer step during which the agent asked for it (the trial's
    `stop` file: the API stopped the trial early), on every rank at the same step.

    Checked at each optimizer step, so the child stops well within one evaluation interval
    and never trains to the end of the epoch. Under torchrun the ranks agree through one
    all-reduce of a flag per step (MAX): a rank that saw the file a moment before another
    must not leave the others waiting in the next step's gradient all-reduce."""

    def __init__(self, stop_file: Path | None, world_size: int, save_checkpoint: bool) -> None:
        self.stop_file = stop_file
        self.world_size = world_size
        self.save_checkpoint = save_checkpoint
        self.stopped_at: int | None = None

    def requested(self, device: Any) -> bool:
        local = self.stop_file is not None and self.stop_file.exists()
        return _on_any_rank(local, self.world_size, device)

    def callback(self) -> Any:
        from transformers import TrainerCallback

        owner = self

        class StopCallback(TrainerCallback):
            # Runs after transformers' DefaultFlowCallback (the Trainer puts its own callbacks
            # first), so these settings win over the evaluation or save it scheduled.
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                if owner.stopped_at is None and owner.requested(args.device):
                    owner.stopped_at = state.global_step
                    log.info("stop requested: training ends at step %d", state.global_step)
                if owner.stopped_at is not None:
                    control.should_training_stop = True
                    control.should_evaluate = False  # the API has decided; no more evaluations
                    # With checkpoints on, the state at the stop step is saved, so a resume of
                    # this trial continues from exactly there.
                    control.should_save = owner.save_checkpoint

            def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                if owner.stopped_at is not None:
                    control.should_evaluate = False
                    control.should_save = False

        return StopCallback()


class _CheckpointDiskFloor:
    """Skips a Trainer checkpoint save that would leave less than the runner's free-space floor
    (`--min-free-disk-mb`, passed in the trial spec) on the checkpoint folder's file system:
    a study's LoRA rank and `checkpointSteps` decide how much its checkpoints write, and they
    must not fill the disk the runner's state lives on. Training goes on; the newest earlier
    checkpoint (if any) stays the resume point, as `save_total_limit` removes an old one only
    after a new one is written. The first skip is logged; all are counted for the result.

    Under torchrun a save involves collectives, so every rank must skip the same saves. Rank 0
    decides and the ranks share its answer through one all-reduced flag (MAX), as
    `_StopOnRequest` does: free space is not a value the ranks would compute identically (it
    changes between their reads, and near the floor they would disagree). `should_save` itself
    is the same on every rank (the step count, or the all-reduced stop), so every rank enters
    the all-reduce on the same steps."""

    def __init__(
        self,
        checkpoint_dir: Path | None,
        min_free_bytes: int,
        rank: int,
        world_size: int,
        events: EventWriter | None = None,
    ) -> None:
        self.checkpoint_dir = checkpoint_dir
        self.min_free_bytes = min_free_bytes
        self.rank = rank
        self.world_size = world_size
        self.events = events
        self.skipped_steps: list[int] = []
        #: what the first checkpoint will write (set once the model exists; 0: unknown)
        self.first_save_estimate = 0

    def estimate_first_save(self, model: Any, tokenizer: Any) -> None:
        """The first save has no earlier checkpoint to measure: the adapter's files plus Adam's
        two moments per trainable weight (the optimizer state, as large again twice), plus the
        scheduler, RNG and trainer state (small: within the adapter's files allowance)."""
        if self.checkpoint_dir is None or self.min_free_bytes <= 0 or self.rank != 0:
            return
        adapter = adapter_bytes_estimate(model, tokenizer)
        trainable = sum(
            int(p.numel()) * int(p.element_size()) for p in model.parameters() if p.requires_grad
        )
        self.first_save_estimate = adapter + 2 * trainable

    def _free_after_save(self) -> int:
        """Free bytes on the checkpoint folder's file system once this save is written: a new
        checkpoint is as large as the newest earlier one (same shapes), which stays until then;
        the first one as large as `first_save_estimate`."""
        assert self.checkpoint_dir is not None
        existing = self.checkpoint_dir
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent  # the first save: the folder is not there yet
        free = shutil.disk_usage(existing).free
        newest = _last_checkpoint(self.checkpoint_dir)
        if newest is None:
            return free - self.first_save_estimate
        # (unreadable, e.g. being rotated: judged on the free space alone)
        with contextlib.suppress(OSError):
            free -= sum(f.stat().st_size for f in Path(newest).rglob("*") if f.is_file())
        return free

    def below_floor(self, device: Any) -> bool:
        local = self.rank == 0 and self._free_after_save() < self.min_free_bytes
        return _on_any_rank(local, self.world_size, device)

    def record(self, effective: dict[str, Any]) -> None:
        if self.skipped_steps:
            effective["checkpointSavesSkipped"] = len(self.skipped_steps)
            effective["checkpointSkippedFromStep"] = self.skipped_steps[0]

    def callback(self) -> Any:
        from transformers import TrainerCallback

        owner = self

        def check(args: Any, state: Any, control: Any) -> None:
            if not control.should_save or owner.checkpoint_dir is None or owner.min_free_bytes <= 0:
                return
            if not owner.below_floor(args.device):
                return
            control.should_save = False
            owner.skipped_steps.append(state.global_step)
            if owner.rank == 0 and owner.events is not None:
                # The agent tells the API when this trial fails or is given back: an attempt
                # that resumes it starts from the resume point, not from this step.
                resume = _last_checkpoint(owner.checkpoint_dir)
                owner.events.checkpoint_skipped(
                    state.global_step, int(resume.rsplit("-", 1)[-1]) if resume else None
                )
            if len(owner.skipped_steps) == 1 and owner.rank == 0:
                log.warning(
                    "checkpoint of step %d skipped: it would leave less than this runner's "
                    "floor of %d MiB free on %s (--min-free-disk-mb); training goes on, "
                    "later saves are skipped while the disk stays under the floor",
                    state.global_step,
                    owner.min_free_bytes // 2**20,
                    owner.checkpoint_dir,
                )

        class DiskFloorCallback(TrainerCallback):
            # Listed after StopCallback, so it also judges the save that one asks for.
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                check(args, state, control)

            def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                check(args, state, control)

            def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                if owner.skipped_steps and owner.rank == 0 and owner.events is not None:
                    owner.events.checkpoint_saved(state.global_step)

        return DiskFloorCallback()


def _save_adapter_under_floor(
    model: Any, tokenizer: Any, adapter_dir: Path, min_free_bytes: int
) -> tuple[str | None, str | None]:
    """Saves the trained adapter into the trial's folder unless that would leave less than the
    runner's floor free (`--min-free-disk-mb`) on its file system, or the save fails (disk
    full, I/O error): then no adapter, and a reason for the result; never a lost result.
    Returns (the adapter's folder, None) or (None, why it was not kept)."""
    if min_free_bytes > 0:
        needed = adapter_bytes_estimate(model, tokenizer)
        existing = adapter_dir
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        left = shutil.disk_usage(existing).free - needed
        if left < min_free_bytes:
            reason = (
                f"not saved: its {needed / 2**20:.1f} MiB would leave "
                f"{max(left, 0) / 2**20:.0f} MiB free, under this runner's floor of "
                f"{min_free_bytes / 2**20:.0f} MiB (--min-free-disk-mb)"
            )
            log.warning("adapter %s", reason)
            return None, reason
    try:
        save_adapter(model, tokenizer, adapter_dir)
    except OSError as exc:
        shutil.rmtree(adapter_dir, ignore_errors=True)  # a partial adapter is no adapter
        reason = f"not saved: {type(exc).__name__}: {exc}"[:500]
        log.error("adapter %s", reason)
        return None, reason
    return str(adapter_dir), None


@dataclass
class FinetuneOutcome:
    metrics: dict[str, float]
    effective_config: dict[str, Any] = field(default_factory=dict)
    adapter_dir: str | None = None
    #: the optimizer step at which the agent's stop request ended training (None: ran to the end)
    stopped_at_step: int | None = None


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version(), "meshtune-runner": __version__}
    for package in ("torch", "transformers", "peft", "accelerate", "bitsandbytes"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            if package != "bitsandbytes":  # optional: only QLoRA studies need it
                versions[package] = "?"
    return versions


def effective_configuration(
    config: TrainingConfig, layout: BatchLayout, precision: dict[str, Any]
) -> dict[str, Any]:
    """What this trial actually ran with; `regimeHash` is equal for every runner that trains
    the study's regime (docs/runner.md, "One training regime per study")."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "regimeHash": regime_hash(config, precision["name"], layout),
        "globalBatchSize": layout.global_batch_size,
        "perDeviceTrainBatchSize": layout.per_device_train_batch_size,
        "gradientAccumulationSteps": layout.gradient_accumulation_steps,
        "processes": layout.world_size,
        "gpuCount": layout.world_size if cuda else 0,
        "gpuType": torch.cuda.get_device_name(0) if cuda else None,
        "precision": precision["name"],
        "tf32": bool(precision["tf32"]),
        "quantization": config.quantization,
        "gradientCheckpointing": config.gradient_checkpointing,
        "valLoss": "global token mean",
        "libraries": _library_versions(),
    }


def _probe_longest_batch(trainer: Any, examples: list[TokenizedExample], batch_size: int) -> None:
    """One forward and backward pass of the longest examples before step 1, so that a
    configuration that does not fit fails in seconds rather than hours in. It changes
    nothing: gradients are dropped and the random state is restored."""
    import torch

    longest = sorted(examples, key=lambda e: len(e["input_ids"]), reverse=True)[:batch_size]
    batch = trainer.data_collator(longest)
    model = trainer.model
    device = next(model.parameters()).device
    devices = [device] if device.type == "cuda" else []
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with torch.random.fork_rng(devices=devices):
        with trainer.accelerator.autocast():
            loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
        loss.backward()
    model.zero_grad(set_to_none=True)
    peak = (
        f", peak {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB"
        if device.type == "cuda"
        else ""
    )
    log.info(
        "memory probe: forward+backward of %d x %d tokens fits%s",
        len(longest),
        batch["input_ids"].shape[1],
        peak,
    )


def _last_checkpoint(directory: Path | None) -> str | None:
    """The newest complete Trainer checkpoint (`checkpoint-<step>`) a previous attempt left.
    Trainer writes trainer_state.json last, so a checkpoint cut short by a kill has none."""
    if directory is None or not directory.is_dir():
        return None
    complete = [
        (int(path.name.removeprefix("checkpoint-")), path)
        for path in directory.glob("checkpoint-*")
        if path.name.removeprefix("checkpoint-").isdigit()
        and (path / "trainer_state.json").is_file()
    ]
    return str(max(complete)[1]) if complete else None


def run_finetune(
    config: TrainingConfig,
    hyper: Hyperparameters,
    output_dir: Path,
    events: EventWriter,
    adapter_dir: Path | None = None,
    checkpoint_dir: Path | None = None,
    stop_file: Path | None = None,
    min_free_disk_bytes: int = 0,
) -> FinetuneOutcome:
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import TrainingArguments, set_seed

    rank, world_size = distributed_rank()
    layout = batch_layout(config, world_size, hyper.training)
    set_seed(config.seed)
    precision = _precision(config)
    train_records = load_records(Path(config.train_data), config.max_train_samples)
    eval_records = (
        load_records(Path(config.eval_data), config.max_eval_samples) if config.eval_data else None
    )
    mmlu = load_mmlu(Path(config.mmlu_data), config.max_mmlu_samples) if config.mmlu_data else None

    tokenizer, model = _load(config, precision)
    _add_missing_special_tokens(tokenizer, model)
    if config.quantization != "none":
        from peft import prepare_model_for_kbit_training

        # Freezes the quantised base, casts norms (and the head) to fp32 for stable training,
        # and enables input gradients; checkpointing stays the runner's choice as for LoRA.
        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model, use_gradient_checkpointing=config.gradient_checkpointing
        )
        quantised = sum(type(module).__name__ == "Linear4bit" for module in model.modules())
        log.info("QLoRA: %d Linear4bit layers (nf4, double quantisation)", quantised)
    elif config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    lora = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        inference_mode=False,
        r=hyper.r,
        # The seed passes an int; a real-valued alpha works the same (scaling = alpha / r).
        lora_alpha=_integral_if_whole(hyper.lora_alpha),
        lora_dropout=hyper.lora_dropout,
        target_modules=hyper.target_modules or config.lora_target_modules,
    )
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:
        raise TrialSetupError(f"LoRA does not fit this model: {exc}") from exc
    if rank == 0:
        trainable, total = model.get_nb_trainable_parameters()
        log.info("LoRA %s: %d trainable of %d parameters", hyper.describe(), trainable, total)

    train_set = _ListDataset(tokenize_records(train_records, tokenizer, config.max_length, "train"))
    eval_set = (
        _ListDataset(tokenize_records(eval_records, tokenizer, config.max_length, "eval"))
        if eval_records
        else None
    )
    eval_strategy = "no" if eval_set is None else "steps" if config.eval_steps else "epoch"
    arguments = build_training_arguments(
        config,
        hyper,
        layout,
        precision,
        output_dir,
        use_cpu=not torch.cuda.is_available(),
        eval_strategy=eval_strategy,
        checkpoint_dir=checkpoint_dir if config.checkpoint_steps else None,
    )
    try:
        args = TrainingArguments(**arguments)
    except (TypeError, ValueError) as exc:
        raise TrialSetupError(f"invalid training arguments: {exc}") from exc

    last_eval: dict[str, Any] = {}
    collator = SupervisedCollator(tokenizer.pad_token_id)
    trainer_class = make_token_mean_trainer(collator, rank, world_size)
    stop = _StopOnRequest(
        stop_file, world_size, save_checkpoint=bool(checkpoint_dir and config.checkpoint_steps)
    )
    disk_floor = _CheckpointDiskFloor(
        checkpoint_dir if config.checkpoint_steps else None,
        min_free_disk_bytes,
        rank,
        world_size,
        events,
    )
    disk_floor.estimate_first_save(model, tokenizer)
    trainer = trainer_class(
        model=model,
        args=args,
        data_collator=collator,
        train_dataset=train_set,
        eval_dataset=eval_set,
        processing_class=tokenizer,
        callbacks=[_make_callback(events, last_eval, rank), stop.callback(), disk_floor.callback()],
    )
    if config.memory_probe:
        _probe_longest_batch(trainer, train_set.examples, layout.per_device_train_batch_size)
    resume = _last_checkpoint(checkpoint_dir) if config.checkpoint_steps else None
    if resume is not None:
        log.info("resuming from %s", resume)
    train_output = trainer.train(resume_from_checkpoint=resume)
    metrics: dict[str, float] = {
        "train_loss": float(train_output.metrics.get("train_loss", train_output.training_loss)),
        "train_runtime": float(train_output.metrics.get("train_runtime", math.nan)),
        "train_samples_per_second": float(
            train_output.metrics.get("train_samples_per_second", math.nan)
        ),
        "epoch": float(train_output.metrics.get("epoch", trainer.state.epoch or 0.0)),
    }
    if stop.stopped_at is not None:
        outcome = _stopped_outcome(
            config,
            layout,
            precision,
            trainer,
            tokenizer,
            events,
            last_eval,
            metrics,
            adapter_dir if rank == 0 else None,
            stop.stopped_at,
            resume,
            min_free_disk_bytes,
        )
        disk_floor.record(outcome.effective_config)
        return outcome
    if eval_set is not None:
        final = last_eval
        if final.get("step") != trainer.state.global_step:
            final = trainer.evaluate()
        metrics["val_loss"] = float(final["eval_loss"])
        metrics["eval_runtime"] = float(final.get("eval_runtime", math.nan))
        metrics["eval_samples_per_second"] = float(final.get("eval_samples_per_second", math.nan))
        loss = metrics["val_loss"]
        metrics["perplexity"] = math.exp(loss) if math.isfinite(loss) and loss < 700 else math.inf
    events.progress(1.0, trainer.state.global_step, trainer.state.max_steps, force=True)

    saved, not_saved = None, None
    if adapter_dir is not None and config.save_adapter and rank == 0:
        saved, not_saved = _save_adapter_under_floor(
            trainer.model, tokenizer, adapter_dir, min_free_disk_bytes
        )

    if mmlu is not None:
        started = time.perf_counter()
        tokenizer.padding_side = "left"
        correct, total = score_mmlu(
            trainer.model,
            tokenizer,
            mmlu,
            config.per_device_eval_batch_size,
            config.max_length,
            rank,
            world_size,
        )
        if world_size > 1 and torch.distributed.is_initialized():
            counts = torch.tensor([correct, total], dtype=torch.long, device=args.device)
            torch.distributed.all_reduce(counts)
            correct, total = int(counts[0].item()), int(counts[1].item())
        metrics["mmlu_accuracy"] = correct / total
        metrics["mmlu_runtime"] = time.perf_counter() - started
    effective = effective_configuration(config, layout, precision)
    effective["optimizerSteps"] = trainer.state.global_step
    if resume is not None:
        effective["resumedFromStep"] = int(resume.rsplit("-", 1)[-1])
    disk_floor.record(effective)
    if not_saved:
        effective["adapterNotKept"] = not_saved
    return FinetuneOutcome(metrics, effective, saved)


def _stopped_outcome(
    config: TrainingConfig,
    layout: BatchLayout,
    precision: dict[str, Any],
    trainer: Any,
    tokenizer: Any,
    events: EventWriter,
    last_eval: dict[str, Any],
    metrics: dict[str, float],
    adapter_dir: Path | None,
    stopped_at: int,
    resume: str | None,
    min_free_disk_bytes: int,
) -> FinetuneOutcome:
    """A trial the API stopped early: no final evaluation, no MMLU (nobody will read them);
    the adapter as trained so far is saved (rank 0), so that a later resume of the same
    point can start from it. The last evaluation's loss goes with it, labelled as such."""
    if last_eval.get("eval_loss") is not None:
        metrics["last_val_loss"] = float(last_eval["eval_loss"])
        metrics["last_val_loss_step"] = float(last_eval.get("step", 0))
    events.progress(
        trainer.state.global_step / max(1, trainer.state.max_steps),
        trainer.state.global_step,
        trainer.state.max_steps,
        force=True,
    )
    saved, not_saved = None, None
    if adapter_dir is not None and config.save_adapter:
        saved, not_saved = _save_adapter_under_floor(
            trainer.model, tokenizer, adapter_dir, min_free_disk_bytes
        )
    effective = effective_configuration(config, layout, precision)
    if not_saved:
        effective["adapterNotKept"] = not_saved
    effective["optimizerSteps"] = trainer.state.global_step
    effective["plannedSteps"] = trainer.state.max_steps
    effective["stoppedAtStep"] = stopped_at
    if resume is not None:
        effective["resumedFromStep"] = int(resume.rsplit("-", 1)[-1])
    return FinetuneOutcome(metrics, effective, saved, stopped_at_step=stopped_at)
