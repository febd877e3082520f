/**
 * Quadratic models as NOMAD 4.5.1 builds them with sgtelib (§4.3 step 2; sgtelib Surrogate_PRS).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitQuadratic, fitQuadraticMinNorm } from './quadratic';

test('recovers a quadratic exactly from enough distinct points', () => {
  const q = (x: readonly number[]): number => 3 + x[0] - 2 * x[1] + 0.5 * x[0] * x[0] + x[0] * x[1] + 4 * x[1] * x[1];
  const xs: number[][] = [];
  for (let i = -2; i <= 2; i++) for (let j = -1; j <= 1; j++) xs.push([i * 0.7, j * 1.3]);
  const model = fitQuadratic(
    xs,
    xs.map((x) => [q(x)]),
  );
  assert.ok(model !== null);
  for (const x of [
    [0.1, 0.2],
    [-3, 2],
    [1.5, -0.4],
  ]) {
    assert.ok(Math.abs(model.predict(x)[0] - q(x)) < 1e-9 * Math.max(1, Math.abs(q(x))));
  }
});

test("predicts what NOMAD 4.5.1's quadratic model predicts (ridge, constant first input)", () => {
  // Training set of NOMAD's third quadratic-model search on rosenbrock_5, seed 0 (benchmark
  // problem; first input constant), and the model values its inner MADS printed
  // (QUAD_MODEL_DISPLAY, 6 significant digits). With 5 points and 15 monomials the ridge is on,
  // and sgtelib reads the 4 model variables from input columns 0–3, so the last input is not in
  // the model: the values differ by hundreds when the model is built on the varying inputs.
  const xs = [
    [-1.2, 1, -1.2, 1, -1.2],
    [-1.2, 1.1, -0.2, 0.9, -0.2],
    [-1.2, 1.3, 0.8, 0.8, -0.2],
    [-1.2, 1.4, 2.8, 0.6, 2.8],
    [-1.2, 1.9, 3.8, 0.5, -0.2],
  ];
  const ys = [[1016.4], [392.64], [159.3], [5916.24], [19491.12]];
  const model = fitQuadratic(xs, ys);
  assert.ok(model !== null);
  const nomad: [number[], number][] = [
    [[-1.2, 1.45, 1.3, 0.75, 0.8], 1412.954288],
    [[-1.2, 1.35, 0.3, 0.75, 0.8], -44.563622],
    [[-1.2, 1.35, 2.3, 0.75, 0.8], 2769.117793],
    [[-1.2, 1.45, 1.3, 0.65, 0.8], 3005.052423],
  ];
  for (const [x, f] of nomad)
    assert.ok(Math.abs(model.predict(x)[0] - f) < 1e-6, `${x.join(' ')}: ${model.predict(x)[0]}`);
  // The last input does not change the prediction.
  assert.equal(model.predict([-1.2, 1.45, 1.3, 0.75, 2.5])[0], model.predict([-1.2, 1.45, 1.3, 0.75, 0.8])[0]);
});

// Five points in 3-D (fewer than the 10 monomials, more than n + 1 = 4): the underdetermined case
// of the meshtune preset's early model searches.
const FEW = [
  [0, 0, 0],
  [1, 0, 0],
  [0, 2, 0],
  [0, 0, -1],
  [0.5, 0.5, 0.5],
];

test('minimum-norm fit: interpolates fewer points than monomials exactly', () => {
  const f = (x: readonly number[]): number => (x[0] - 1) ** 2 + 10 * (x[1] - x[0] * x[0]) ** 2 + Math.abs(x[2]);
  const model = fitQuadraticMinNorm(
    FEW,
    FEW.map((x) => [f(x), -f(x)]),
  );
  assert.ok(model !== null);
  for (const x of FEW) {
    const [a, b] = model.predict(x);
    assert.ok(Math.abs(a - f(x)) < 1e-9 * Math.max(1, f(x)), `${x.join(' ')}: ${a} vs ${f(x)}`);
    assert.ok(Math.abs(b + f(x)) < 1e-9 * Math.max(1, f(x)));
  }
});

test('minimum-norm fit: linear data give the linear function (no spurious curvature); the ridge fit does not', () => {
  const f = (x: readonly number[]): number => 2 - 3 * x[0] + 0.5 * x[1] + 4 * x[2];
  const ys = FEW.map((x) => [f(x)]);
  const minNorm = fitQuadraticMinNorm(FEW, ys);
  const ridge = fitQuadratic(FEW, ys);
  assert.ok(minNorm !== null && ridge !== null);
  const far = [3, -2, 2];
  assert.ok(Math.abs(minNorm.predict(far)[0] - f(far)) < 1e-8, `${minNorm.predict(far)[0]} vs ${f(far)}`);
  // The ridge spreads the data over the curvature terms: far from the points it is off by units.
  assert.ok(Math.abs(ridge.predict(far)[0] - f(far)) > 1, `${ridge.predict(far)[0]} vs ${f(far)}`);
});

test('minimum-norm fit: with as many points as monomials it is the least-squares fit; with n points or fewer, the ridge fit', () => {
  const q = (x: readonly number[]): number => 1 + x[0] - x[1] + x[0] * x[0] + 0.3 * x[0] * x[1];
  const grid: number[][] = [];
  for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) grid.push([i, j]);
  const few = [
    [0, 0],
    [1, 1],
  ];
  for (const xs of [grid, few]) {
    const a = fitQuadraticMinNorm(
      xs,
      xs.map((x) => [q(x)]),
    );
    const b = fitQuadratic(
      xs,
      xs.map((x) => [q(x)]),
    );
    assert.ok(a !== null && b !== null);
    assert.equal(a.predict([0.3, -2])[0], b.predict([0.3, -2])[0]);
  }
});
