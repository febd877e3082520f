"""Optuna's pruners on the tabulated curves of `npm run bench:fidelity`.

Reads the curves file written by run-fidelity-bench.ts (every configuration's curve, per problem
and seed) and runs, for each problem and seed, Optuna studies with the samplers
  replay  the same fixed sequence of configurations meshtune's side runs (enqueue_trial), so the
          comparison isolates the pruner, and
  tpe     TPESampler(seed) choosing configurations itself (Optuna as its users run it),
each with NopPruner, MedianPruner, SuccessiveHalvingPruner and HyperbandPruner (Optuna defaults,
Hyperband given max_resource = the run's steps). A trial reports the tabulated value of its
configuration at steps 1..T and asks should_prune() after each; the study ends when the GPU-second
budget is spent (the trial running then is cut) or after max_trials.

Prints one JSON object: per study the log of its trials (configuration, steps run, state).
The metrics are computed on the TypeScript side, the same code for every system.

Usage: python optuna_pruners.py CURVES_JSON
"""

from __future__ import annotations

import json
import sys
import time

import optuna


def make_pruner(name: str, total_steps: int) -> optuna.pruners.BasePruner:
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner()
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=total_steps)
    raise ValueError(name)


def config_of(params: dict[str, int], levels: list[int]) -> int:
    """Mixed-radix index of a configuration, first variable most significant (as curves.ts)."""
    index = 0
    for d, size in enumerate(levels):
        index = index * size + params[f"x{d}"]
    return index


def params_of(index: int, levels: list[int]) -> dict[str, int]:
    digits = []
    for size in reversed(levels):
        digits.append(index % size)
        index //= size
    return {f"x{d}": v for d, v in enumerate(reversed(digits))}


def run_study(
    problem: dict, seed_data: dict, sampler_name: str, pruner_name: str, settings: dict
) -> dict:
    # A problem may carry its own run length and budget (the real curves are shorter).
    settings = {**settings, **problem.get("settings", {})}
    total_steps = settings["totalSteps"]
    seconds_per_step = settings["secondsPerStep"]
    budget = settings["maxGpuSeconds"]
    max_trials = settings["maxTrials"]
    levels = problem["levels"]
    curves = seed_data["curves"]
    sampler = (
        optuna.samplers.TPESampler(seed=seed_data["seed"])
        if sampler_name == "tpe"
        else optuna.samplers.RandomSampler(seed=seed_data["seed"])
    )
    # A fixed name: HyperbandPruner puts a trial in a bracket by a hash of the study's name and the
    # trial's number, so Optuna's random default name made its decisions differ from run to run.
    study = optuna.create_study(
        study_name=f"{problem['id']}-{seed_data['seed']}-{sampler_name}-{pruner_name}",
        direction="minimize",
        sampler=sampler,
        pruner=make_pruner(pruner_name, total_steps),
    )
    if sampler_name == "replay":
        for index in seed_data["sequence"][:max_trials]:
            study.enqueue_trial(params_of(index, levels))
    log = []
    spent = 0.0
    started = time.perf_counter()
    while spent < budget and len(log) < max_trials:
        trial = study.ask()
        params = {f"x{d}": trial.suggest_int(f"x{d}", 0, size - 1) for d, size in enumerate(levels)}
        config = config_of(params, levels)
        curve = curves[config]
        state = "complete"
        steps = 0
        for step in range(1, total_steps + 1):
            if spent >= budget:
                state = "cut"
                break
            steps = step
            spent += seconds_per_step
            trial.report(curve[step - 1], step)
            if step < total_steps and trial.should_prune():
                state = "pruned"
                break
        if state == "complete":
            study.tell(trial, curve[total_steps - 1])
        elif state == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log.append({"config": config, "steps": steps, "state": state})
        if state == "cut":
            break
    return {
        "problem": problem["id"],
        "seed": seed_data["seed"],
        "system": f"optuna_{sampler_name}_{pruner_name}",
        "trials": log,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        data = json.load(handle)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = data["settings"]
    studies = []
    for problem in data["problems"]:
        for seed_data in problem["seeds"]:
            for sampler_name in settings["samplers"]:
                for pruner_name in settings["pruners"]:
                    studies.append(
                        run_study(problem, seed_data, sampler_name, pruner_name, settings)
                    )
                    print(
                        f"optuna: {problem['id']} seed {seed_data['seed']} "
                        f"{sampler_name}/{pruner_name} done",
                        file=sys.stderr,
                        flush=True,
                    )
    json.dump({"optuna": optuna.__version__, "studies": studies}, sys.stdout)


if __name__ == "__main__":
    main()
