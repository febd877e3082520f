"""Test functions of the engine benchmark: the Python twins of functions.ts.

Same names, same outputs (objective first, then constraints c(x) <= 0), same order of
operations; run-engine-bench compares both sides on X0 and on points NOMAD evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

Params = Mapping[str, Sequence[float]]
BenchFunction = Callable[[Sequence[float], Params], list[float]]


def _sum_of_squares(x: Sequence[float], offset: float) -> float:
    total = 0.0
    for xi in x:
        total += (xi - offset) ** 2
    return total


def _rosenbrock(x: Sequence[float]) -> float:
    f = 0.0
    for i in range(len(x) - 1):
        f += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return f


def _beale(x: Sequence[float]) -> float:
    a, b = x
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b**2) ** 2 + (2.625 - a + a * b**3) ** 2


def _powell_singular(x: Sequence[float]) -> float:
    a, b, c, d = x
    return (a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4


def _weighted_quadratic(x: Sequence[float], params: Params) -> float:
    weights = params["weights"]
    shift = params["shift"]
    f = 0.0
    for i in range(len(x)):
        f += weights[i] * (x[i] - shift[i]) ** 2
    return f


def _nomad_single_obj(x: Sequence[float], _params: Params) -> list[float]:
    return [x[4], _sum_of_squares(x, 1) - 25, 25 - _sum_of_squares(x, -1)]


def _rosen_suzuki(x: Sequence[float], _params: Params) -> list[float]:
    a, b, c, d = x
    return [
        a * a + b * b + 2 * c * c + d * d - 5 * a - 5 * b - 21 * c + 7 * d,
        a * a + b * b + c * c + d * d + a - b + c - d - 8,
        a * a + 2 * b * b + c * c + 2 * d * d - a - d - 10,
        2 * a * a + b * b + c * c + 2 * a - b - d - 5,
    ]


def _g06(x: Sequence[float], _params: Params) -> list[float]:
    a, b = x
    return [
        (a - 10) ** 3 + (b - 20) ** 3,
        -((a - 5) ** 2) - (b - 5) ** 2 + 100,
        (a - 6) ** 2 + (b - 5) ** 2 - 82.81,
    ]


def _sphere_halfspace(x: Sequence[float], _params: Params) -> list[float]:
    total = 0.0
    for xi in x:
        total += xi
    return [_sum_of_squares(x, 0), 1 - total]


def _quadratic_capacity(x: Sequence[float], params: Params) -> list[float]:
    total = 0.0
    for xi in x:
        total += xi
    return [_weighted_quadratic(x, params), total - params["capacity"][0]]


BENCH_FUNCTIONS: dict[str, BenchFunction] = {
    "rosenbrock": lambda x, _p: [_rosenbrock(x)],
    "beale": lambda x, _p: [_beale(x)],
    "powell_singular": lambda x, _p: [_powell_singular(x)],
    "weighted_quadratic": lambda x, p: [_weighted_quadratic(x, p)],
    "nomad_single_obj": _nomad_single_obj,
    "rosen_suzuki": _rosen_suzuki,
    "g06": _g06,
    "sphere_halfspace": _sphere_halfspace,
    "quadratic_capacity": _quadratic_capacity,
}


def evaluate(name: str, x: Sequence[float], params: Params) -> list[float]:
    return BENCH_FUNCTIONS[name](x, params)
