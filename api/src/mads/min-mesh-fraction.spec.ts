/**
 * `minMeshFraction` (issue 15, item 1; docs/algorithm.md, "Options"): on a mixed space whose
 * incumbent is a lattice local minimum with a kink in the continuous variable (the shape of the
 * tabulated HPO problems, linear between grid points), NOMAD's floor lets the continuous
 * variable refine 50 mesh indices down before the frame restarts; the fraction floors it at a
 * share of the range, so the restarts that widen the frame come within the budget.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProblemSpec } from '../optimizer-contract/algorithm';
import { InvalidOptionsError } from '../optimizer-contract/algorithm-errors';
import { Mads, type MadsOptions } from './index';
import { meshSizeOf } from './mesh';
import type { EngineState } from './state';
import { int, real } from './testing/fixtures';

/** |x − 1| plus a value per integer level: level 3 is a lattice local minimum, level 0 the best. */
const LEVELS = [0, 0.3, 0.3, 0.1, 0.3];
const MIXED: ProblemSpec = {
  variables: [real(0, 2), int(0, 4)],
  outputTypes: ['OBJ'],
  x0: [[1.5, 3]],
  maxEvaluations: 200,
  seed: 0,
};
const outputs = (x: readonly number[]): number[] => [Math.abs(x[0] - 1) + LEVELS[x[1]]];

/** Sequential ask(1)/tell up to `count` evaluations; the continuous variable's smallest mesh size seen. */
function run(options: Partial<MadsOptions>, count: number): { state: EngineState; smallestMesh: number } {
  const mads = Mads.create(MIXED, options);
  const state = (mads as unknown as { s: EngineState }).s;
  let smallestMesh = Infinity;
  for (let k = 0; k < count && mads.stopReason === null; k++) {
    const [s] = mads.ask(1);
    mads.tell([{ x: s.x, outputs: outputs(s.x) }]);
    smallestMesh = Math.min(smallestMesh, meshSizeOf(state.mesh, 0));
  }
  return { state, smallestMesh };
}

test('minMeshFraction: the continuous mesh stops at fraction × range and the frame restarts within the budget; NOMAD’s floor does not', () => {
  const floored = run({ minMeshFraction: 1e-3 }, 150);
  assert.ok(floored.smallestMesh >= 1e-3 * 2 * (1 - 1e-9), `smallest mesh ${floored.smallestMesh}`);
  assert.ok(floored.state.restart.count >= 2, `restarts ${floored.state.restart.count}`);
  const nomad = run({}, 150);
  assert.ok(nomad.smallestMesh < 1e-6, `smallest mesh ${nomad.smallestMesh}`);
  assert.ok(nomad.state.restart.count < floored.state.restart.count, `restarts ${nomad.state.restart.count}`);
});

test('minMeshFraction: a given minMeshSize and integer variables keep their own floor', () => {
  const given = run({ minMeshFraction: 1e-3, minMeshSize: [1e-2, null] }, 150);
  assert.ok(given.smallestMesh >= 1e-2 * (1 - 1e-9), `smallest mesh ${given.smallestMesh}`);
  assert.equal(given.state.mesh.minMeshSize[1], 1);
});

test('minMeshFraction: outside [0, 1) is refused naming the option', () => {
  for (const bad of [-0.1, 1, Number.NaN, '0.01']) {
    assert.throws(
      () => Mads.create(MIXED, { minMeshFraction: bad as number }),
      (e: unknown) => e instanceof InvalidOptionsError && /minMeshFraction/.test(e.message),
      String(bad),
    );
  }
});
