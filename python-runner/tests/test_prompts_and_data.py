from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtune_runner.demo_assets import DemoAssets
from meshtune_runner.errors import TrialSetupError
from meshtune_runner.training.data import (
    IGNORE_INDEX,
    SupervisedCollator,
    load_records,
    tokenize_records,
)
from meshtune_runner.training.prompts import format_prompt


def test_prompts_are_the_seeds_alpaca_prompts() -> None:
    with_context = format_prompt({"instruction": "Add.", "context": "1 and 2", "response": "3"})
    assert with_context == (
        "Below is an instruction that describes a task, paired with an input that provides "
        "further context. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nAdd.\n\n#### Context:\n1 and 2\n\n### Response:"
    )
    without = format_prompt({"instruction": "Say hi.", "context": "", "response": "hi"})
    assert without == (
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n### Instruction:\nSay hi.\n\n### Response:"
    )


def test_records_load_from_json_and_jsonl_with_alpaca_aliases(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(
        json.dumps([{"instruction": "i", "input": "c", "output": "o"}])
    )
    (tmp_path / "b.jsonl").write_text(
        '{"instruction": "i", "response": "r"}\n\n'
        '{"instruction": "j", "context": "", "response": "s"}\n'
    )
    assert load_records(tmp_path / "a.json") == [
        {"instruction": "i", "context": "c", "response": "o"}
    ]
    assert len(load_records(tmp_path / "b.jsonl")) == 2
    assert len(load_records(tmp_path / "b.jsonl", limit=1)) == 1


def test_bad_data_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TrialSetupError, match="not found"):
        load_records(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('[{"instruction": 3}]')
    with pytest.raises(TrialSetupError, match="instruction"):
        load_records(tmp_path / "bad.json")


def test_only_response_tokens_are_labelled(demo_assets: DemoAssets) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(demo_assets.model_dir))
    record = {"instruction": "Write the number in words.", "context": "7", "response": "seven"}
    [example] = tokenize_records([record], tokenizer, 128, "test")
    ids, labels = example["input_ids"], example["labels"]
    prompt_ids = tokenizer(format_prompt(record))["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert ids[-1] == tokenizer.eos_token_id
    assert labels[: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)
    assert labels[len(prompt_ids) :] == ids[len(prompt_ids) :]
    assert tokenizer.decode(ids[len(prompt_ids) : -1]) == "seven"


def test_records_whose_prompt_fills_max_length_are_dropped(demo_assets: DemoAssets) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(demo_assets.model_dir))
    short = {"instruction": "Hi.", "context": "", "response": "hello"}
    long = {"instruction": "word " * 200, "context": "", "response": "x"}
    assert len(tokenize_records([short, long], tokenizer, 64, "test")) == 1
    with pytest.raises(TrialSetupError, match="maxLength"):
        tokenize_records([long], tokenizer, 64, "test")


def test_collator_pads_right_with_masked_labels() -> None:
    batch = SupervisedCollator(pad_token_id=0)(
        [
            {"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
            {"input_ids": [5, 8], "labels": [-100, 8]},
        ]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 8, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [-100, 8, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]


def test_one_records_file_splits_into_disjoint_train_and_validation(tmp_path: Path) -> None:
    from meshtune_runner.datasplit import main

    records = [{"instruction": f"task {i}", "context": "", "response": f"r{i}"} for i in range(50)]
    (tmp_path / "mix.json").write_text(json.dumps(records))
    assert main([str(tmp_path / "mix.json"), str(tmp_path / "out"), "--seed", "3"]) == 0
    train = json.loads((tmp_path / "out" / "train.json").read_text())
    validation = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert (len(train), len(validation)) == (40, 10)
    names = [r["instruction"] for r in train + validation]
    assert sorted(names) == sorted(r["instruction"] for r in records)  # each once
    again = tmp_path / "again"
    main([str(tmp_path / "mix.json"), str(again), "--seed", "3"])
    assert (again / "validation.json").read_text() == (
        tmp_path / "out" / "validation.json"
    ).read_text()
