"""Tabulates real learning curves for `npm run bench:fidelity`: LoRA fine-tuning of the runner's
tiny demo Llama on CPU, one run per configuration of a small grid, validation loss every few
steps, written to api/bench/fidelity/llama-curves.json (committed; the benchmark only reads it).

Each run goes through the runner's own training path (meshtune_runner.training.finetune
`run_finetune`: the HF Trainer with the runner's token-mean loss, cosine schedule with warm-up,
its val_loss events), on the demo model and data of meshtune_runner.demo_assets (a randomly
initialised 2-layer Llama and a tokenizer trained on the synthetic records, loaded through
`from_pretrained`; nothing from a model hub). Seeds are fixed, so a re-run on the same library
versions reproduces the table up to floating-point differences between machines.

    V=$(bash python-runner/scripts/ensure-venv.sh)
    PYTHONPATH=python-runner/src $V/bin/python api/bench/fidelity/tabulate_llama.py \
        [--out api/bench/fidelity/llama-curves.json] [--only N] [--training-seeds 42,43]

`--only N` runs the first N configurations (to time one before the grid).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from meshtune_runner.demo_assets import build_demo_assets, demo_training_config
from meshtune_runner.hyperparameters import Hyperparameters
from meshtune_runner.training.finetune import run_finetune
from meshtune_runner.training_config import parse_training_config
from meshtune_runner.trial_files import EventWriter

# The grid: learning rate dominates a LoRA run's outcome, rank and alpha (scaling alpha / r) and
# dropout shape it. 6 x 2 x 2 x 2 = 48 configurations.
LEARNING_RATES = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
RANKS = [2, 16]
ALPHA_OVER_RANK = [1.0, 4.0]
DROPOUTS = [0.0, 0.2]

# One epoch of the demo data (320 records, batch 8) is 40 optimizer steps; 2 epochs, validation
# loss every 4 steps: 20 points per curve, the last at the final step (the trial's objective).
EPOCHS = 2
EVAL_STEPS = 4


def grid() -> list[dict[str, float]]:
    return [
        {"learningRate": lr, "r": r, "loraAlpha": r * a, "loraDropout": d}
        for lr, r, a, d in itertools.product(LEARNING_RATES, RANKS, ALPHA_OVER_RANK, DROPOUTS)
    ]


def run_one(
    assets_root: Path, work: Path, config: dict[str, float], seed: int
) -> tuple[list[float], list[int]]:
    """One LoRA run; its validation losses (rounded to 1e-6) and the steps they were taken at."""
    assets = build_demo_assets(assets_root)
    raw = demo_training_config(assets)
    raw.update(
        {
            "epochs": EPOCHS,
            "evalSteps": EVAL_STEPS,
            "loggingSteps": EVAL_STEPS,
            "learningRate": config["learningRate"],
            "seed": seed,
            "saveAdapter": False,
            "memoryProbe": False,
            "precision": "fp32",
        }
    )
    training = parse_training_config(raw)
    hyper = Hyperparameters(
        r=int(config["r"]), lora_alpha=config["loraAlpha"], lora_dropout=config["loraDropout"]
    )
    events_path = work / "events.jsonl"
    events_path.unlink(missing_ok=True)
    run_finetune(training, hyper, work / "out", EventWriter(events_path))
    points = [json.loads(line) for line in events_path.read_text(encoding="utf-8").splitlines()]
    losses = sorted(
        (p["step"], p["value"])
        for p in points
        if p.get("type") == "metric" and p.get("name") == "val_loss"
    )
    return [round(value, 6) for _, value in losses], [step for step, _ in losses]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("llama-curves.json"))
    parser.add_argument("--only", type=int, default=None)
    parser.add_argument("--training-seeds", default="42")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # Two shared cores: one torch thread keeps the runs from starving the machine's other work
    # (torch is imported here, after the variable is set, and only here).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import peft
    import torch
    import transformers

    torch.set_num_threads(1)
    seeds = [int(s) for s in args.training_seeds.split(",")]
    configs = grid()[: args.only] if args.only else grid()
    started = time.time()
    cpu_started = time.process_time()
    curves: dict[str, list[list[float]]] = {str(s): [] for s in seeds}
    steps: list[int] = []
    with tempfile.TemporaryDirectory(prefix="meshtune-llama-curves-") as tmp:
        root = Path(tmp)
        for seed in seeds:
            for i, config in enumerate(configs):
                t0 = time.process_time()
                losses, at = run_one(root / "assets", root / "run", config, seed)
                steps = at
                curves[str(seed)].append(losses)
                print(
                    f"tabulate_llama: seed {seed} config {i + 1}/{len(configs)} {config} "
                    f"{len(losses)} points, final {losses[-1]:.4f}, "
                    f"{time.process_time() - t0:.1f} CPU-s",
                    file=sys.stderr,
                    flush=True,
                )
    table: dict[str, Any] = {
        "how": (
            "api/bench/fidelity/tabulate_llama.py: LoRA runs of the runner's tiny demo Llama "
            "(meshtune_runner.demo_assets) through meshtune_runner.training.finetune.run_finetune "
            f"on CPU, fp32, {EPOCHS} epochs of the demo data (320 records, batch 8), validation "
            f"loss (64 records) every {EVAL_STEPS} steps; one run per configuration and training "
            "seed"
        ),
        "made": {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
            "cpuSeconds": round(time.process_time() - cpu_started, 1),
            "wallSeconds": round(time.time() - started, 1),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "machine": platform.machine(),
        },
        "grid": {
            "learningRate": LEARNING_RATES,
            "r": RANKS,
            "alphaOverR": ALPHA_OVER_RANK,
            "loraDropout": DROPOUTS,
        },
        "steps": steps,
        "configs": configs,
        "curves": curves,
    }
    args.out.write_text(json.dumps(table, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"tabulate_llama: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
