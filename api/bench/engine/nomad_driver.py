"""Runs NOMAD 4 (PyNomadBBO) on the engine benchmark's problems and records every evaluation.

Usage: nomad_driver.py JOB.json OUT.json

JOB.json (written by run-engine-bench):
  {"problems": [{"id", "function", "params", "types", "lower", "upper", "granularity", "x0",
                 "outputTypes", "budget"}],
   "runs": [{"problemId", "seed", "blockSize", "cacheFile"}], "workers": 1,
   "checkPoints": [{"problemId", "x"}]}
OUT.json:
  {"pynomadVersion", "runs": [{"problemId", "seed", "blockSize", "x": [[...]],
   "outputs": [[...] | null], "blocks": [block index of each evaluation], "seconds",
   "secondsToLastEvaluation", "stopReason"}], "checks": [{"problemId", "x", "outputs"}]}

blockSize > 1 runs NOMAD's block evaluation (BB_MAX_BLOCK_SIZE): the blackbox receives up to
blockSize points at once, as q parallel runners would; `blocks` says which call each
evaluation came in, so the benchmark can count rounds.

Each finished run is also written at once to its cacheFile (the trace cache of
run-engine-bench), so an interrupted job keeps the runs it finished.

Each run gets a fresh interpreter: PyNomad keeps its random generator in a process-global that
`SEED s` only resets when s differs from the previous run's seed, so two runs in one process
would not be what a user gets from NOMAD with that seed.
NOMAD's own console output (DISPLAY_DEGREE 0 still prints a few notices) goes to stdout;
progress goes to stderr; the results only to OUT.json.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from importlib.metadata import version
from typing import Any

from functions import evaluate as _evaluate_analytic
from hpo_functions import evaluate_hpo
from unseen_functions import UNSEEN_FUNCTIONS, evaluate_unseen


def evaluate(name: str, x: Any, params: Any) -> list[float]:
    """The analytic functions (functions.py), the tabulated HPO problems (hpo_functions.py) and
    the unseen set's functions (unseen_functions.py)."""
    if name.startswith("hpo_"):
        return evaluate_hpo(name, x, params)
    if name in UNSEEN_FUNCTIONS:
        return evaluate_unseen(name, x, params)
    return _evaluate_analytic(name, x, params)


def _vector(values: list[Any]) -> str:
    """NOMAD's vector syntax `( v1 v2 … )`, with `-` for an infinite bound."""
    return "( " + " ".join("-" if v is None else repr(v) for v in values) + " )"


def nomad_parameters(problem: dict[str, Any], seed: int, block_size: int) -> list[str]:
    n = len(problem["x0"])
    block = [f"BB_MAX_BLOCK_SIZE {block_size}"] if block_size > 1 else []
    return block + [
        f"DIMENSION {n}",
        "BB_INPUT_TYPE " + "( " + " ".join(problem["types"]) + " )",
        "BB_OUTPUT_TYPE " + " ".join(problem["outputTypes"]),
        "LOWER_BOUND " + _vector(problem["lower"]),
        "UPPER_BOUND " + _vector(problem["upper"]),
        "GRANULARITY " + _vector(problem["granularity"]),
        f"MAX_BB_EVAL {problem['budget']}",
        f"SEED {seed}",
        "DISPLAY_DEGREE 0",
    ]


def run_one(problem: dict[str, Any], seed: int, block_size: int, journal_path: str | None = None) -> dict[str, Any]:
    """One NOMAD run. Each evaluation is also appended to `journal_path` (JSON lines) as it
    happens, so that a run whose process dies inside NOMAD (an uncaught C++ exception aborts the
    interpreter) still leaves the evaluations it made (see _crashed_run)."""
    import PyNomad  # imported here: each run lives in its own fresh process

    if journal_path is not None:
        os.makedirs(os.path.dirname(journal_path), exist_ok=True)
    journal = open(journal_path, "w", encoding="utf-8") if journal_path is not None else None  # noqa: SIM115

    xs: list[list[float]] = []
    outputs: list[list[float] | None] = []
    blocks: list[int] = []
    started = time.perf_counter()
    last_evaluation = started

    def evaluate_point(point: Any, block: int) -> int:
        nonlocal last_evaluation
        last_evaluation = time.perf_counter()
        x = [point.get_coord(i) for i in range(point.size())]
        xs.append(x)
        blocks.append(block)
        try:
            values = evaluate(problem["function"], x, problem["params"])
        except (ArithmeticError, ValueError):
            outputs.append(None)
            return 0  # a failed evaluation, as NOMAD understands it
        # JSON has no inf/nan: a non-finite output is recorded as a failed evaluation, which
        # is all the profile needs (it can never be the best feasible value).
        outputs.append(values if all(math.isfinite(v) for v in values) else None)
        if journal is not None:
            journal.write(json.dumps({"x": x, "outputs": outputs[-1], "block": block}) + "\n")
            journal.flush()
        point.setBBO(" ".join(repr(v) for v in values).encode("UTF-8"))
        return 1

    calls = 0

    def blackbox(point: Any) -> int:
        nonlocal calls
        calls += 1
        return evaluate_point(point, calls - 1)

    def blackbox_block(block: Any) -> list[int]:
        nonlocal calls
        calls += 1
        return [evaluate_point(block.get_x(i), calls - 1) for i in range(block.size())]

    result = PyNomad.optimize(
        blackbox_block if block_size > 1 else blackbox,
        list(problem["x0"]),
        [],
        [],
        nomad_parameters(problem, seed, block_size),
    )
    seconds = time.perf_counter() - started
    if journal is not None:
        journal.close()
        os.remove(journal_path)
    # All-granular problems make NOMAD set MAX_EVAL (cache hits included) and it may spend
    # most of a run revisiting cached points after its last blackbox evaluation.
    return _trace(
        problem,
        seed,
        block_size,
        (xs, outputs, blocks),
        (seconds, last_evaluation - started),
        str(result.get("stop_reason", "")),
    )


def _tpe_bounds(problem: dict[str, Any], i: int) -> tuple[float, float]:
    """TPE needs a box: a missing bound becomes X0 ± 10 (documented in docs/benchmarks.md)."""
    lo = problem["lower"][i]
    hi = problem["upper"][i]
    x0 = problem["x0"][i]
    return (x0 - 10 if lo is None else lo, x0 + 10 if hi is None else hi)


def run_tpe(problem: dict[str, Any], seed: int, budget: int) -> dict[str, Any]:
    """Optuna's TPE (default settings, seeded) with X0 enqueued first; PB outputs as constraints."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    xs: list[list[float]] = []
    outputs: list[list[float] | None] = []
    pb = [i for i, t in enumerate(problem["outputTypes"]) if t in ("PB", "EB")]
    obj = problem["outputTypes"].index("OBJ")
    started = time.perf_counter()

    def objective(trial: Any) -> float:
        x: list[float] = []
        for i, kind in enumerate(problem["types"]):
            lo, hi = _tpe_bounds(problem, i)
            g = problem["granularity"][i]
            name = f"x{i}"
            if kind in ("I", "B"):
                x.append(float(trial.suggest_int(name, int(lo), int(hi))))
            elif g > 0:
                x.append(round(trial.suggest_float(name, lo, hi, step=g), 12))
            else:
                x.append(trial.suggest_float(name, lo, hi))
        xs.append(x)
        try:
            values = evaluate(problem["function"], x, problem["params"])
        except (ArithmeticError, ValueError):
            outputs.append(None)
            trial.set_user_attr("c", [1.0] * len(pb))
            return float("inf")
        ok = all(math.isfinite(v) for v in values)
        outputs.append(values if ok else None)
        trial.set_user_attr("c", [values[i] if ok else 1.0 for i in pb])
        return values[obj] if ok else float("inf")

    sampler = optuna.samplers.TPESampler(
        seed=seed, constraints_func=(lambda t: t.user_attrs["c"]) if pb else None
    )
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial({f"x{i}": v for i, v in enumerate(problem["x0"])})
    study.optimize(objective, n_trials=budget)
    return {
        "problemId": problem["id"],
        "seed": seed,
        "blockSize": 1,
        "solver": "tpe",
        "x": xs,
        "outputs": outputs,
        "blocks": list(range(len(xs))),
        "seconds": time.perf_counter() - started,
        "secondsToLastEvaluation": time.perf_counter() - started,
        "stopReason": "budget",
    }


def run_smac(problem: dict[str, Any], seed: int, budget: int) -> dict[str, Any]:
    """SMAC3's black-box facade (Gaussian process, EI), seeded, X0 as its default configuration.

    SMAC has no constraints: a PB problem is given f + 1e3·Σ max(c, 0)² (the trace records the
    true outputs; the profiles only count feasible points). Its acquisition maximiser is the
    facade's with fewer challengers (200 instead of 1,000, 2 local-search rounds instead of 10):
    the default one took 12–70 s per trial on the shared 2-core machine (docs/benchmarks.md).
    """
    import tempfile

    from ConfigSpace import ConfigurationSpace, Float, Integer
    from smac import BlackBoxFacade, Scenario

    xs: list[list[float]] = []
    outputs: list[list[float] | None] = []
    pb = [i for i, t in enumerate(problem["outputTypes"]) if t in ("PB", "EB")]
    obj = problem["outputTypes"].index("OBJ")
    space = ConfigurationSpace(seed=seed)
    for i, kind in enumerate(problem["types"]):
        lo, hi = _tpe_bounds(problem, i)
        x0 = problem["x0"][i]
        if kind in ("I", "B"):
            space.add(Integer(f"x{i}", (int(lo), int(hi)), default=int(x0)))
        else:
            space.add(Float(f"x{i}", (float(lo), float(hi)), default=float(x0)))
    started = time.perf_counter()

    def target(config: Any, seed: int = 0) -> float:
        x: list[float] = []
        for i, kind in enumerate(problem["types"]):
            v = float(config[f"x{i}"])
            g = problem["granularity"][i]
            if kind == "R" and g > 0:
                lo, hi = _tpe_bounds(problem, i)
                v = min(max(round(round(v / g) * g, 12), lo), hi)
            x.append(v)
        xs.append(x)
        try:
            values = evaluate(problem["function"], x, problem["params"])
        except (ArithmeticError, ValueError):
            outputs.append(None)
            return 1e30
        if not all(math.isfinite(v) for v in values):
            outputs.append(None)
            return 1e30
        outputs.append(values)
        return values[obj] + 1e3 * sum(max(values[i], 0.0) ** 2 for i in pb)

    with tempfile.TemporaryDirectory() as out_dir:
        scenario = Scenario(space, deterministic=True, n_trials=budget, seed=seed, output_directory=out_dir)
        smac = BlackBoxFacade(
            scenario,
            target,
            overwrite=True,
            logging_level=40,
            initial_design=BlackBoxFacade.get_initial_design(
                scenario, additional_configs=[space.get_default_configuration()]
            ),
            acquisition_maximizer=BlackBoxFacade.get_acquisition_maximizer(
                scenario, challengers=200, local_search_iterations=2
            ),
        )
        smac.optimize()
    return {
        "problemId": problem["id"],
        "seed": seed,
        "blockSize": 1,
        "solver": "smac",
        "x": xs,
        "outputs": outputs,
        "blocks": list(range(len(xs))),
        "seconds": time.perf_counter() - started,
        "secondsToLastEvaluation": time.perf_counter() - started,
        "stopReason": "budget",
    }


def run_any(
    problem: dict[str, Any],
    seed: int,
    block_size: int,
    solver: str,
    bo_factor: int = 20,
    journal_path: str | None = None,
) -> dict[str, Any]:
    if solver == "smac":
        n = len(problem["x0"])
        return run_smac(problem, seed, min(problem["budget"], bo_factor * (n + 1)))
    if solver == "tpe":
        n = len(problem["x0"])
        return run_tpe(problem, seed, min(problem["budget"], TPE_BUDGET_FACTOR * (n + 1)))
    return run_one(problem, seed, block_size, journal_path)


def _crashed_run(problem: dict[str, Any], seed: int, block_size: int, journal_path: str) -> dict[str, Any]:
    """The trace of a NOMAD run whose process died (PyNomadBBO 4.6.0 aborts on some integer
    problems, docs/benchmarks.md): the evaluations it made before, as a user would have them."""
    xs: list[list[float]] = []
    outputs: list[list[float] | None] = []
    blocks: list[int] = []
    if os.path.exists(journal_path):
        with open(journal_path, encoding="utf-8") as journal:
            for line in journal:
                if not line.endswith("\n"):
                    break  # the line being written when the process died
                entry = json.loads(line)
                xs.append(entry["x"])
                outputs.append(entry["outputs"])
                blocks.append(entry["block"])
        os.remove(journal_path)
    return _trace(
        problem,
        seed,
        block_size,
        (xs, outputs, blocks),
        (0.0, 0.0),
        f"crashed: the NOMAD process died after {len(xs)} evaluations",
    )


def _trace(
    problem: dict[str, Any],
    seed: int,
    block_size: int,
    evaluations: tuple[list[list[float]], list[list[float] | None], list[int]],
    seconds: tuple[float, float],
    stop_reason: str,
) -> dict[str, Any]:
    """One NOMAD run as nomad.ts reads it: every evaluation in order (point, outputs or None for a
    failed one, the block it came in), total seconds and seconds to the last evaluation."""
    xs, outputs, blocks = evaluations
    return {
        "problemId": problem["id"],
        "seed": seed,
        "blockSize": block_size,
        "x": xs,
        "outputs": outputs,
        "blocks": blocks,
        "seconds": seconds[0],
        "secondsToLastEvaluation": seconds[1],
        "stopReason": stop_reason,
    }


# Optuna's TPE is run up to 20·(n+1) evaluations: the small budgets issue 15 compares at.
TPE_BUDGET_FACTOR = 20


def _version(package: str) -> str:
    """The installed version, or "" (the BO venv has SMAC and no PyNomad, the other the reverse)."""
    try:
        return version(package)
    except Exception:  # noqa: BLE001 - PackageNotFoundError and friends
        return ""


def _write_atomically(path: str, content: Any) -> None:
    # The temporary name is this process's own: two benchmarks filling the same trace cache at
    # once (two checkouts, one cache) must not truncate or rename each other's half-written file.
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(content, file)
    os.replace(temporary, path)


def main(job_path: str, out_path: str) -> None:
    with open(job_path, encoding="utf-8") as job_file:
        job = json.load(job_file)
    problems = {p["id"]: p for p in job["problems"]}
    tasks = [
        (
            problems[run["problemId"]],
            run["seed"],
            int(run.get("blockSize", 1)),
            run.get("solver", "nomad"),
            run["cacheFile"],
        )
        for run in job["runs"]
    ]

    runs: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")
    bo_factor = int(job.get("boBudgetFactor", 20))
    # Per driver process, for the same reason as _write_atomically: another benchmark running the
    # same trace at the same time removed this one's journal when its run ended (FileNotFoundError).
    journal = {i: f"{task[4]}.{os.getpid()}.journal" for i, task in enumerate(tasks)}
    # A process that dies breaks the whole pool: the runs it took down are rerun one by one,
    # each in a pool of its own, and the one that dies alone is recorded as crashed.
    broken: list[int] = []
    done = 0

    def record(run: dict[str, Any], cache_file: str) -> None:
        nonlocal done
        done += 1
        runs.append(run)
        _write_atomically(cache_file, run)
        print(
            f"nomad_driver: {done}/{len(tasks)} {run['problemId']} seed {run['seed']} "
            f"{run.get('solver', 'nomad')} block {run['blockSize']}: "
            f"{len(run['x'])} evaluations in {run['seconds']:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    with ProcessPoolExecutor(
        max_workers=int(job.get("workers", 1)), mp_context=context, max_tasks_per_child=1
    ) as pool:
        futures = [
            pool.submit(run_any, problem, seed, block, solver, bo_factor, journal[i])
            for i, (problem, seed, block, solver, _) in enumerate(tasks)
        ]
        for i, future in enumerate(futures):
            try:
                record(future.result(), tasks[i][4])
            except BrokenProcessPool:
                broken.append(i)
    for i in broken:
        problem, seed, block, solver, cache_file = tasks[i]
        with ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1) as alone:
            try:
                run = alone.submit(run_any, problem, seed, block, solver, bo_factor, journal[i]).result()
            except BrokenProcessPool:
                if solver != "nomad":
                    raise
                run = _crashed_run(problem, seed, block, journal[i])
        record(run, cache_file)

    checks = [
        {
            "problemId": check["problemId"],
            "x": check["x"],
            "outputs": evaluate(
                problems[check["problemId"]]["function"],
                check["x"],
                problems[check["problemId"]]["params"],
            ),
        }
        for check in job.get("checkPoints", [])
    ]
    with open(out_path, "w", encoding="utf-8") as out_file:
        json.dump(
            {"pynomadVersion": _version("PyNomadBBO"), "smacVersion": _version("smac"), "runs": runs, "checks": checks},
            out_file,
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
