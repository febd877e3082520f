import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateBenchFunction } from './functions';
import { benchProblems } from './problems';
import { unseenFunctions } from './unseen-functions';
import { problemSet, unseenProblems } from './unseen-problems';

test('unseen problems: ids new, X0 inside the bounds and on the lattice, finite outputs of the right length', () => {
  const benchIds = new Set(benchProblems.map((p) => p.id));
  const ids = new Set<string>();
  for (const p of unseenProblems) {
    assert.ok(!benchIds.has(p.id) && !ids.has(p.id), `${p.id} is not a new id`);
    ids.add(p.id);
    assert.ok(unseenFunctions[p.function] !== undefined, `${p.id}: ${p.function} is not an unseen function`);
    assert.equal(p.x0.length, p.variables.length);
    p.variables.forEach((v, i) => {
      const x = p.x0[i];
      assert.ok(v.lowerBound === null || x >= v.lowerBound, `${p.id}: X0[${i}] below its bound`);
      assert.ok(v.upperBound === null || x <= v.upperBound, `${p.id}: X0[${i}] above its bound`);
      if (v.type === 'I') assert.ok(Number.isInteger(x), `${p.id}: X0[${i}] not integer`);
    });
    const outputs = evaluateBenchFunction(p.function, p.x0, p.params);
    assert.equal(outputs.length, p.outputTypes.length, p.id);
    assert.ok(outputs.every(Number.isFinite), `${p.id}: non-finite output at X0`);
  }
  assert.ok(unseenProblems.length >= 10);
  assert.deepEqual(
    problemSet('all').map((p) => p.id),
    [...benchProblems, ...unseenProblems].map((p) => p.id),
  );
  assert.throws(() => problemSet('nope'), /unknown problem set/);
});

test('unseen functions reach the optima their problems state', () => {
  const at = (name: string, x: number[], params = {}): number[] => evaluateBenchFunction(name, x, params);
  const close = (actual: number, expected: number, tolerance: number, what: string): void =>
    assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
  close(at('wood', [1, 1, 1, 1])[0], 0, 0, 'wood');
  close(at('helical_valley', [1, 0, 0])[0], 0, 1e-12, 'helical valley');
  close(at('brown_badly_scaled', [1e6, 2e-6])[0], 0, 1e-12, 'brown');
  close(at('branin', [Math.PI, 2.275])[0], 0.397887, 1e-6, 'branin');
  close(at('six_hump_camel', [0.0898, -0.7126])[0], -1.031628, 1e-6, 'six-hump camel');
  close(at('hartmann3', [0.114614, 0.555649, 0.852547])[0], -3.86278, 1e-5, 'hartmann 3');
  close(at('hartmann6', [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])[0], -3.32237, 1e-5, 'hartmann 6');
  close(at('styblinski_tang', [-3, -3, -3])[0], -117, 1e-12, 'integer Styblinski–Tang');
  close(at('ackley', [0, 0, 0])[0], 0, 1e-12, 'ackley');
  close(at('branin', [3, 2.388])[0], 0.49398, 1e-5, 'mixed Branin');
  close(at('lora_grid', [5, 0, 6, 3])[0], 1.0992, 1e-4, 'LoRA grid');
  assert.equal(at('lora_grid', [0, 4, 12, 0])[0], 4, 'LoRA grid divergence plateau');
  const g08 = at('g08', [1.2279713, 4.2453733]);
  close(g08[0], -0.095825, 1e-6, 'g08');
  assert.ok(g08[1] <= 0 && g08[2] <= 0, 'g08 optimum feasible');
  const spring = at('spring', [0.06, 0.5, 10]);
  close(spring[0], 0.0216, 1e-12, 'spring X0');
  assert.ok(
    spring.slice(1).every((c) => c <= 0),
    'spring X0 feasible',
  );
  assert.equal(
    at('floored_quadratic', [1.3, -0.7, 2.1, -1.6], { weights: [1, 2, 5, 10], shift: [1.3, -0.7, 2.1, -1.6] })[0],
    0,
  );
});
