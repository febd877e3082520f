"""The tabulated hyperparameter problems (hpo-tables.json, written by tabulate_hpo.py): the Python
twin of `hpo_table` in functions.ts, same order of operations.

Kept out of functions.py on purpose: the NOMAD trace cache is keyed by functions.py's content,
and the tables travel in the problem's params (so they are part of those runs' keys anyway).

params: shape (points per axis), lower, step (per axis, engine coordinates), values (row-major,
last axis fastest). A coordinate is clamped to its axis and interpolated linearly between the
two nearest grid points (exact on integer and ordinal axes, whose points are the grid's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def hpo_table(x: Sequence[float], params: Mapping[str, Sequence[float]]) -> list[float]:
    shape = [int(v) for v in params["shape"]]
    lower = params["lower"]
    step = params["step"]
    values = params["values"]
    d = len(shape)
    base: list[int] = []
    frac: list[float] = []
    for k in range(d):
        t = (x[k] - lower[k]) / step[k]
        t = min(max(t, 0.0), shape[k] - 1.0)
        i = min(int(math.floor(t)), shape[k] - 2) if shape[k] > 1 else 0
        base.append(i)
        frac.append(t - i if shape[k] > 1 else 0.0)
    total = 0.0
    for corner in range(1 << d):
        weight = 1.0
        index = 0
        for k in range(d):
            bit = (corner >> (d - 1 - k)) & 1
            weight *= frac[k] if bit == 1 else 1.0 - frac[k]
            index = index * shape[k] + base[k] + bit
        if weight != 0.0:
            total += weight * values[index]
    return [total]


def evaluate_hpo(name: str, x: Sequence[float], params: Mapping[str, Sequence[float]]) -> list[float]:
    if name != "hpo_table":
        raise KeyError(name)
    return hpo_table(x, params)
