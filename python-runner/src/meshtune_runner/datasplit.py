"""`python -m meshtune_runner.datasplit RECORDS OUT_DIR`: one file of instruction records ->
`train.json` and `validation.json` (a seeded shuffle, then the last fraction for validation).

The NOMAD team's data-mix generator writes a single file; the runner needs the validation set
apart from the training set (val_loss is measured on it), so split it once, with a fixed seed,
and point every runner at the same two files.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from .errors import TrialSetupError
from .training.data import read_json_records
from .training.prompts import normalise_record

__all__ = ["main", "split_records"]


def split_records(
    source: Path, out_dir: Path, validation_fraction: float = 0.2, seed: int = 0
) -> tuple[int, int]:
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {validation_fraction}")
    records = read_json_records(source)
    for index, record in enumerate(records):
        normalise_record(record, f"{source} record {index}")  # fail now, not in every trial
    if len(records) < 2:
        raise TrialSetupError(f"{source}: at least two records are needed to split")
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_validation = max(1, round(len(records) * validation_fraction))
    train = [records[i] for i in order[:-n_validation]]
    validation = [records[i] for i in order[-n_validation:]]
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.json", train), ("validation.json", validation)):
        (out_dir / name).write_text(json.dumps(part, ensure_ascii=False, indent=1), "utf-8")
    return len(train), len(validation)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshtune_runner.datasplit")
    parser.add_argument("records", type=Path, help="JSON array or JSON Lines of records")
    parser.add_argument("out_dir", type=Path, help="gets train.json and validation.json")
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        n_train, n_validation = split_records(
            args.records, args.out_dir, args.validation_fraction, args.seed
        )
    except (TrialSetupError, ValueError) as exc:
        parser.error(str(exc))
    print(f"{n_train} training and {n_validation} validation records in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
