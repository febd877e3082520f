from __future__ import annotations

from pathlib import Path

import pytest

from meshtune_runner.errors import TrainingConfigError
from meshtune_runner.training_config import parse_training_config

BASE = {"model": "meta-llama/Llama-2-7b-hf", "trainData": "train.json", "evalData": "eval.json"}


def test_defaults_follow_the_seed() -> None:
    config = parse_training_config(BASE)
    assert config.metric == "val_loss"
    assert config.epochs == 3
    assert config.per_device_train_batch_size == 4
    assert config.per_device_eval_batch_size == 4
    assert config.gradient_accumulation_steps is None  # 8 unless globalBatchSize is set
    assert config.global_batch_size is None
    assert config.max_length == 512
    assert config.warmup_ratio == pytest.approx(0.03)
    assert config.learning_rate == pytest.approx(10**-3.5)
    assert config.lr_scheduler_type == "cosine"
    assert config.optim == "adamw_torch"


def test_overrides_win_and_accept_snake_case() -> None:
    config = parse_training_config(
        {**BASE, "globalBatchSize": 32, "perDeviceEvalBatchSize": 4},
        {"per_device_eval_batch_size": 16, "train_data": "/data/t.json", "evalSteps": None},
    )
    assert (config.per_device_eval_batch_size, config.train_data) == (16, "/data/t.json")
    assert config.eval_steps is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**BASE, "epochz": 3}, "epochz"),
        ({**BASE, "perDeviceTrainBatchSize": 0}, "perDeviceTrainBatchSize"),
        ({"model": "m", "trainData": "t"}, "evalData"),
        ({**BASE, "metric": "mmlu"}, "mmluData"),
        ({**BASE, "metric": "bleu"}, "metric"),
        ({"trainData": "t", "evalData": "e"}, "model"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_configs_are_rejected_with_the_field(raw: object, message: str) -> None:
    with pytest.raises(TrainingConfigError, match=message):
        parse_training_config(raw)


def test_relative_paths_resolve_against_the_data_root(tmp_path: Path) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    config = parse_training_config(
        {
            "model": "models/tiny",
            "tokenizer": "org/hub-tokenizer",
            "trainData": "d/train.json",
            "evalData": "/abs/eval.json",
        }
    ).resolve_paths(tmp_path)
    assert config.model == str(tmp_path / "models" / "tiny")
    assert config.tokenizer == "org/hub-tokenizer"  # a hub id stays a hub id
    assert config.train_data == str(tmp_path / "d" / "train.json")
    assert config.eval_data == "/abs/eval.json"


def test_an_adapter_dir_url_is_not_rebased_on_the_data_root(tmp_path: Path) -> None:
    config = parse_training_config({**BASE, "adapterDir": "s3://bucket/prefix"})
    assert config.resolve_paths(tmp_path).adapter_dir == "s3://bucket/prefix"
