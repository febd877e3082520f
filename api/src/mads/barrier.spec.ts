/**
 * The barrier's non-dominated filter (barrier.ts, `nonDominatedInfeasible`, and the infeasible
 * incumbents of rule d, `infeasibleIncumbents`) against the pairwise
 * definition of §5.1 (`dominates`), on point sets built to hit its edge cases: ties in f, h values
 * within ε of each other, NaN and infinite f, duplicates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  Success,
  barrierFromJson,
  barrierToJson,
  computeSuccessType,
  dominates,
  emptyBarrier,
  infeasibleIncumbents,
  nonDominatedInfeasible,
  updateWithPoints,
  type BarrierState,
  type BarrierUpdate,
  type FH,
} from './barrier';
import { EPS, greaterEps, lessEps } from '../math/numerics';
import { isFeasible } from './evaluation';
import { insertAll, type InfEntry } from './barrier-index';

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

/**
 * `ProgressiveBarrier::updateWithPoints` (§5.3) as written: every rule a walk over the barrier,
 * rule d by the pairwise definition (`incumbentsByDefinition`). The reference for the
 * incremental barrier of barrier.ts (finding 21).
 */
function updateByDefinition(
  state: BarrierState,
  ids: readonly number[],
  fh: (id: number) => FH | null,
  updateIncumbentsAndHMax: boolean,
): BarrierUpdate {
  let added = false;
  let rejected = false;
  for (const id of ids) {
    const p = fh(id);
    if (p === null) continue;
    if (isFeasible(p.h)) {
      if (!state.xFeas.includes(id)) {
        state.xFeas.push(id);
        added = true;
      }
    } else if (p.h < Infinity) {
      if (greaterEps(p.h, state.hMax)) rejected = true;
      else if (!state.xInf.includes(id)) {
        state.xInf.push(id);
        added = true;
      }
    }
  }
  // `ProgressiveBarrier::updateWithPoints`: added points leave the incumbents out of date
  // (`_incumbentsAndHMaxUpToDate`) until an update that derives them, with or without points.
  if (added) state.stale = true;
  const result: BarrierUpdate = { feasSuccess: Success.UNSUCCESSFUL, infSuccess: Success.UNSUCCESSFUL };
  if (!updateIncumbentsAndHMax || !(state.stale === true || rejected)) return result;
  delete state.stale;
  const get = (id: number): FH => fh(id) as FH;
  const fMinRef = state.incFeas.length > 0 ? get(state.incFeas[0]).f : Infinity;
  const fMin = Math.min(Infinity, ...state.xFeas.map((id) => get(id).f));
  state.xFeas = state.xFeas.filter((id) => !greaterEps(get(id).f, fMin));
  state.incFeas = [...state.xFeas];
  if (state.xFeas.length > 0 && lessEps(fMin, fMinRef)) result.feasSuccess = Success.FULL;
  const prevInc = state.incInf.length > 0 ? get(state.incInf[0]) : null;
  if (prevInc === null) {
    if (state.xInf.length > 0) result.infSuccess = Success.FULL;
  } else {
    let best = Success.UNDEFINED;
    for (let k = 1; k < state.xInf.length; k++)
      best = Math.max(best, computeSuccessType(get(state.xInf[k]), prevInc, Infinity));
    result.infSuccess = best;
  }
  if (prevInc !== null) {
    if (result.feasSuccess === Success.FULL || result.infSuccess === Success.FULL) state.hMax = prevInc.h;
    else if (result.infSuccess === Success.PARTIAL) {
      const below = state.xInf.map((id) => get(id).h).filter((h) => lessEps(h, prevInc.h));
      if (below.length > 0) state.hMax = Math.max(...below);
    } else state.hMax = prevInc.h;
  }
  state.xInf = state.xInf.filter((id) => !greaterEps(get(id).h, state.hMax));
  state.incInf = incumbentsByDefinition(state.xInf, get);
  return result;
}

/** One step of a random barrier history. */
type BarrierOp =
  | { kind: 'update'; ids: number[]; full: boolean }
  /** Set from outside, as the engine does when every X0 is above H_MAX_0 (engine.ts, `barrierFromX0`). */
  | { kind: 'hMax'; value: number }
  /** A JSON round trip (the engine's state between calls): the restored barrier starts a fresh index. */
  | { kind: 'restore' };

// Feasible, infeasible (ε-neighbours, ties), infinite and NaN h; null = a failed point. (fast-check
// caps arrays at 10 elements unless told a size: these must reach the index's batch paths.)
const anyH = fc.oneof(hValue, hValue, hValue, fc.constantFrom(0, EPS / 2, Infinity, Number.NaN));
const pointArb = fc.option(fc.record({ f: fValue, h: anyH }), { freq: 12 });
const opArb = (pool: number): fc.Arbitrary<BarrierOp> =>
  fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        kind: fc.constant('update' as const),
        // A step's few points, or many at once (a merge of the whole cache: the sorted merge).
        ids: fc.oneof(
          { weight: 5, arbitrary: fc.array(fc.nat(pool - 1), { maxLength: 6 }) },
          { weight: 1, arbitrary: fc.array(fc.nat(pool - 1), { minLength: 17, maxLength: 100, size: 'max' }) },
        ),
        full: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('hMax' as const), value: fc.oneof(hValue, fc.constant(Infinity)) }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'restore' as const }) },
  );

const historyArb = fc
  .array(pointArb, { minLength: 1, maxLength: 120, size: 'max' })
  .chain((points) =>
    fc.tuple(
      fc.constant(points),
      fc.oneof(fc.constant(Infinity), hValue),
      fc.array(opArb(points.length), { maxLength: 80, size: 'max' }),
    ),
  );

function replay(
  points: (FH | null)[],
  hMax0: number,
  ops: BarrierOp[],
  update: typeof updateWithPoints,
): { states: string[]; results: BarrierUpdate[] } {
  let state = emptyBarrier(hMax0);
  const fh = (id: number): FH | null => points[id];
  const states: string[] = [];
  const results: BarrierUpdate[] = [];
  for (const op of ops) {
    if (op.kind === 'update') results.push(update(state, op.ids, fh, op.full));
    else if (op.kind === 'hMax') state.hMax = op.value;
    else state = barrierFromJson(JSON.parse(JSON.stringify(barrierToJson(state))) as ReturnType<typeof barrierToJson>);
    states.push(JSON.stringify(barrierToJson(state)));
  }
  return { states, results };
}

test('the incremental barrier gives the results of the rules as written over random histories of updates, hMax changes and restores (finding 21)', () => {
  fc.assert(
    fc.property(historyArb, ([points, hMax0, ops]) => {
      const incremental = replay(points, hMax0, ops, updateWithPoints);
      const reference = replay(points, hMax0, ops, updateByDefinition);
      assert.deepEqual(incremental.results, reference.results);
      assert.deepEqual(incremental.states, reference.states);
    }),
    { numRuns: 3000 },
  );
});

test('the incremental barrier on a long history: hundreds of points under hMax, a JSON round trip halfway', () => {
  // A constraint no point satisfies, of constant violation (the model search's inner MADS on a
  // constraint model that is −∞ or 1, finding 21): the points enter the barrier and stay under
  // hMax, a few above it leave, f falls now and then.
  const points: FH[] = [];
  let state = emptyBarrier(Infinity);
  const reference = emptyBarrier(Infinity);
  const fh = (id: number): FH => points[id];
  for (let step = 0; step < 400; step++) {
    const ids: number[] = [];
    // Now and then many points at once (a merge of the whole cache), else a step's few.
    for (let k = 0; k < (step % 50 === 49 ? 40 : 3); k++) {
      const i = points.length;
      points.push({ f: Math.cos(i) * 100 - i / 10, h: i % 9 === 0 ? 1 + (i % 4) / 2 : i % 5 === 0 ? 1 + EPS / 2 : 1 });
      ids.push(i);
    }
    const full = step % 7 !== 3;
    assert.deepEqual(updateWithPoints(state, ids, fh, full), updateByDefinition(reference, ids, fh, full));
    assert.deepEqual(barrierToJson(state), barrierToJson(reference));
    if (step === 200) state = barrierFromJson(barrierToJson(state));
  }
  assert.ok(reference.xInf.length > 50, `${reference.xInf.length} points in the barrier`);
});

test("the index's sorted insertion, one at a time or by sort and merge, gives the order a full sort gives", () => {
  // (f, h, insertion) as the index orders its (f, h) view; few and many values so that ties are common.
  const byOrder = (a: InfEntry, b: InfEntry): number =>
    a.f < b.f ? -1 : a.f > b.f ? 1 : a.h < b.h ? -1 : a.h > b.h ? 1 : a.seq - b.seq;
  const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ noNaN: true }));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(value, value), { maxLength: 60, size: 'max' }),
      fc.array(fc.tuple(value, value), { maxLength: 60, size: 'max' }),
      (old, added) => {
        let seq = 0;
        const entry = ([f, h]: [number, number]): InfEntry => ({ id: seq, f, h, seq: seq++ });
        const a = old.map(entry).sort(byOrder);
        const batch = added.map(entry);
        const expected = [...a, ...batch].sort(byOrder);
        assert.deepEqual(insertAll([...a], batch, byOrder), expected);
      },
    ),
    { numRuns: 1000 },
  );
});
