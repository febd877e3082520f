/**
 * Golden trace A (testdata/goldenA.txt → goldenA.out): NOMAD 4.5.1 with ORTHO 2N, no searches,
 * EVAL_QUEUE_SORT DIR_LAST_SUCCESS, seed 0, on 3-D Rosenbrock. Replayed point by point.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import type { ProblemSpec } from '../optimizer-contract/algorithm';
import { Mads } from './index';
import { int, rosenbrock, ROSENBROCK_3D } from './testing/fixtures';

interface TraceRow {
  bbe: number;
  x: number[];
  f: number;
  frame: number[] | null;
  mesh: number[] | null;
}

function parseVector(text: string): number[] | null {
  const t = text.trim();
  if (t === '') return null;
  return t.split(/\s+/).map(Number);
}

function readTrace(name: string): TraceRow[] {
  const file = resolve(process.cwd(), 'api/src/mads/testdata', name);
  const rows: TraceRow[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d+)\t\(([^)]*)\)\t\s*([-\d.e+]+)\s*\t\(([^)]*)\)\t\(([^)]*)\)/.exec(line);
    if (m === null) continue;
    rows.push({
      bbe: Number(m[1]),
      x: parseVector(m[2]) as number[],
      f: Number(m[3]),
      frame: parseVector(m[4]),
      mesh: parseVector(m[5]),
    });
  }
  return rows;
}

/** The traces' problem (testdata/goldenA.txt, goldenB.txt): 3-D Rosenbrock from (0.5, 0.5, 0.5), seed 0. */
const PROBLEM: ProblemSpec = {
  ...ROSENBROCK_3D,
  x0: [[0.5, 0.5, 0.5]],
  maxEvaluations: 60,
  seed: 0,
};

test('golden trace A: 60 evaluations match NOMAD 4.5.1 exactly (points, f, frame and mesh sizes)', () => {
  const rows = readTrace('goldenA.out');
  assert.equal(rows.length, 60);
  const mads = Mads.create(PROBLEM, {
    preset: 'nomad4',
    directionType: 'ORTHO 2N',
    speculativeSearch: false,
    quadModelSearch: false,
    nmSearch: false,
    evalQueueSort: 'DIR_LAST_SUCCESS',
  });
  for (const row of rows) {
    const [s] = mads.ask(1);
    assert.ok(s !== undefined, `BBE ${row.bbe}: no suggestion`);
    s.x.forEach((v, i) => assert.ok(Math.abs(v - row.x[i]) < 1e-12, `BBE ${row.bbe}: x=${s.x} expected ${row.x}`));
    const f = rosenbrock(s.x);
    assert.ok(Math.abs(f - row.f) <= 1e-6 * Math.max(1, Math.abs(row.f)), `BBE ${row.bbe}: f=${f} expected ${row.f}`);
    if (row.frame !== null) assert.deepEqual(mads.frameSize(), row.frame, `BBE ${row.bbe}: frame`);
    if (row.mesh !== null) assert.deepEqual(mads.meshSize(), row.mesh, `BBE ${row.bbe}: mesh`);
    mads.tell([{ x: s.x, outputs: [f] }]);
  }
  assert.deepEqual(mads.stopReason, { kind: 'MAX_BB_EVAL', evaluations: 60 });
  assert.deepEqual(mads.bestFeasible()?.x, [0.66, 0.46, 0.16]);
});

test('golden trace B: ORTHO N+1 NEG with speculative and Nelder-Mead searches, 60 evaluations match (NM uncapped)', () => {
  const rows = readTrace('goldenB.out');
  assert.equal(rows.length, 60);
  // goldenB.txt: defaults except DIRECTION_TYPE ORTHO N+1 NEG and QUAD_MODEL_SEARCH no;
  // NM_SEARCH_MAX_TRIAL_PTS_NFACTOR is effectively unlimited in 4.5.1 (Appendix D #3).
  const mads = Mads.create(PROBLEM, {
    preset: 'nomad4',
    directionType: 'ORTHO N+1 NEG',
    quadModelSearch: false,
    nmMaxTrialPointsNFactor: 0,
  });
  for (const row of rows) {
    const [s] = mads.ask(1);
    assert.ok(s !== undefined, `BBE ${row.bbe}: no suggestion`);
    s.x.forEach((v, i) => assert.ok(Math.abs(v - row.x[i]) < 1e-12, `BBE ${row.bbe}: x=${s.x} expected ${row.x}`));
    if (row.frame !== null) assert.deepEqual(mads.frameSize(), row.frame, `BBE ${row.bbe}: frame`);
    mads.tell([{ x: s.x, outputs: [rosenbrock(s.x)] }]);
  }
});

for (const preset of ['nomad4', 'meshtune'] as const) {
  test(`preset ${preset}, NOMAD's defaults otherwise (ORTHO N+1 QUAD, all searches): the first 5 evaluations match NOMAD's default run (the same as goldenB.out's first 5)`, () => {
    const rows = readTrace('goldenB.out').slice(0, 5);
    const mads = Mads.create(PROBLEM, { preset });
    for (const row of rows) {
      const [s] = mads.ask(1);
      assert.deepEqual(s.x, row.x, `BBE ${row.bbe}`);
      mads.tell([{ x: s.x, outputs: [rosenbrock(s.x)] }]);
    }
  });
}

/**
 * Golden trace C (testdata/integerCapacity.out, written by testdata/nomad-integer-golden.py in
 * about 2 s): NOMAD 4.6.0 (PyNomadBBO, as the engine benchmark runs it; 4.5.1 gives the same
 * points) with its defaults on the benchmark's `integer_capacity_4` — four integer variables in
 * [0, 10], one PB constraint — seed 3. Its quadratic-model searches minimise a constraint model,
 * so their inner MADS ends on the mesh precision with an infeasible incumbent: NOMAD still draws
 * that last iteration's DOUBLE direction (`Poll::generateTrialPointsImp`), and the outer poll at
 * evaluation 7 draws the next direction. Without that draw evaluation 7 was another point.
 * The preset repeats NOMAD for the first EVALUATIONS_C evaluations (docs/algorithm.md, "The
 * nomad4 preset on integer and constrained spaces" has where and why it parts after them).
 */
const EVALUATIONS_C = 11;

test(`golden trace C: an integer problem with a PB constraint, the first ${EVALUATIONS_C} evaluations match NOMAD 4.6.0 (points, frame and mesh sizes)`, () => {
  const rows = readTrace('integerCapacity.out');
  assert.equal(rows.length, 40);
  const weights = [1, 1, 2, 2];
  const shift = [3.3, 4.6, 2.2, 5.7];
  const outputs = (x: readonly number[]): number[] => [
    x.reduce((f, v, i) => f + weights[i] * (v - shift[i]) ** 2, 0),
    x.reduce((s, v) => s + v, 0) - 10,
  ];
  const mads = Mads.create(
    {
      variables: [int(0, 10), int(0, 10), int(0, 10), int(0, 10)],
      outputTypes: ['OBJ', 'PB'],
      x0: [[0, 0, 0, 0]],
      maxEvaluations: 40,
      seed: 3,
    },
    { preset: 'nomad4' },
  );
  for (const row of rows.slice(0, EVALUATIONS_C)) {
    const [s] = mads.ask(1);
    assert.ok(s !== undefined, `BBE ${row.bbe}: no suggestion`);
    // === on numbers: NOMAD prints some zeros as −0.
    assert.ok(
      s.x.length === row.x.length && s.x.every((v, i) => v === row.x[i]),
      `BBE ${row.bbe}: x=${s.x} expected ${row.x}`,
    );
    if (row.frame !== null) assert.deepEqual(mads.frameSize(), row.frame, `BBE ${row.bbe}: frame`);
    if (row.mesh !== null) assert.deepEqual(mads.meshSize(), row.mesh, `BBE ${row.bbe}: mesh`);
    mads.tell([{ x: s.x, outputs: outputs(s.x) }]);
  }
});
