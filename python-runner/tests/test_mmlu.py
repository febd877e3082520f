from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtune_runner.errors import TrialSetupError
from meshtune_runner.training.mmlu import format_mmlu_prompt, load_mmlu


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
