"""5-shot MMLU through lm-evaluation-harness, offline, on a tiny local task and the tiny Llama."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from meshtune_runner.demo_assets import DemoAssets, synthetic_mmlu
from meshtune_runner.training.harness import NUM_FEWSHOT, evaluate_mmlu_5shot

pytestmark = pytest.mark.training


def _write_split(root: Path, test_per_subject: int) -> tuple[Path, Path]:
    """MMLU's layout: test/<subject>_test.csv and dev/<subject>_dev.csv (5 questions each)."""
    (root / "test").mkdir(parents=True)
    (root / "dev").mkdir()
    rows = synthetic_mmlu(80, seed=5)
    for subject, marker in (("arithmetic", "+"), ("geography", "capital")):
        chosen = [row for row in rows if marker in row[0]]
        with (root / "dev" / f"{subject}_dev.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows(chosen[:NUM_FEWSHOT])
        with (root / "test" / f"{subject}_test.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows(chosen[NUM_FEWSHOT : NUM_FEWSHOT + test_per_subject])
    return root / "test", root / "dev"


def test_mmlu_five_shot_runs_offline_in_the_harness_format(
    demo_assets: DemoAssets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")  # nothing may be downloaded
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    test, dev = _write_split(tmp_path / "mmlu", test_per_subject=4)
    model = AutoModelForCausalLM.from_pretrained(str(demo_assets.model_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(demo_assets.model_dir))
    result = evaluate_mmlu_5shot(model, tokenizer, test, dev, tmp_path / "work", batch_size=8)

    assert result.questions == 8
    assert set(result.subjects) == {"arithmetic", "geography"}
    assert all(n == 4 for _, n in result.subjects.values())
    # Each question counts once: the overall accuracy is a multiple of 1/8 and the mean of the
    # subjects weighted by their questions.
    assert result.accuracy * 8 == pytest.approx(round(result.accuracy * 8))
    weighted = sum(a * n for a, n in result.subjects.values()) / 8
    assert result.accuracy == pytest.approx(weighted)
    # The harness's MMLU prompt: the subject line, the first 5 dev questions with their answer
    # letters, then the test question ending in "Answer:" (the choices " A" … " D" are scored).
    prompt = result.example_prompt
    print(f"5-shot accuracy {result.accuracy:.4f} over {result.questions}; prompt:\n{prompt}")
    assert prompt.startswith(
        "The following are multiple choice questions (with answers) about arithmetic.\n\n"
    )
    blocks = prompt.split("\n\n")[1:]
    assert len(blocks) == NUM_FEWSHOT + 1
    assert all(
        block.rsplit("\n", 1)[-1] in {f"Answer: {c}" for c in "ABCD"} for block in blocks[:-1]
    )
    assert blocks[-1].endswith("\nD. " + blocks[-1].split("\nD. ")[1].split("\n")[0] + "\nAnswer:")
    first_dev = next(csv.reader((dev / "arithmetic_dev.csv").open()))
    assert blocks[0].startswith(first_dev[0] + "\nA. " + first_dev[1])
