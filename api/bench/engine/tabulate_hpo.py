"""Tabulates the hyperparameter problems of `npm run bench:engine` once (issue 15, item 5).

Usage (in the benchmark venv, api/bench/ensure-venv.sh api/bench/engine/requirements.txt bench-venv):
    python tabulate_hpo.py hpo-tables.json

Each problem is a model trained on a data set that scikit-learn ships, scored by the mean
log-loss (the SVM: the error rate) of a stratified 3-fold cross-validation with fixed seeds, on a grid of its
hyperparameters. Axes are regular in the engine's coordinates: a log-real hyperparameter is
log10 of its value (linear interpolation between grid points in both functions.ts and
hpo_functions.py), an integer one its value, an ordinal one the index of its level (both exact).
The output, committed as hpo-tables.json, is what the benchmark reads: training never runs
during the benchmark.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
import warnings
from importlib.metadata import version
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

SEED = 0
FOLDS = 3


def axis(name: str, kind: str, lower: float, step: float, count: int, levels: list[Any] | None = None) -> dict[str, Any]:
    """kind: 'log10' (real, interpolated), 'int' (value), 'ordinal' (index into levels)."""
    return {"name": name, "kind": kind, "lower": lower, "step": step, "count": count, "levels": levels}


def grid_values(ax: dict[str, Any]) -> list[Any]:
    points = [ax["lower"] + i * ax["step"] for i in range(ax["count"])]
    if ax["kind"] == "log10":
        return [10.0**p for p in points]
    if ax["kind"] == "int":
        return [int(round(p)) for p in points]
    return list(ax["levels"])


def svm_model(c: float, gamma: float) -> Any:
    return make_pipeline(StandardScaler(), SVC(C=c, gamma=gamma))


def gb_model(learning_rate: float, max_depth: int, min_leaf: int) -> Any:
    return HistGradientBoostingClassifier(
        learning_rate=learning_rate,
        max_depth=max_depth,
        min_samples_leaf=min_leaf,
        max_iter=50,
        early_stopping=False,
        random_state=SEED,
    )


def mlp_model(units: int, alpha: float, lr: float) -> Any:
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(units,),
            alpha=alpha,
            learning_rate_init=lr,
            max_iter=200,
            random_state=SEED,
        ),
    )


PROBLEMS: list[dict[str, Any]] = [
    {
        "id": "hpo_svm_digits",
        "dataset": "digits",
        "model": "SVC(rbf) after StandardScaler",
        "build": svm_model,
        # SVC has no probabilities without an extra calibration fit: its objective is the error rate.
        "scoring": "error",
        "axes": [axis("log10 C", "log10", -2.0, 0.5, 13), axis("log10 gamma", "log10", -5.0, 0.5, 11)],
    },
    {
        "id": "hpo_gb_breast_cancer",
        "dataset": "breast_cancer",
        "model": "HistGradientBoostingClassifier(max_iter=50)",
        "build": gb_model,
        "axes": [
            axis("log10 learning_rate", "log10", -2.5, 0.5, 6),
            axis("max_depth", "int", 1, 1, 6),
            axis("min_samples_leaf", "ordinal", 0, 1, 4, [5, 10, 20, 40]),
        ],
    },
    {
        "id": "hpo_mlp_wine",
        "dataset": "wine",
        "model": "MLPClassifier(one hidden layer, max_iter=200) after StandardScaler",
        "build": mlp_model,
        "axes": [
            axis("hidden units", "ordinal", 0, 1, 4, [4, 8, 16, 32]),
            axis("log10 alpha", "log10", -5.0, 1.0, 5),
            axis("log10 learning_rate_init", "log10", -3.5, 0.5, 5),
        ],
    },
]

LOADERS = {"digits": load_digits, "breast_cancer": load_breast_cancer, "wine": load_wine}


def tabulate(problem: dict[str, Any], part: int = 0, parts: int = 1) -> dict[str, Any]:
    """The table of one problem; with parts > 1 only the configurations i with i % parts == part
    (the others are None), so that several processes can share a problem."""
    x, y = LOADERS[problem["dataset"]](return_X_y=True)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    scoring = problem.get("scoring", "log_loss")
    values: list[float | None] = []
    started = time.perf_counter()
    # Row-major over the axes (the last axis varies fastest), as functions.ts reads it.
    for index, combo in enumerate(itertools.product(*(grid_values(ax) for ax in problem["axes"]))):
        if index % parts != part:
            values.append(None)
            continue
        model = problem["build"](*combo)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", FutureWarning)
            if scoring == "error":
                value = 1.0 - float(np.mean(cross_val_score(model, x, y, cv=folds, scoring="accuracy")))
            else:
                value = -float(np.mean(cross_val_score(model, x, y, cv=folds, scoring="neg_log_loss")))
        values.append(round(value, 6))
    seconds = time.perf_counter() - started
    print(f"tabulate_hpo: {problem['id']}: {len(values)} configurations in {seconds:.0f} s", file=sys.stderr, flush=True)
    return {
        "id": problem["id"],
        "dataset": problem["dataset"],
        "model": problem["model"],
        "objective": ("mean error rate" if scoring == "error" else "mean log-loss")
        + f" of stratified {FOLDS}-fold CV (shuffle, random_state={SEED})",
        "axes": problem["axes"],
        "values": values,
        "seconds": round(seconds, 1),
    }


def main(out_path: str, only: list[str]) -> None:
    """Tabulates every problem (or `only` these, into OUT.ID.json each, merged by --merge)."""
    part, parts = 0, 1
    if only and "/" in only[-1]:
        part, parts = (int(v) for v in only.pop().split("/"))
    tables = [tabulate(p, part, parts) for p in PROBLEMS if not only or p["id"] in only]
    if only:
        suffix = f".{part}of{parts}" if parts > 1 else ""
        for table in tables:
            with open(f"{out_path}.{table['id']}{suffix}.json", "w", encoding="utf-8") as out:
                json.dump(table, out)
        return
    write(out_path, tables)


def write(out_path: str, tables: list[dict[str, Any]]) -> None:
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(
            {
                "generator": "api/bench/engine/tabulate_hpo.py",
                "scikitLearn": version("scikit-learn"),
                "numpy": version("numpy"),
                "problems": tables,
            },
            out,
            indent=1,
        )
        out.write("\n")


if __name__ == "__main__":
    # tabulate_hpo.py OUT.json                 all problems, one process
    # tabulate_hpo.py OUT.json --only ID       one problem into OUT.json.ID.json (run several at once)
    # tabulate_hpo.py OUT.json --only ID k/m   its configurations i with i % m == k (OUT.json.ID.kofm.json)
    # tabulate_hpo.py OUT.json --merge         OUT.json from the OUT.json.ID.json parts, in PROBLEMS order
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[2:3] == ["--merge"]:
        import glob

        merged = []
        for p in PROBLEMS:
            files = sorted(glob.glob(f"{sys.argv[1]}.{p['id']}.json") + glob.glob(f"{sys.argv[1]}.{p['id']}.*of*.json"))
            pieces = []
            for name in files:
                with open(name, encoding="utf-8") as piece:
                    pieces.append(json.load(piece))
            table = pieces[0]
            table["values"] = [next(v for v in vs if v is not None) for vs in zip(*(t["values"] for t in pieces))]
            table["seconds"] = round(sum(t["seconds"] for t in pieces), 1)
            merged.append(table)
        write(sys.argv[1], merged)
    else:
        main(sys.argv[1], sys.argv[3:] if sys.argv[2:3] == ["--only"] else [])
