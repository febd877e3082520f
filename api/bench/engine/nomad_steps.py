"""Usage: nomad_steps.py PROBLEM.json SEED BUDGET

One NOMAD 4 run (PyNomadBBO, the benchmark's pinned version) on one benchmark problem (a problem of
nomad_driver.py's JOB.json, written by step-census.js --nomad), with the benchmark's parameters
(nomad_driver.nomad_parameters), printing NOMAD's own line for every evaluation: evaluation
number, the step that generated the point (GEN_STEP), the point, f, and the frame and mesh sizes
it was generated with. For side-by-side traces of the engine and NOMAD (issue 15 item 4); the
benchmark itself never runs it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from nomad_driver import evaluate, nomad_parameters


def main() -> None:
    import PyNomad

    with open(sys.argv[1], encoding="utf-8") as fh:
        problem = json.load(fh)
    seed, budget = int(sys.argv[2]), int(sys.argv[3])
    problem = {**problem, "budget": budget}

    def blackbox(point: Any) -> int:
        x = [point.get_coord(i) for i in range(point.size())]
        try:
            values = evaluate(problem["function"], x, problem["params"])
        except (ArithmeticError, ValueError):
            return 0
        point.setBBO(" ".join(repr(v) for v in values).encode("UTF-8"))
        return 1

    params = [p for p in nomad_parameters(problem, seed, 1) if not p.startswith("DISPLAY_DEGREE")]
    params += [
        "DISPLAY_DEGREE 2",
        "DISPLAY_ALL_EVAL true",
        "DISPLAY_STATS BBE ( SOL ) OBJ ( FRAME_SIZE ) ( MESH_SIZE ) GEN_STEP",
    ]
    # NOMAD prints the lines itself (C++ standard output); the reader keeps those starting with a digit.
    PyNomad.optimize(blackbox, list(problem["x0"]), [], [], params)


if __name__ == "__main__":
    main()
