"""Builds a tiny demo world: a randomly initialised Llama, a BPE tokenizer trained on the
synthetic data, instruction records in the seed's format and a small MMLU-format file.

    python -m meshtune_runner.demo_assets OUTDIR [--force]

Writes OUTDIR/model (config, safetensors, tokenizer files, loaded through the ordinary
`from_pretrained` path), OUTDIR/data/{train,eval}.json, OUTDIR/data/mmlu.csv and
OUTDIR/training-config.json (a trainingConfig for the demo study, absolute paths). One
trial of that config trains in seconds on a CPU. Re-running with the same settings is a
no-op.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .training.prompts import format_prompt

__all__ = [
    "DemoAssets",
    "build_demo_assets",
    "demo_training_config",
    "main",
    "synthetic_mmlu",
    "synthetic_records",
]

ASSETS_VERSION = 1

_COUNTRIES = [
    ("France", "Paris"),
    ("Japan", "Tokyo"),
    ("Canada", "Ottawa"),
    ("Italy", "Rome"),
    ("Kenya", "Nairobi"),
    ("Peru", "Lima"),
    ("Egypt", "Cairo"),
    ("Norway", "Oslo"),
    ("Chile", "Santiago"),
    ("India", "New Delhi"),
    ("Spain", "Madrid"),
    ("Ghana", "Accra"),
]
_COLOURS = [
    ("grass", "green"),
    ("the sky", "blue"),
    ("snow", "white"),
    ("coal", "black"),
    ("a banana", "yellow"),
    ("a tomato", "red"),
    ("an orange", "orange"),
    ("a plum", "purple"),
]
_WORDS = [
    "river",
    "lantern",
    "meadow",
    "planet",
    "violin",
    "garden",
    "castle",
    "pepper",
    "winter",
    "signal",
    "harbor",
    "copper",
    "falcon",
    "marble",
    "quartz",
    "tunnel",
]
_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


def _record(rng: random.Random) -> dict[str, str]:
    kind = rng.randrange(6)
    if kind == 0:
        a, b = rng.randrange(1, 50), rng.randrange(1, 50)
        return {
            "instruction": "Add the two numbers.",
            "context": f"{a} and {b}",
            "response": f"The sum is {a + b}.",
        }
    if kind == 1:
        country, capital = rng.choice(_COUNTRIES)
        return {
            "instruction": f"What is the capital of {country}?",
            "context": "",
            "response": f"The capital of {country} is {capital}.",
        }
    if kind == 2:
        word = rng.choice(_WORDS)
        return {
            "instruction": "Reverse the letters of the word.",
            "context": word,
            "response": word[::-1],
        }
    if kind == 3:
        numbers = [rng.randrange(100) for _ in range(rng.randrange(3, 6))]
        return {
            "instruction": "Sort these numbers in ascending order.",
            "context": ", ".join(map(str, numbers)),
            "response": ", ".join(map(str, sorted(numbers))),
        }
    if kind == 4:
        thing, colour = rng.choice(_COLOURS)
        return {
            "instruction": f"What colour is {thing}?",
            "context": "",
            "response": f"{thing[0].upper()}{thing[1:]} is usually {colour}.",
        }
    n = rng.randrange(len(_NUMBER_WORDS))
    return {
        "instruction": "Write the number in words.",
        "context": str(n),
        "response": _NUMBER_WORDS[n],
    }


def synthetic_records(count: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [_record(rng) for _ in range(count)]


def synthetic_mmlu(count: int, seed: int) -> list[list[str]]:
    """Rows in MMLU's CSV layout: question, A, B, C, D, answer letter."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        if rng.random() < 0.5:
            a, b = rng.randrange(1, 30), rng.randrange(1, 30)
            right = a + b
            wrong = rng.sample([v for v in range(2, 60) if v != right], 3)
            question, choices = f"What is {a} + {b}?", [str(right), *map(str, wrong)]
        else:
            country, capital = rng.choice(_COUNTRIES)
            others = rng.sample([c for _, c in _COUNTRIES if c != capital], 3)
            question, choices = f"What is the capital of {country}?", [capital, *others]
        order = list(range(4))
        rng.shuffle(order)
        shuffled = [choices[i] for i in order]
        rows.append([question, *shuffled, "ABCD"[order.index(0)]])
    return rows


@dataclass(frozen=True)
class DemoAssets:
    root: Path

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def train_data(self) -> Path:
        return self.root / "data" / "train.json"

    @property
    def eval_data(self) -> Path:
        return self.root / "data" / "eval.json"

    @property
    def mmlu_data(self) -> Path:
        return self.root / "data" / "mmlu.csv"

    @property
    def training_config_path(self) -> Path:
        return self.root / "training-config.json"


def demo_training_config(assets: DemoAssets, metric: str = "val_loss") -> dict[str, Any]:
    """A trainingConfig that trains one demo trial in seconds on a CPU."""
    config: dict[str, Any] = {
        "model": str(assets.model_dir),
        "trainData": str(assets.train_data),
        "evalData": str(assets.eval_data),
        "metric": metric,
        "epochs": 1,
        "perDeviceTrainBatchSize": 8,
        "perDeviceEvalBatchSize": 16,
        "gradientAccumulationSteps": 1,
        "maxLength": 128,
        "learningRate": 10**-3.5,
        "warmupRatio": 0.03,
        "evalSteps": 10,
        "loggingSteps": 5,
        "seed": 42,
    }
    if metric == "mmlu":
        config["mmluData"] = str(assets.mmlu_data)
    return config


def _train_tokenizer(texts: list[str], vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    bos_id = tokenizer.token_to_id("<s>")
    # Like Llama's tokenizer: BOS in front of every sequence.
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
    )
    # Deliberately no pad token: the runner must add one, as for LLaMA-2.
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )


def build_demo_assets(
    root: Path,
    train_records: int = 320,
    eval_records: int = 64,
    mmlu_questions: int = 40,
    force: bool = False,
) -> DemoAssets:
    assets = DemoAssets(root.resolve())
    manifest_path = assets.root / "manifest.json"
    manifest = {
        "version": ASSETS_VERSION,
        "trainRecords": train_records,
        "evalRecords": eval_records,
        "mmluQuestions": mmlu_questions,
    }
    if not force and manifest_path.is_file():
        try:
            if json.loads(manifest_path.read_text(encoding="utf-8")) == manifest:
                return assets
        except ValueError:
            pass

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    (assets.root / "data").mkdir(parents=True, exist_ok=True)
    train = synthetic_records(train_records, seed=1)
    evaluation = synthetic_records(eval_records, seed=2)
    mmlu = synthetic_mmlu(mmlu_questions, seed=3)
    assets.train_data.write_text(json.dumps(train, indent=1), encoding="utf-8")
    assets.eval_data.write_text(json.dumps(evaluation, indent=1), encoding="utf-8")
    with assets.mmlu_data.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(mmlu)

    texts = [format_prompt(r) + r["response"] for r in train]
    texts += [
        f"{row[0]}\nA. {row[1]}\nB. {row[2]}\nC. {row[3]}\nD. {row[4]}\nAnswer: {row[5]}"
        for row in mmlu
    ]
    tokenizer = _train_tokenizer(texts, vocab_size=512)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(assets.model_dir)
    tokenizer.save_pretrained(assets.model_dir)
    assets.training_config_path.write_text(
        json.dumps(demo_training_config(assets), indent=2) + "\n", encoding="utf-8"
    )
    manifest_path.write_text(json.dumps(manifest) + "\n", encoding="utf-8")
    return assets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m meshtune_runner.demo_assets",
        description="Build the tiny demo model, tokenizer and synthetic data into OUTDIR.",
    )
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--train-records", type=int, default=320)
    parser.add_argument("--eval-records", type=int, default=64)
    parser.add_argument("--mmlu-questions", type=int, default=40)
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    assets = build_demo_assets(
        args.outdir, args.train_records, args.eval_records, args.mmlu_questions, args.force
    )
    print(
        json.dumps(
            {
                "model": str(assets.model_dir),
                "trainData": str(assets.train_data),
                "evalData": str(assets.eval_data),
                "mmluData": str(assets.mmlu_data),
                "trainingConfig": str(assets.training_config_path),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
