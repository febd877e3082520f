/**
 * `surrogateObjectiveScale` (search/surrogate.ts `objectiveScale` / `objectiveModel`,
 * docs/algorithm.md, "Surrogate search"): the scales are monotone in f, the warping's Jacobian is
 * the one of the formula, 'auto' keeps the scale with the larger likelihood of f, and on a valley
 * whose two best points nearly tie the rank fit's mean never goes below the incumbent's score
 * while the raw, log and auto fits' does; the option is validated and leaves the default run as
 * it was.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProblemSpec, VariableSpec } from '../optimizer-contract/algorithm';
import { Mads, type MadsOptions } from './index';
import { fitGp, predictGp } from './model/gp';
import { LOG_SCALE_OFFSET, objectiveModel, objectiveScale } from './search/surrogate';

/** (x − 0.545)² on 11 even points of [0, 1]: 0.5 (f = 0.002025) and 0.6 (0.003025) nearly tie. */
const valleyX = Array.from({ length: 11 }, (_, i) => [i / 10]);
const valleyF = valleyX.map(([x]) => (x - 0.545) ** 2);

function lowestMean(scale: MadsOptions['surrogateObjectiveScale']): { below: number; scale: string } {
  const fitted = objectiveModel(valleyX, valleyF, [], scale);
  assert.ok(fitted !== null);
  let lowest = Infinity;
  for (let i = 0; i <= 1000; i++) lowest = Math.min(lowest, predictGp(fitted.model, [i / 1000]).mean[0]);
  return { below: Math.min(...fitted.y) - lowest, scale: fitted.scale };
}

test('ranks: the mean never goes below the incumbent on a near-tie valley; raw, log and auto: it does, between the two best points', () => {
  const ranks = lowestMean('ranks');
  assert.ok(ranks.below < 0, `rank fit's lowest mean is ${-ranks.below} above the incumbent's score`);
  for (const scale of ['raw', 'log', 'auto'] as const) {
    const fitted = lowestMean(scale);
    assert.ok(fitted.below > 0.005, `${scale}: lowest mean only ${fitted.below} below the incumbent's score`);
  }
  // Where: between the incumbent (0.5) and the runner-up (0.6), near the true minimum 0.545.
  const fitted = objectiveModel(valleyX, valleyF, [], 'log');
  assert.ok(fitted !== null);
  const best = Math.min(...fitted.y);
  assert.ok(predictGp(fitted.model, [0.54]).mean[0] < best);
  assert.ok(predictGp(fitted.model, [0.9]).mean[0] > best);
});

test('the scales are monotone in f, standardised, and carry their Jacobian', () => {
  const fs = [3, -1, 10, 2.5, 1e4, -1, 7];
  for (const scale of ['ranks', 'raw', 'log'] as const) {
    const { values } = objectiveScale(fs, scale);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    assert.ok(Math.abs(mean) < 1e-12, `${scale}: mean ${mean}`);
    for (let i = 0; i < fs.length; i++)
      for (let j = 0; j < fs.length; j++) {
        if (fs[i] < fs[j]) assert.ok(values[i] < values[j], `${scale}: not increasing at ${fs[i]}, ${fs[j]}`);
        if (fs[i] === fs[j]) assert.equal(values[i], values[j]);
      }
  }
  assert.ok(Number.isNaN(objectiveScale(fs, 'ranks').logJacobian));
  // raw: y = (f − m)/sd, so Σ log dy/df = −n·log sd (population sd).
  const m = fs.reduce((s, v) => s + v, 0) / fs.length;
  const sd = Math.sqrt(fs.reduce((s, v) => s + (v - m) ** 2, 0) / fs.length);
  assert.ok(Math.abs(objectiveScale(fs, 'raw').logJacobian + fs.length * Math.log(sd)) < 1e-9);
  // log: y = (log(f − min + δ) − m')/sd', dy/df = 1/((f − min + δ)·sd'), checked by a difference quotient.
  const delta = LOG_SCALE_OFFSET * (1e4 - -1);
  const logs = fs.map((f) => Math.log(f + 1 + delta));
  const ml = logs.reduce((s, v) => s + v, 0) / logs.length;
  const sdl = Math.sqrt(logs.reduce((s, v) => s + (v - ml) ** 2, 0) / logs.length);
  const expected = fs.reduce((s, f) => s - Math.log((f + 1 + delta) * sdl), 0);
  assert.ok(Math.abs(objectiveScale(fs, 'log').logJacobian - expected) < 1e-9);
  // Equal values: defined (δ = 1, sd 1), all zero.
  assert.deepEqual(objectiveScale([2, 2, 2], 'log').values, [0, 0, 0]);
  assert.deepEqual(objectiveScale([2, 2, 2], 'raw').values, [0, 0, 0]);
});

test("'auto' keeps the scale whose likelihood of f (GP evidence + Jacobian) is larger", () => {
  const cases: [number[][], number[]][] = [
    [valleyX, valleyF],
    [valleyX, valleyX.map(([x]) => Math.exp(8 * x))],
    [valleyX, valleyX.map(([x]) => Math.sin(6 * x))],
  ];
  const chosen = new Set<string>();
  for (const [xs, fs] of cases) {
    const evidence = (scale: 'raw' | 'log'): number => {
      const y = objectiveScale(fs, scale);
      const model = fitGp(xs, [y.values], 1);
      assert.ok(model !== null);
      return model.logLik + y.logJacobian;
    };
    const expected = evidence('log') > evidence('raw') ? 'log' : 'raw';
    const auto = objectiveModel(xs, fs, [], 'auto');
    assert.equal(auto?.scale, expected);
    chosen.add(expected);
  }
  assert.deepEqual([...chosen].sort(), ['log', 'raw'], 'the cases should exercise both choices');
});

const int = (lowerBound: number, upperBound: number): VariableSpec => ({
  type: 'I',
  lowerBound,
  upperBound,
  granularity: 0,
  fixedValue: null,
});

function run(options: Partial<MadsOptions>, budget: number): number[][] {
  const problem: ProblemSpec = {
    variables: [int(-10, 10), int(-10, 10), int(-10, 10)],
    x0: [[8, -7, 5]],
    outputTypes: ['OBJ'],
    maxEvaluations: budget,
    seed: 3,
  };
  const mads = Mads.create(problem, options);
  const asked: number[][] = [];
  for (let k = 0; k < budget; k++) {
    const [c] = mads.ask(1);
    if (c === undefined) break;
    asked.push(c.x);
    const [a, b, d] = c.x;
    mads.tell([{ x: c.x, outputs: [(a - 3) ** 2 + 2 * (b + 4) ** 2 + Math.abs(d - 1) * 3 + Math.sin(a * b)] }]);
  }
  return asked;
}

test("the option: 'ranks' is the default and its run; other scales change the run; bad values are refused naming it", () => {
  const problem: ProblemSpec = { variables: [int(0, 5)], x0: [[1]], outputTypes: ['OBJ'], maxEvaluations: 10, seed: 1 };
  assert.equal(Mads.create(problem).toJSON().options.surrogateObjectiveScale, 'ranks');
  assert.deepEqual(run({}, 40), run({ surrogateObjectiveScale: 'ranks' }, 40));
  assert.notDeepEqual(run({ surrogateObjectiveScale: 'log' }, 40), run({}, 40));
  for (const bad of ['rank', 3, null, ['raw']])
    assert.throws(
      () => Mads.create(problem, { surrogateObjectiveScale: bad as never }),
      /options\.surrogateObjectiveScale/,
    );
});
