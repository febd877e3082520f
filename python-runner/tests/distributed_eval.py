"""Run under torchrun by tests/test_evaluation.py: the token-mean validation loss of the
same weights computed on WORLD_SIZE gloo ranks. Usage: distributed_eval.py MODEL ADAPTER|-
EVAL_JSON BATCH OUT_JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from meshtune_runner.training.data import SupervisedCollator, load_records, tokenize_records
from meshtune_runner.training.evaluation import token_loss_sums
from meshtune_runner.training.finetune import _add_missing_special_tokens


def main() -> None:
    model_dir, adapter, eval_json, batch, out = sys.argv[1:6]
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    torch.distributed.init_process_group("gloo")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if adapter == "-":
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        _add_missing_special_tokens(tokenizer, model)
    else:
        from meshtune_runner.training.adapters import load_adapter

        model = load_adapter(Path(adapter), model_dir)
        tokenizer = AutoTokenizer.from_pretrained(adapter)
    examples = tokenize_records(load_records(Path(eval_json)), tokenizer, 128, "eval")
    sums = token_loss_sums(
        model, examples, SupervisedCollator(tokenizer.pad_token_id), int(batch), rank, world
    )
    if rank == 0:
        Path(out).write_text(json.dumps({"mean": sums.mean, "tokens": sums.tokens}))
    torch.distributed.barrier()  # no rank tears the group down while another still uses it
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
