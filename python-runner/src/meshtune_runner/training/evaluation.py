"""val_loss as the global token mean: sum of the token losses / number of loss tokens.

transformers' `Trainer.evaluate` averages per-batch means (each batch's mean token loss,
weighted by its number of examples), so its `eval_loss` depends on how the validation set is
grouped into batches and split over GPUs. Here every rank sums the cross-entropy of its share
of the loss tokens (labels != -100, next-token shift as in the model's own loss) in float64,
and the sums and counts are all-reduced: the value is the same for any evaluation batch size
and any number of GPUs, up to float rounding (docs/runner.md, "Metrics and outputs").
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from .data import IGNORE_INDEX, SupervisedCollator, TokenizedExample

__all__ = ["TokenLoss", "make_token_mean_trainer", "token_loss_sums"]


class TokenLoss:
    """Running sums of one evaluation (float64, so that adding millions of tokens is exact
    enough for 1e-6 agreement between groupings)."""

    def __init__(self, total: float = 0.0, tokens: int = 0, examples: int = 0) -> None:
        self.total = total
        self.tokens = tokens
        self.examples = examples

    @property
    def mean(self) -> float:
        return self.total / self.tokens if self.tokens else float("nan")


def token_loss_sums(
    model: Any,
    examples: Sequence[TokenizedExample],
    collator: SupervisedCollator,
    batch_size: int,
    rank: int = 0,
    world_size: int = 1,
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
) -> TokenLoss:
    """This rank's share (every world_size-th example), then summed over ranks when
    torch.distributed is initialised."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - the usual name

    device = next(model.parameters()).device
    mine = list(examples[rank::world_size])
    # Longest first: less padding, and the largest batch comes first (fails early if too big).
    mine.sort(key=lambda example: len(example["input_ids"]), reverse=True)
    total = torch.zeros((), dtype=torch.float64, device=device)
    tokens = torch.zeros((), dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(mine), batch_size):
                batch = collator(mine[start : start + batch_size])
                with autocast():
                    logits = model(
                        input_ids=batch["input_ids"].to(device),
                        attention_mask=batch["attention_mask"].to(device),
                    ).logits
                labels = batch["labels"].to(device)[:, 1:]
                losses = F.cross_entropy(
                    logits[:, :-1, :].float().reshape(-1, logits.shape[-1]),
                    labels.reshape(-1),
                    ignore_index=IGNORE_INDEX,
                    reduction="none",
                )
                total += losses.double().sum()
                tokens += (labels != IGNORE_INDEX).sum().double()
    finally:
        model.train(was_training)
    sums = torch.stack([total, tokens, torch.tensor(len(mine), dtype=torch.float64, device=device)])
    if world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(sums)
    return TokenLoss(float(sums[0].item()), int(sums[1].item()), int(sums[2].item()))


def make_token_mean_trainer(collator: SupervisedCollator, rank: int, world_size: int) -> type:
    """A Trainer whose evaluate() reports the global token mean as `eval_loss` (the callbacks,
    logs and evaluation schedule stay transformers')."""
    from transformers import Trainer

    class TokenMeanTrainer(Trainer):
        def evaluate(
            self,
            eval_dataset: Any = None,
            ignore_keys: Any = None,
            metric_key_prefix: str = "eval",
        ) -> dict[str, float]:
            dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
            examples = getattr(dataset, "examples", None)
            if examples is None:
                raise TypeError("evaluation needs the runner's pre-tokenized dataset")
            started = time.time()
            sums = token_loss_sums(
                self.model,
                examples,
                collator,
                self.args.per_device_eval_batch_size,
                rank,
                world_size,
                autocast=self.accelerator.autocast,
            )
            runtime = time.time() - started
            metrics = {
                f"{metric_key_prefix}_loss": sums.mean,
                f"{metric_key_prefix}_tokens": float(sums.tokens),
                f"{metric_key_prefix}_runtime": runtime,
                f"{metric_key_prefix}_samples_per_second": sums.examples / runtime
                if runtime > 0
                else float("nan"),
            }
            if self.state.epoch is not None:
                metrics["epoch"] = self.state.epoch
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(
                self.args, self.state, self.control, metrics
            )
            return metrics

    return TokenMeanTrainer
