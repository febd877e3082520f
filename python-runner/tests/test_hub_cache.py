"""The training child's reading of a failed hub load (meshtune_runner.hub_cache): a model or
tokenizer neither cached nor reachable is this runner's lack (declined), anything else stays
the point's (a failed evaluation). Real transformers loads, offline (conftest: HF_HUB_OFFLINE=1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshtune_runner.errors import MissingInputError, TrialSetupError, refusal_of
from meshtune_runner.hub_cache import hub_offline, hub_snapshot_cached, missing_from_hub_cache


@pytest.fixture
def empty_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_the_tests_run_offline() -> None:
    assert hub_offline()


@pytest.mark.parametrize("value", ["0", "", "no", "false"])
def test_offline_only_when_the_hub_variables_say_so(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert not hub_offline()
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "YES")
    assert hub_offline()


def test_a_load_missing_from_the_cache_is_told_apart_from_a_broken_model(
    empty_hub_cache: Path, tmp_path: Path
) -> None:
    from transformers import AutoConfig, AutoTokenizer

    with pytest.raises(OSError) as absent:
        AutoTokenizer.from_pretrained("example-org/absent-model")
    assert missing_from_hub_cache(absent.value)
    assert not hub_snapshot_cached("example-org/absent-model")

    # A local folder without a model in it is the study's path, not the hub cache.
    (tmp_path / "empty-model").mkdir()
    with pytest.raises((OSError, ValueError)) as broken:
        AutoConfig.from_pretrained(str(tmp_path / "empty-model"))
    assert not missing_from_hub_cache(broken.value)
    # An id the hub would refuse: no runner can load it, so it is not this runner's lack.
    assert hub_snapshot_cached("not a valid id!!")


def test_the_childs_load_declines_a_hub_model_it_cannot_get(empty_hub_cache: Path) -> None:
    from meshtune_runner.training.finetune import _load
    from meshtune_runner.training_config import parse_training_config

    config = parse_training_config(
        {"model": "example-org/absent-model", "trainData": "/dev/null", "evalData": "/dev/null"}
    )
    with pytest.raises(MissingInputError) as declined:
        _load(config, {"dtype": None, "bf16": False, "fp16": False})
    assert refusal_of(declined.value) == "decline"
    assert "neither in this runner's hub cache nor reachable" in str(declined.value)
    assert not isinstance(declined.value, TrialSetupError)
