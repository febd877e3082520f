"""val_loss is the global token mean: the same for any evaluation batch and any rank count."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from meshtune_runner.demo_assets import DemoAssets
from meshtune_runner.training.data import (
    IGNORE_INDEX,
    SupervisedCollator,
    TokenizedExample,
    load_records,
    tokenize_records,
)
from meshtune_runner.training.evaluation import token_loss_sums

pytestmark = pytest.mark.training

HERE = Path(__file__).parent


def _model_and_examples(assets: DemoAssets) -> tuple[Any, SupervisedCollator, list[Any]]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from meshtune_runner.training.finetune import _add_missing_special_tokens

    tokenizer = AutoTokenizer.from_pretrained(str(assets.model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(assets.model_dir))
    _add_missing_special_tokens(tokenizer, model)
    examples = tokenize_records(load_records(assets.eval_data), tokenizer, 128, "eval")
    return model, SupervisedCollator(tokenizer.pad_token_id), examples


def _trainer_style_mean(
    model: Any, collator: SupervisedCollator, examples: list[TokenizedExample], batch: int
) -> float:
    """What Trainer.evaluate reported before: per-batch mean losses, weighted by examples."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch):
            chunk = examples[start : start + batch]
            loss = model(**collator(chunk)).loss
            total += float(loss) * len(chunk)
            count += len(chunk)
    return total / count


def test_val_loss_does_not_depend_on_the_eval_batch(demo_assets: DemoAssets) -> None:
    model, collator, examples = _model_and_examples(demo_assets)
    by_batch = {b: token_loss_sums(model, examples, collator, b) for b in (1, 16)}
    difference = abs(by_batch[1].mean - by_batch[16].mean)
    print(
        f"token mean: batch 1 {by_batch[1].mean:.8f}, batch 16 {by_batch[16].mean:.8f}, "
        f"difference {difference:.1e}"
    )
    assert difference < 1e-6
    assert (
        by_batch[1].tokens
        == by_batch[16].tokens
        == sum(sum(1 for label in e["labels"][1:] if label != IGNORE_INDEX) for e in examples)
    )
    # The definition: every loss token counts once, whatever its example's length.
    old = {b: _trainer_style_mean(model, collator, examples, b) for b in (1, 16)}
    print(f"Trainer-style mean of batch means: batch 1 {old[1]:.8f}, batch 16 {old[16]:.8f}")
    assert abs(old[1] - old[16]) > 1e-4  # the grouping effect this replaces


def test_val_loss_is_the_same_on_two_ranks(demo_assets: DemoAssets, tmp_path: Path) -> None:
    model, collator, examples = _model_and_examples(demo_assets)
    one_rank = token_loss_sums(model, examples, collator, 4)
    out = tmp_path / "two-ranks.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(HERE / "distributed_eval.py"),
            str(demo_assets.model_dir),
            "-",
            str(demo_assets.eval_data),
            "3",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    two_ranks = json.loads(out.read_text())
    print(f"1 rank {one_rank.mean:.8f}, 2 ranks {two_ranks['mean']:.8f}")
    assert two_ranks["tokens"] == one_rank.tokens
    assert abs(two_ranks["mean"] - one_rank.mean) < 1e-6
