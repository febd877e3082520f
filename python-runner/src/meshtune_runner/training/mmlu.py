"""Multiple-choice accuracy on an MMLU-format dataset, scored by the answer letter's likelihood.

Accepted inputs: MMLU's CSV files (`question,A,B,C,D,answer`, no header, as in the original
`data/test/*.csv`), a folder of them, or JSON/JSONL records `{question, choices: [...],
answer: index | letter, subject?}`. Zero-shot prompt in the style of the MMLU paper; the
prediction is the letter whose token gets the highest next-token logit after "Answer:".

A quick proxy, cheap enough to run after every trial: it is neither the standard 5-shot MMLU
nor comparable with published MMLU numbers (docs/runner.md).
"""

from __future__ import annotations

import csv
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TrialSetupError
from .data import read_json_records

__all__ = [
    "MmluQuestion",
    "encode_mmlu_prompt",
    "format_mmlu_prompt",
    "load_mmlu",
    "score_mmlu",
]

LETTERS = string.ascii_uppercase


@dataclass(frozen=True)
class MmluQuestion:
    question: str
    choices: tuple[str, ...]
    answer: int
    subject: str = ""


def _answer_index(raw: Any, n_choices: int, where: str) -> int:
    # The messages never quote the cell: a failure reason goes back to the API, and the file
    # may be one the study's author could not otherwise read (docs/runner.md, "What a study
    # may ask of a runner").
    bad = f"{where}: the answer is not a choice letter (A-{LETTERS[n_choices - 1]}) or index"
    if isinstance(raw, bool):
        raise TrialSetupError(bad)
    if isinstance(raw, int):
        index = raw
    elif isinstance(raw, str) and raw.strip().upper() in LETTERS[:n_choices]:
        index = LETTERS.index(raw.strip().upper())
    elif isinstance(raw, str) and raw.strip().isdigit():
        index = int(raw.strip())
    else:
        raise TrialSetupError(bad)
    if not 0 <= index < n_choices:
        raise TrialSetupError(f"{where}: the answer index is out of range (0-{n_choices - 1})")
    return index


def _from_csv(path: Path) -> list[MmluQuestion]:
    subject = path.stem.removesuffix("_test").removesuffix("_val").removesuffix("_dev")
    questions = []
    try:
        rows = _csv_rows(path)
    except (UnicodeDecodeError, csv.Error) as exc:
        # Neither quotes the file (csv.Error names the rule broken, the decode error would
        # name a byte): a reason naming the file and the rule is enough.
        what = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "not CSV"
        raise TrialSetupError(f"{path}: {what}") from None
    for i, row in enumerate(rows):
        if i == 0 and [c.strip().lower() for c in row[:2]] == ["question", "a"]:
            continue
        if len(row) < 4:
            raise TrialSetupError(f"{path}:{i + 1}: expected question, choices..., answer")
        choices = tuple(row[1:-1])
        where = f"{path}:{i + 1}"
        questions.append(
            MmluQuestion(row[0], choices, _answer_index(row[-1], len(choices), where), subject)
        )
    return questions


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _from_json(path: Path) -> list[MmluQuestion]:
    questions = []
    for i, record in enumerate(read_json_records(path)):
        where = f"{path} record {i}"
        choices = record.get("choices")
        if choices is None:
            choices = [record[k] for k in LETTERS[:26] if k in record]
        if (
            not isinstance(record.get("question"), str)
            or not isinstance(choices, list)
            or len(choices) < 2
        ):
            raise TrialSetupError(f"{where}: needs 'question' and 'choices' (or A, B, C, D)")
        questions.append(
            MmluQuestion(
                record["question"],
                tuple(str(c) for c in choices),
                _answer_index(record.get("answer"), len(choices), where),
                str(record.get("subject", "")),
            )
        )
    return questions


def load_mmlu(path: Path, limit: int | None = None) -> list[MmluQuestion]:
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise TrialSetupError(f"MMLU folder {path} holds no .csv files")
        questions = [q for f in files for q in _from_csv(f)]
    elif not path.is_file():
        raise TrialSetupError(f"MMLU data not found: {path}")
    elif path.suffix.lower() == ".csv":
        questions = _from_csv(path)
    else:
        questions = _from_json(path)
    if not questions:
        raise TrialSetupError(f"{path}: no MMLU questions")
    return questions[:limit] if limit is not None else questions


def _prompt_parts(question: MmluQuestion) -> tuple[str, str, str]:
    """(header, passage, tail): the tail is the lettered choices and "Answer:"."""
    topic = f" about {question.subject.replace('_', ' ')}" if question.subject else ""
    header = f"The following are multiple choice questions (with answers){topic}.\n\n"
    choices = [f"{LETTERS[i]}. {choice}" for i, choice in enumerate(question.choices)]
    tail = "\n" + "\n".join([*choices, "Answer:"])
    return header, question.question.strip(), tail


def format_mmlu_prompt(question: MmluQuestion) -> str:
    return "".join(_prompt_parts(question))


def encode_mmlu_prompt(tokenizer: Any, question: MmluQuestion, max_length: int) -> list[int]:
    """The prompt's token ids, at most `max_length`. A prompt that is too long loses the
    start of its passage (the question text), never the choices or "Answer:" after which
    the letter is read; when the choices alone are too long, only their end is kept."""
    full: list[int] = tokenizer(format_mmlu_prompt(question))["input_ids"]
    if len(full) <= max_length:
        return full
    header, passage, tail = _prompt_parts(question)
    head_ids: list[int] = tokenizer(header)["input_ids"]  # with the tokenizer's BOS
    passage_ids: list[int] = tokenizer(passage, add_special_tokens=False)["input_ids"]
    tail_ids: list[int] = tokenizer(tail, add_special_tokens=False)["input_ids"]
    budget = max_length - len(tail_ids)
    if budget <= 0:
        return tail_ids[-max_length:]
    if len(head_ids) > budget // 2:
        # The instruction line would crowd out the question: keep only the BOS, if any.
        bos = tokenizer.bos_token_id
        head_ids = head_ids[:1] if bos is not None and head_ids[:1] == [bos] else []
    room = budget - len(head_ids)
    return head_ids + passage_ids[max(0, len(passage_ids) - room) :] + tail_ids


def _letter_token_ids(tokenizer: Any, n: int) -> list[int]:
    ids = []
    for letter in LETTERS[:n]:
        encoded: list[int] = tokenizer(f" {letter}", add_special_tokens=False)["input_ids"]
        if not encoded:
            encoded = tokenizer(letter, add_special_tokens=False)["input_ids"]
        ids.append(encoded[-1])
    return ids


def score_mmlu(
    model: Any,
    tokenizer: Any,
    questions: Sequence[MmluQuestion],
    batch_size: int,
    max_length: int,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[int, int]:
    """(correct, total) over this rank's share (every world_size-th question)."""
    import torch

    mine = list(questions[rank::world_size])
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    correct = 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(mine), batch_size):
            batch = mine[start : start + batch_size]
            encoded = [encode_mmlu_prompt(tokenizer, q, max_length) for q in batch]
            width = max(len(ids) for ids in encoded)
            # Left padding, so that the last position of every row is its "Answer:".
            input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            attention = torch.zeros((len(batch), width), dtype=torch.long)
            for row, ids in enumerate(encoded):
                input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
                attention[row, width - len(ids) :] = 1
            positions = (attention.cumsum(-1) - 1).clamp(min=0)
            logits = model(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                position_ids=positions.to(device),
            ).logits[:, -1, :]
            for row, question in enumerate(batch):
                letter_ids = _letter_token_ids(tokenizer, len(question.choices))
                scores = logits[row, letter_ids]
                if int(torch.argmax(scores).item()) == question.answer:
                    correct += 1
    return correct, len(mine)
