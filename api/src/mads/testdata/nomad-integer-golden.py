"""Usage: python nomad-integer-golden.py OUT [SEED] [BUDGET]

Writes api/src/mads/testdata/integerCapacity.out: NOMAD 4.6.0 (PyNomadBBO, the version the engine
benchmark pins in api/bench/engine/requirements.txt) with its default parameters, as the benchmark's
nomad_driver.py runs it, on the benchmark problem `integer_capacity_4` (api/bench/engine/problems.ts):
four integer variables in [0, 10], X0 = 0, minimise sum w_i (x_i - s_i)^2 subject to the PB
constraint sum x_i - 10 <= 0. One line per evaluation: BBE, point, objective, frame and mesh sizes
when the point was generated, and the step that generated it (NOMAD's DISPLAY_STATS). About 2 s.
Replayed by api/src/mads/golden.spec.ts."""
import os
import sys
import tempfile
from importlib.metadata import version

import PyNomad

out = sys.argv[1]
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 3
budget = int(sys.argv[3]) if len(sys.argv) > 3 else 40
weights, shift, capacity = [1, 1, 2, 2], [3.3, 4.6, 2.2, 5.7], 10


def outputs(x):
    f = sum(w * (xi - s) ** 2 for w, xi, s in zip(weights, x, shift))
    return [f, sum(x) - capacity]


def bb(p):
    x = [p.get_coord(i) for i in range(p.size())]
    p.setBBO(" ".join(repr(v) for v in outputs(x)).encode())
    return 1


params = [
    "DIMENSION 4", "BB_INPUT_TYPE ( I I I I )", "BB_OUTPUT_TYPE OBJ PB",
    "LOWER_BOUND ( 0 0 0 0 )", "UPPER_BOUND ( 10 10 10 10 )", "GRANULARITY ( 0 0 0 0 )",
    f"MAX_BB_EVAL {budget}", f"SEED {seed}",
    "DISPLAY_DEGREE 2", "DISPLAY_ALL_EVAL true",
    "DISPLAY_STATS BBE ( SOL ) OBJ ( FRAME_SIZE ) ( MESH_SIZE ) GEN_STEP",
]
# NOMAD writes its display to the process's standard output (C++): capture file descriptor 1.
with tempfile.TemporaryFile(mode="w+") as capture:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(capture.fileno(), 1)
    try:
        PyNomad.optimize(bb, [0.0, 0.0, 0.0, 0.0], [], [], params)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    capture.seek(0)
    lines = [line for line in capture.read().split("\n") if line[:1].isdigit()]
with open(out, "w") as fh:
    fh.write("# NOMAD (PyNomadBBO %s), seed %d, integer_capacity_4, X0 ( 0 0 0 0 ), parameters:\n" % (version("PyNomadBBO"), seed))
    for p in params:
        fh.write("#   %s\n" % p)
    fh.write("# f = (x0-3.3)^2 + (x1-4.6)^2 + 2(x2-2.2)^2 + 2(x3-5.7)^2, PB: x0+x1+x2+x3-10 <= 0\n")
    fh.write("# BBE<TAB>( x )<TAB>f<TAB>( frame size )<TAB>( mesh size )<TAB>step\n")
    for line in lines:
        fh.write(line.rstrip() + "\n")
print(len(lines), "evaluations written to", out)
