"""Usage: python inner-mads-golden.py quad|lin|con BUDGET SEED X0(a,b,c) OUT

Writes api/src/mads/testdata/innerMads*.out: NOMAD 4.5.1 (PyNomadBBO) with the parameters that
QuadModelOptimize gives its inner MADS, on a smooth function in a box."""
import sys, PyNomad
kind, budget, seed, x0, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [float(v) for v in sys.argv[4].split(',')], sys.argv[5]
def f(x):
    if kind == 'quad': return (x[0]-0.3)**2 + 2*(x[1]+0.45)**2 + 0.5*(x[0]-0.3)*(x[1]+0.45) + 0.1*x[2]**2 - 0.05*x[2]
    if kind == 'con': return x[0] + x[1] + 0.3*x[2]
    return x[0] + x[1] - x[2]
def outputs(x):
    return [f(x), x[0]**2 + x[1]**2 + x[2]**2 - 1] if kind == 'con' else [f(x)]
rows = []
def bb(p):
    x = [p.get_coord(i) for i in range(p.size())]
    v = outputs(x); rows.append((x, v[0])); p.setBBO(" ".join(repr(o) for o in v).encode()); return 1
params = ["DIMENSION 3", "BB_OUTPUT_TYPE OBJ" + (" PB" if kind == 'con' else ""), "LOWER_BOUND ( -1 -1 -2 )", "UPPER_BOUND ( 1 1 3 )",
          f"MAX_BB_EVAL {budget}", f"SEED {seed}", "DISPLAY_DEGREE 0", "DIRECTION_TYPE ORTHO 2N",
          "QUAD_MODEL_SEARCH no", "NM_SEARCH no", "SPECULATIVE_SEARCH yes", "ANISOTROPIC_MESH no",
          "EVAL_OPPORTUNISTIC no", "EVAL_USE_CACHE no", "H_MAX_0 inf"]
r = PyNomad.optimize(bb, x0, [], [], params)
with open(out, 'w') as fh:
    fh.write("# NOMAD 4.5.1 (PyNomadBBO 4.5.1), X0 ( %s ), parameters:\n" % " ".join(repr(v) for v in x0))
    for p in params: fh.write("#   %s\n" % p)
    fh.write("# f = %s\n" % {"quad": "(x0-0.3)^2 + 2(x1+0.45)^2 + 0.5(x0-0.3)(x1+0.45) + 0.1 x2^2 - 0.05 x2",
                               "con": "x0 + x1 + 0.3 x2, PB constraint x0^2 + x1^2 + x2^2 - 1 <= 0",
                               "lin": "x0 + x1 - x2"}[kind])
    fh.write("# stop: %s\n# BBE<TAB>x (full precision)<TAB>f\n" % r.get('stop_reason'))
    for i, (x, v) in enumerate(rows):
        fh.write("%d\t%s\t%s\n" % (i + 1, " ".join(repr(c) for c in x), repr(v)))
print(len(rows), r.get('stop_reason'))
