"""One trial: LoRA fine-tuning with transformers' Trainer + PEFT, then the metrics.

Imported only in the training child (it imports torch, transformers and peft). Runs the
same under `torchrun` (one process per GPU; rank 0 writes events and the result).
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from ..errors import TrialSetupError
from ..hyperparameters import Hyperparameters
from ..training_config import TrainingConfig
from ..trial_files import EventWriter
from .data import SupervisedCollator, TokenizedExample, load_records, tokenize_records
from .mmlu import load_mmlu, score_mmlu

__all__ = ["METRIC_NAMES", "distributed_rank", "run_finetune"]

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
    """bf16 (and tf32) when the GPU has them, as the seed did on A100s; fp32 on CPU."""
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


def _load(config: TrainingConfig, dtype: Any) -> tuple[Any, Any]:
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
        raise TrialSetupError(f"cannot load tokenizer {tokenizer_source!r}: {exc}") from exc
    try:
        model = AutoModelForCausalLM.from_pretrained(
            config.model, dtype=dtype, trust_remote_code=config.trust_remote_code
        )
    except (OSError, ValueError) as exc:
        raise TrialSetupError(f"cannot load model {config.model!r}: {exc}") from exc
    return tokenizer, model


def _make_callback(events: EventWriter, last_eval: dict[str, Any]) -> Any:
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        """Feeds the agent's heartbeats: progress, train loss and each evaluation's loss."""

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero and state.max_steps:
                events.progress(
                    state.global_step / state.max_steps, state.global_step, state.max_steps
                )

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if state.is_world_process_zero and logs and "loss" in logs:
                events.metric("train_loss", state.global_step, float(logs["loss"]))

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


def run_finetune(
    config: TrainingConfig, hyper: Hyperparameters, output_dir: Path, events: EventWriter
) -> dict[str, float]:
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import Trainer, TrainingArguments, set_seed

    rank, world_size = distributed_rank()
    set_seed(config.seed)
    precision = _precision(config)
    train_records = load_records(Path(config.train_data), config.max_train_samples)
    eval_records = (
        load_records(Path(config.eval_data), config.max_eval_samples) if config.eval_data else None
    )
    mmlu = load_mmlu(Path(config.mmlu_data), config.max_mmlu_samples) if config.mmlu_data else None

    tokenizer, model = _load(config, precision["dtype"])
    _add_missing_special_tokens(tokenizer, model)
    if config.gradient_checkpointing:
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
    arguments: dict[str, Any] = {
        "output_dir": str(output_dir),
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps or -1,
        "per_device_train_batch_size": config.per_device_train_batch_size,
        "per_device_eval_batch_size": config.per_device_eval_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay,
        "warmup_steps": config.warmup_ratio,  # a float < 1 is a ratio of the total steps
        "lr_scheduler_type": config.lr_scheduler_type,
        "optim": config.optim,
        "logging_steps": config.logging_steps,
        "eval_strategy": eval_strategy,
        "eval_steps": config.eval_steps,
        "save_strategy": "no",
        "report_to": "none",
        "seed": config.seed,
        "bf16": precision["bf16"],
        "fp16": precision["fp16"],
        "tf32": precision["tf32"],
        "use_cpu": not torch.cuda.is_available(),
        "disable_tqdm": True,
        "remove_unused_columns": False,
        "ddp_find_unused_parameters": False if world_size > 1 else None,
    }
    arguments.update(config.training_arguments)
    arguments.update(hyper.training)
    try:
        args = TrainingArguments(**arguments)
    except (TypeError, ValueError) as exc:
        raise TrialSetupError(f"invalid training arguments: {exc}") from exc

    last_eval: dict[str, Any] = {}
    trainer = Trainer(
        model=model,
        args=args,
        data_collator=SupervisedCollator(tokenizer.pad_token_id),
        train_dataset=train_set,
        eval_dataset=eval_set,
        processing_class=tokenizer,
        callbacks=[_make_callback(events, last_eval)],
    )
    train_output = trainer.train()
    metrics: dict[str, float] = {
        "train_loss": float(train_output.metrics.get("train_loss", train_output.training_loss)),
        "train_runtime": float(train_output.metrics.get("train_runtime", math.nan)),
        "train_samples_per_second": float(
            train_output.metrics.get("train_samples_per_second", math.nan)
        ),
        "epoch": float(train_output.metrics.get("epoch", trainer.state.epoch or 0.0)),
    }
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
    return metrics
