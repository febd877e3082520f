"""Instruction data: load JSON/JSONL records, tokenize with prompt tokens masked, collate."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TrialSetupError
from .prompts import InstructionRecord, format_prompt, normalise_record

if TYPE_CHECKING:
    import torch

__all__ = [
    "IGNORE_INDEX",
    "SupervisedCollator",
    "TokenizedExample",
    "load_records",
    "read_json_records",
    "tokenize_records",
]

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
TokenizedExample = dict[str, list[int]]


def read_json_records(path: Path) -> list[dict[str, Any]]:
    """A JSON array of objects, or JSON Lines (one object a line)."""
    if not path.is_file():
        raise TrialSetupError(f"data file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        # Its message names a byte of the file; the reason goes back to the API.
        raise TrialSetupError(f"{path}: not UTF-8 text") from None
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            loaded = json.loads(text)
        else:
            loaded = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise TrialSetupError(f"{path}: not JSON or JSON Lines ({exc})") from exc
    if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
        raise TrialSetupError(f"{path}: expected a list of JSON objects")
    return loaded


def load_records(path: Path, limit: int | None = None) -> list[InstructionRecord]:
    raw = read_json_records(path)
    if limit is not None:
        raw = raw[:limit]
    try:
        records = [normalise_record(r, f"{path} record {i}") for i, r in enumerate(raw)]
    except ValueError as exc:
        raise TrialSetupError(str(exc)) from exc
    if not records:
        raise TrialSetupError(f"{path}: no records")
    return records


def tokenize_records(
    records: Sequence[InstructionRecord], tokenizer: Any, max_length: int, what: str
) -> list[TokenizedExample]:
    """Prompt tokens get label -100 so the loss covers only the response and EOS.

    As in the seed, prompt and prompt+response are tokenized whole (the prompt with the
    tokenizer's BOS), and the first len(prompt) labels of the full sequence are masked.
    """
    eos = tokenizer.eos_token or ""
    examples: list[TokenizedExample] = []
    dropped = 0
    for record in records:
        prompt = format_prompt(record)
        full = f"{prompt}{record['response']}{eos}"
        full_ids: list[int] = tokenizer(full, truncation=True, max_length=max_length)["input_ids"]
        prompt_len = len(tokenizer(prompt, truncation=True, max_length=max_length)["input_ids"])
        labels = [IGNORE_INDEX] * min(prompt_len, len(full_ids)) + full_ids[prompt_len:]
        if all(label == IGNORE_INDEX for label in labels):
            dropped += 1  # the prompt alone fills maxLength: nothing to learn from it
            continue
        examples.append({"input_ids": full_ids, "labels": labels})
    if dropped:
        log.warning(
            "%s: %d of %d records dropped (prompt longer than maxLength=%d)",
            what,
            dropped,
            len(records),
            max_length,
        )
    if not examples:
        raise TrialSetupError(
            f"{what}: every record is longer than maxLength={max_length} before its response"
        )
    return examples


class SupervisedCollator:
    """Right-pads a batch: input ids with the pad token, labels with -100."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: Sequence[TokenizedExample]) -> dict[str, torch.Tensor]:
        import torch

        width = max(len(example["input_ids"]) for example in batch)
        input_ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, example in enumerate(batch):
            n = len(example["input_ids"])
            input_ids[row, :n] = torch.tensor(example["input_ids"], dtype=torch.long)
            labels[row, :n] = torch.tensor(example["labels"], dtype=torch.long)
            attention_mask[row, :n] = 1
        return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}
