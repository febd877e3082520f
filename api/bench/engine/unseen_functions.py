"""The unseen problem set's functions (unseen-problems.ts): the Python twins of unseen-functions.ts.

Same names, same outputs (objective first, then constraints c(x) <= 0), same order of
operations; run-engine-bench compares both sides on X0, two shifted points and NOMAD's first
evaluations. Kept out of functions.py on purpose: the NOMAD trace cache is keyed by functions.py's
content, so editing it would re-run every cached trace of the bench's own set; the unseen
problems' traces are keyed by this file instead (nomad.ts, runCacheFile).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

Params = Mapping[str, Sequence[float]]


def _wood(x: Sequence[float]) -> float:
    a, b, c, d = x
    return (
        100 * (b - a * a) ** 2
        + (1 - a) ** 2
        + 90 * (d - c * c) ** 2
        + (1 - c) ** 2
        + 10.1 * ((b - 1) ** 2 + (d - 1) ** 2)
        + 19.8 * (b - 1) * (d - 1)
    )


def _helical_valley(x: Sequence[float]) -> float:
    a, b, c = x
    if a > 0:
        theta = math.atan(b / a) / (2 * math.pi)
    elif a < 0:
        theta = math.atan(b / a) / (2 * math.pi) + 0.5
    else:
        theta = 0.25 if b >= 0 else -0.25
    return 100 * ((c - 10 * theta) ** 2 + (math.sqrt(a * a + b * b) - 1) ** 2) + c * c


def _brown_badly_scaled(x: Sequence[float]) -> float:
    a, b = x
    return (a - 1e6) ** 2 + (b - 2e-6) ** 2 + (a * b - 2) ** 2


def _branin(x: Sequence[float]) -> float:
    a, b = x
    bb = 5.1 / (4 * math.pi * math.pi)
    cc = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (b - bb * a * a + cc * a - 6) ** 2 + 10 * (1 - t) * math.cos(a) + 10


def _six_hump_camel(x: Sequence[float]) -> float:
    a, b = x
    return (4 - 2.1 * a * a + (a * a * a * a) / 3) * a * a + a * b + (-4 + 4 * b * b) * b * b


_HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]
_HARTMANN3_A = [[3, 10, 30], [0.1, 10, 35], [3, 10, 30], [0.1, 10, 35]]
_HARTMANN3_P = [
    [0.3689, 0.117, 0.2673],
    [0.4699, 0.4387, 0.747],
    [0.1091, 0.8732, 0.5547],
    [0.0381, 0.5743, 0.8828],
]
_HARTMANN6_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_HARTMANN6_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]


def _hartmann(x: Sequence[float], a: list[list[float]], p: list[list[float]]) -> float:
    f = 0.0
    for i in range(4):
        inner = 0.0
        for j in range(len(x)):
            inner += a[i][j] * (x[j] - p[i][j]) ** 2
        f -= _HARTMANN_ALPHA[i] * math.exp(-inner)
    return f


def _styblinski_tang(x: Sequence[float]) -> float:
    f = 0.0
    for xi in x:
        f += xi**4 - 16 * xi * xi + 5 * xi
    return 0.5 * f


def _ackley(x: Sequence[float]) -> float:
    squares = 0.0
    cosines = 0.0
    for xi in x:
        squares += xi * xi
        cosines += math.cos(2 * math.pi * xi)
    n = len(x)
    return -20 * math.exp(-0.2 * math.sqrt(squares / n)) - math.exp(cosines / n) + 20 + math.e


def _floored_quadratic(x: Sequence[float], params: Params) -> float:
    weights = params["weights"]
    shift = params["shift"]
    f = 0.0
    for i in range(len(x)):
        f += weights[i] * (x[i] - shift[i]) ** 2
    return float(math.floor(f))


def _g08(x: Sequence[float]) -> list[float]:
    a, b = x
    s = math.sin(2 * math.pi * a)
    return [-(s * s * s * math.sin(2 * math.pi * b)) / (a * a * a * (a + b)), a * a - b + 1, 1 - a + (b - 4) ** 2]


def _spring(x: Sequence[float]) -> list[float]:
    d, dd, n = x
    d2 = d * d
    d4 = d2 * d2
    return [
        (n + 2) * dd * d2,
        1 - (dd * dd * dd * n) / (71785 * d4),
        (4 * dd * dd - d * dd) / (12566 * (dd * d2 * d - d4)) + 1 / (5108 * d2) - 1,
        1 - (140.45 * d) / (dd * dd * n),
        (d + dd) / 1.5 - 1,
    ]


def _lora_grid(x: Sequence[float]) -> float:
    r = x[0]
    a = x[1]
    lr = x[2]
    k = int(math.floor(min(max(x[3], 0.0), 4.0) + 0.5))
    p = [0.0, 0.05, 0.1, 0.2, 0.3][k]
    log_scale = -5 + lr / 4 + (a - 2) * math.log10(2)
    if log_scale > -2.6:
        return 4.0
    optimum = -3.5 - 0.12 * r
    valley = 0.6 * (log_scale - optimum) ** 2
    capacity = 0.45 * math.exp(-0.8 * r)
    overfit = 0.012 * r * ((p - 0.04 * r) / 0.1) ** 2
    ripple = 0.01 * math.sin(1.7 * lr + 2.3 * a + 0.9 * r + 3.1 * k)
    return 1.1 + valley + capacity + overfit + ripple


UNSEEN_FUNCTIONS: dict[str, Callable[[Sequence[float], Params], list[float]]] = {
    "wood": lambda x, _p: [_wood(x)],
    "helical_valley": lambda x, _p: [_helical_valley(x)],
    "brown_badly_scaled": lambda x, _p: [_brown_badly_scaled(x)],
    "branin": lambda x, _p: [_branin(x)],
    "six_hump_camel": lambda x, _p: [_six_hump_camel(x)],
    "hartmann3": lambda x, _p: [_hartmann(x, _HARTMANN3_A, _HARTMANN3_P)],
    "hartmann6": lambda x, _p: [_hartmann(x, _HARTMANN6_A, _HARTMANN6_P)],
    "styblinski_tang": lambda x, _p: [_styblinski_tang(x)],
    "ackley": lambda x, _p: [_ackley(x)],
    "floored_quadratic": lambda x, p: [_floored_quadratic(x, p)],
    "g08": lambda x, _p: _g08(x),
    "spring": lambda x, _p: _spring(x),
    "lora_grid": lambda x, _p: [_lora_grid(x)],
}


def evaluate_unseen(name: str, x: Sequence[float], params: Params) -> list[float]:
    return UNSEEN_FUNCTIONS[name](x, params)
