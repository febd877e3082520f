/**
 * GMesh unit tests (NOMAD 4.5.1, src/Algos/Mads/GMesh.cpp) and the RNG/Householder directions
 * (src/Math/RNG.cpp, Direction::householder) against the first poll of golden trace A
 * (testdata/goldenA.out).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ortho2nDirections } from './directions';
import {
  checkMeshForStopping,
  createMesh,
  decodeFrameSize,
  defaultInitialFrameSize,
  enlarge,
  frameSizes,
  meshSizes,
  refine,
  scaleAndProjectOnMesh,
} from './mesh';
import { NomadRng } from '../math/rng';

test('§2.2 initial frame: bounds [0,2], [0,5], [-10,10] and unbounded x0=3 give 1, 1, 2, 1 (as a NOMAD 4.5.1 run does)', () => {
  const raw = [
    defaultInitialFrameSize(0, 2, [1], 0, 0),
    defaultInitialFrameSize(0, 5, [1], 0, 0),
    defaultInitialFrameSize(-10, 10, [1], 0, 0),
    defaultInitialFrameSize(null, null, [3], 0, 0),
  ];
  const mesh = createMesh(raw, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], 'nomad');
  assert.deepEqual(frameSizes(mesh), [1, 1, 2, 1]);
});

test('§2.2 truncation quirk: 0.2, 0.5, 0.3 → 1; 0.05, 0.03 → 0.1; 3 → 2; 4, 7, 8 → 5', () => {
  const frame = (d: number): number => {
    const { a, b } = decodeFrameSize(d, 0, 'nomad');
    return a * 10 ** b;
  };
  assert.deepEqual([0.2, 0.5, 0.3].map(frame), [1, 1, 1]);
  assert.ok(Math.abs(frame(0.05) - 0.1) < 1e-15 && Math.abs(frame(0.03) - 0.1) < 1e-15);
  assert.deepEqual([3, 4, 7, 8].map(frame), [2, 5, 5, 5]);
  assert.deepEqual(decodeFrameSize(0.3, 0, 'floor'), { a: 2, b: -1 });
  assert.deepEqual(decodeFrameSize(1000, 0, 'nomad'), { a: 1, b: 3 });
});

test('§2.2 other default rules: lb only, ub only, |x0| small, granularity rounding up', () => {
  assert.equal(defaultInitialFrameSize(0, null, [5], 0, 0), 0.5);
  assert.equal(defaultInitialFrameSize(null, 10, [4], 0, 0), 0.6);
  assert.equal(defaultInitialFrameSize(null, null, [0], 0, 0), 1);
  assert.equal(defaultInitialFrameSize(0, 3, [1], 1, 1), 1);
  assert.equal(defaultInitialFrameSize(0, 25, [1], 1, 1), 3);
});

test('§2.4 worked example: Δ 1 → 0.5/0.01 → 0.2/0.01 → 0.1/0.01 → 0.05/1e-4', () => {
  const mesh = createMesh([1], [0], [0], [0], 'nomad');
  assert.deepEqual([frameSizes(mesh), meshSizes(mesh)], [[1], [1]]);
  const seen: [number, number][] = [];
  for (let i = 0; i < 4; i++) {
    refine(mesh);
    seen.push([frameSizes(mesh)[0], meshSizes(mesh)[0]]);
  }
  assert.deepEqual(seen, [
    [0.5, 0.01],
    [0.2, 0.01],
    [0.1, 0.01],
    [0.05, 1e-4],
  ]);
});

test('§2.3 enlargement is anisotropic: only coordinates moved by > 10 % of the frame grow', () => {
  const mesh = createMesh([1, 1], [0, 0], [0, 0], [0, 0], 'nomad');
  refine(mesh); // 0.5 / 0.01
  enlarge(mesh, [0.5, 0.01], true, 0.1);
  assert.deepEqual(frameSizes(mesh), [1, 0.5]);
  const iso = createMesh([1, 1], [0, 0], [0, 0], [0, 0], 'nomad');
  enlarge(iso, [0, 0], false, 0.1);
  assert.deepEqual(frameSizes(iso), [2, 2]);
});

test('§2.4 a granular frame never goes below its granularity', () => {
  const mesh = createMesh([5], [1], [1], [1], 'nomad');
  for (let i = 0; i < 5; i++) refine(mesh);
  assert.deepEqual(frameSizes(mesh), [1]);
  assert.deepEqual(meshSizes(mesh), [1]);
  assert.equal(checkMeshForStopping(mesh), null);
});

test('§2.6 MIN_MESH_SIZE and MIN_FRAME_SIZE stops', () => {
  const m1 = createMesh([1], [0], [0.05], [0], 'nomad');
  refine(m1);
  assert.equal(checkMeshForStopping(m1), 'MIN_MESH_SIZE_REACHED');
  const m2 = createMesh([1], [0], [0], [0.3], 'nomad');
  assert.equal(checkMeshForStopping(m2), null);
  refine(m2);
  refine(m2);
  assert.equal(checkMeshForStopping(m2), 'MIN_FRAME_SIZE_REACHED');
});

test('§3.3 / Appendix C: seed 0, n = 3 unit vector and poll steps', () => {
  const v = NomadRng.fromSeed(0).unitSphere(3);
  [-0.852389, 0.316509, 0.416239].forEach((c, i) => assert.ok(Math.abs(v[i] - c) < 1e-6));
  const mesh = createMesh([1, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0], 'nomad');
  const steps = ortho2nDirections(NomadRng.fromSeed(0), 3).map((d) => scaleAndProjectOnMesh(mesh, d).map((c) => c + 0));
  assert.deepEqual(steps, [
    [-1, 1, 1],
    [1, -1, -1],
    [1, 1, 0],
    [-1, -1, 0],
    [1, 0, 1],
    [-1, 0, -1],
  ]);
});

test('Appendix B: RandomPickup gives a permutation; state round-trips', () => {
  const rng = NomadRng.fromSeed(7);
  const p = rng.permutation(10);
  assert.deepEqual(
    [...p].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const copy = NomadRng.fromState(rng.state());
  assert.equal(copy.next(), rng.next());
});
