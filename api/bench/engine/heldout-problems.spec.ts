import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateBenchFunction } from './functions';
import { heldoutFunctions, heldoutProblems } from './heldout-problems';
import { benchProblems } from './problems';
import { problemSet, unseenProblems } from './unseen-problems';

/** Every point of the problem's integer lattice (the continuous variable of mixed_camel_3: 0). */
function latticeMinimum(id: string): { f: number; x: number[] } {
  const p = heldoutProblems.find((q) => q.id === id)!;
  const axes = p.variables.map((v) =>
    v.type === 'I' ? Array.from({ length: v.upperBound! - v.lowerBound! + 1 }, (_, i) => v.lowerBound! + i) : [0],
  );
  let best = { f: Infinity, x: [] as number[] };
  const visit = (k: number, x: number[]): void => {
    if (k === axes.length) {
      const f = evaluateBenchFunction(p.function, x, p.params)[0];
      if (f < best.f) best = { f, x: [...x] };
      return;
    }
    for (const v of axes[k]) visit(k + 1, [...x, v]);
  };
  visit(0, []);
  return best;
}

test('held-out problems: ids in neither set, integer or mixed, X0 inside the bounds and on the lattice', () => {
  const known = new Set([...benchProblems, ...unseenProblems].map((p) => p.id));
  for (const p of heldoutProblems) {
    assert.ok(!known.has(p.id), `${p.id} is in the bench or unseen set`);
    assert.ok(heldoutFunctions[p.function] !== undefined, p.id);
    assert.ok(
      p.variables.some((v) => v.type === 'I'),
      `${p.id} has no integer variable`,
    );
    p.variables.forEach((v, i) => {
      assert.ok(p.x0[i] >= v.lowerBound! && p.x0[i] <= v.upperBound!, `${p.id}: X0[${i}] outside its bounds`);
      if (v.type === 'I') assert.ok(Number.isInteger(p.x0[i]), `${p.id}: X0[${i}] not integer`);
    });
    assert.ok(evaluateBenchFunction(p.function, p.x0, p.params).every(Number.isFinite), p.id);
  }
  assert.deepEqual(
    problemSet('heldout').map((p) => p.id),
    heldoutProblems.map((p) => p.id),
  );
});

test('held-out problems: the lattice optima are where the problems say, and not at X0', () => {
  const expect: Record<string, { x: number[]; f: number }> = {
    lora_small_data_5: { x: [2, 2, 7, 0, 2], f: 1.4492 },
    two_basin_grid_4: { x: [5, 10, 5, 4], f: 0.44612 },
    lattice_rastrigin_3: { x: [1, -3, 2], f: 0 },
    rotated_wells_3: { x: [-12, -6, 0], f: -112.42298 },
    mixed_camel_3: { x: [0, -3, 0], f: -0.98438 },
  };
  for (const [id, want] of Object.entries(expect)) {
    const got = latticeMinimum(id);
    assert.deepEqual(got.x, want.x, id);
    assert.ok(Math.abs(got.f - want.f) < 1e-4, `${id}: ${got.f}`);
    const p = heldoutProblems.find((q) => q.id === id)!;
    assert.ok(evaluateBenchFunction(p.function, p.x0, p.params)[0] > got.f + 1e-3, `${id}: X0 is optimal`);
  }
  // lattice_levy_4 (194,481 points): its optimum 2·1 by the function's form (w = 1 there).
  assert.ok(evaluateBenchFunction('lattice_levy', [2, 2, 2, 2], {})[0] < 1e-12);
});
