from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtune_runner.demo_assets import DemoAssets
from meshtune_runner.errors import TrialSetupError
from meshtune_runner.training.mmlu import (
    MmluQuestion,
    encode_mmlu_prompt,
    format_mmlu_prompt,
    load_mmlu,
)


def test_mmlu_csv_files_json_and_folders(tmp_path: Path) -> None:
    (tmp_path / "anatomy_test.csv").write_text('"What is 2+2?",3,4,5,6,B\nQ2,a,b,c,d,D\n')
    assert [q.answer for q in load_mmlu(tmp_path / "anatomy_test.csv")] == [1, 3]
    assert load_mmlu(tmp_path)[0].subject == "anatomy"
    (tmp_path / "q.jsonl").write_text(
        json.dumps({"question": "Q?", "choices": ["x", "y", "z"], "answer": 2, "subject": "math"})
        + "\n"
    )
    [question] = load_mmlu(tmp_path / "q.jsonl")
    assert (question.choices, question.answer) == (("x", "y", "z"), 2)


def test_mmlu_prompt_lists_the_lettered_choices(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("question,A,B,C,D,answer\nWhat is 1+1?,1,2,3,4,B\n")
    [question] = load_mmlu(tmp_path / "t.csv")
    assert format_mmlu_prompt(question) == (
        "The following are multiple choice questions (with answers) about t.\n\n"
        "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:"
    )


def test_bad_mmlu_answers_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("Q,a,b,c,d,E\n")
    with pytest.raises(TrialSetupError, match="answer"):
        load_mmlu(tmp_path / "bad.csv")
    with pytest.raises(TrialSetupError, match="not found"):
        load_mmlu(tmp_path / "nope.csv")


def test_long_prompts_lose_the_start_of_the_passage_not_the_choices(
    demo_assets: DemoAssets,
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(demo_assets.model_dir))

    def decode(ids: list[int]) -> str:
        return str(tokenizer.decode(ids, skip_special_tokens=True))

    passage = " ".join(f"sentence {i} of a long reading passage." for i in range(200))
    question = MmluQuestion(passage + " Which is right?", ("alpha", "beta", "gamma", "delta"), 1)
    for max_length in (64, 128):
        ids = encode_mmlu_prompt(tokenizer, question, max_length)
        assert len(ids) == max_length
        text = decode(ids)
        assert text.endswith("\nA. alpha\nB. beta\nC. gamma\nD. delta\nAnswer:")
        assert "Which is right?" in text and "sentence 0 " not in text
    # With room for it, the instruction line stays too.
    assert text.startswith("The following are multiple choice questions (with answers).")
    # What the scorer did before (right truncation): the choices and "Answer:" were cut.
    cut = tokenizer(format_mmlu_prompt(question), truncation=True, max_length=64)["input_ids"]
    assert not decode(cut).endswith("Answer:")
    # A prompt that fits is encoded whole, as before.
    short = MmluQuestion("What is 1+1?", ("1", "2"), 1)
    assert (
        encode_mmlu_prompt(tokenizer, short, 64)
        == tokenizer(format_mmlu_prompt(short))["input_ids"]
    )
    # Choices longer than maxLength: their end, with "Answer:", is kept.
    wordy = MmluQuestion("Q?", tuple(passage for _ in range(4)), 0)
    tail = decode(encode_mmlu_prompt(tokenizer, wordy, 32))
    assert tail.endswith("Answer:")
