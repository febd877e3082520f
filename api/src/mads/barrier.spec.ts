/**
 * The barrier's non-dominated filter (barrier.ts, `nonDominatedInfeasible`, and the infeasible
 * incumbents of rule d, `infeasibleIncumbents`) against the pairwise
 * definition of §5.1 (`dominates`), on point sets built to hit its edge cases: ties in f, h values
 * within ε of each other, NaN and infinite f, duplicates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dominates, infeasibleIncumbents, nonDominatedInfeasible, type FH } from './barrier';
import { EPS } from '../math/numerics';

const pairwise = (ids: number[], get: (id: number) => FH): number[] =>
  ids.filter((id) => !ids.some((o) => o !== id && dominates(get(o), get(id))));

// Few distinct values, so that ties and ε-neighbours are common.
const fValue = fc.oneof(
  fc.constantFrom(0, -0, 1, 2, -1e308, 1e308, Infinity, -Infinity, Number.NaN),
  fc.integer({ min: -3, max: 3 }).map((k) => k * 0.5),
);
const hValue = fc.oneof(
  fc.constantFrom(1, 2, 1 + EPS / 2, 1 - EPS / 2, 1 + 2 * EPS, 1 - 2 * EPS, 1e308, 5e-13, 3 * EPS),
  fc.double({ min: 2 * EPS, max: 10, noNaN: true }),
);

test('nonDominatedInfeasible keeps exactly the points no other point dominates, in their order', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ f: fValue, h: hValue }), { maxLength: 40 }), (points) => {
      const ids = points.map((_, i) => i);
      const get = (id: number): FH => points[id];
      assert.deepEqual(nonDominatedInfeasible(ids, get), pairwise(ids, get));
      const shuffled = [...ids].reverse();
      assert.deepEqual(nonDominatedInfeasible(shuffled, get), pairwise(shuffled, get));
    }),
    { numRuns: 2000 },
  );
});

test('nonDominatedInfeasible falls back to the pairwise definition when a point is feasible', () => {
  const points: FH[] = [
    { f: 1, h: 0 },
    { f: 2, h: 0 },
    { f: 0, h: 1 },
  ];
  const ids = [0, 1, 2];
  assert.deepEqual(
    nonDominatedInfeasible(ids, (i) => points[i]),
    pairwise(ids, (i) => points[i]),
  );
});

test('nonDominatedInfeasible is not quadratic: 20,000 points on a front take one sort', () => {
  // A front where nothing dominates anything: the pairwise test's worst case (m² = 4e8 checks).
  const m = 20_000;
  const points = Array.from({ length: m }, (_, i) => ({ f: i, h: 1 + (m - i) * 1e-3 }));
  let reads = 0;
  const get = (id: number): FH => {
    reads++;
    return points[id];
  };
  const kept = nonDominatedInfeasible(
    points.map((_, i) => i),
    get,
  );
  assert.equal(kept.length, m);
  assert.ok(reads <= 2 * m, `${reads} point reads for ${m} points`);
});

/** Rule d of §5.3 as written: the non-dominated points (pairwise) with the largest h, within ε. */
const incumbentsByDefinition = (ids: number[], get: (id: number) => FH): number[] => {
  const kept = pairwise(ids, get);
  const maxH = Math.max(-Infinity, ...kept.map((id) => get(id).h));
  return kept.filter((id) => Math.abs(get(id).h - maxH) < EPS || get(id).h === maxH);
};

test('infeasibleIncumbents keeps exactly the non-dominated points of largest h, in their order (finding 21)', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ f: fValue, h: hValue }), { maxLength: 40 }), (points) => {
      const ids = points.map((_, i) => i);
      const get = (id: number): FH => points[id];
      assert.deepEqual(infeasibleIncumbents(ids, get), incumbentsByDefinition(ids, get));
      const shuffled = [...ids].reverse();
      assert.deepEqual(infeasibleIncumbents(shuffled, get), incumbentsByDefinition(shuffled, get));
    }),
    { numRuns: 2000 },
  );
});
