"""Alpaca-style prompts, exactly as the NOMAD team's training script formats them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "PROMPT_WITHOUT_CONTEXT",
    "PROMPT_WITH_CONTEXT",
    "InstructionRecord",
    "format_prompt",
    "normalise_record",
]

PROMPT_WITH_CONTEXT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n#### Context:\n{context}\n\n### Response:"
)
PROMPT_WITHOUT_CONTEXT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)

InstructionRecord = dict[str, str]


def normalise_record(raw: Mapping[str, Any], where: str) -> InstructionRecord:
    """Accept {instruction, context, response}; Alpaca's {input, output} names are aliases."""
    instruction = raw.get("instruction")
    context = raw.get("context", raw.get("input", ""))
    response = raw.get("response", raw.get("output"))
    if not isinstance(instruction, str) or not isinstance(response, str):
        raise ValueError(f"{where}: a record needs string 'instruction' and 'response' fields")
    return {
        "instruction": instruction,
        "context": context if isinstance(context, str) else "",
        "response": response,
    }


def format_prompt(record: Mapping[str, str]) -> str:
    """The prompt part (the model is trained on what follows it: the response and EOS)."""
    if record.get("context", "") != "":
        return PROMPT_WITH_CONTEXT.format(
            instruction=record["instruction"], context=record["context"]
        )
    return PROMPT_WITHOUT_CONTEXT.format(instruction=record["instruction"])
