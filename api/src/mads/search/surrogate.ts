/**
 * Surrogate search (meshtune preset, docs/algorithm.md, "Surrogate search"): a Gaussian process
 * (model/gp.ts) over the whole box on the evaluated points, the next point the one maximising
 * expected improvement × probability of feasibility among candidates put on the current mesh.
 * It is a search step: finitely many mesh points, evaluated before the poll, which is
 * unchanged — so MADS's convergence analysis still holds (any search on the mesh is allowed).
 *
 * - Objective: normal scores of the ranks of f (monotone, scale-free: Rosenbrock-like ranges and
 *   plateaus of tabulated problems fit the same way), standardised.
 * - Constraints (PB and EB outputs): sign(c)·log(1 + |c|), standardised, one GP each with the
 *   objective's kernel; feasibility probability = Π P(c_j ≤ 0).
 * - Points in flight enter the model with their predicted values ("kriging believer"), so that
 *   runners filled from this search (engine.ts, idle filling) get different points.
 * - Bounded cost: at most MAX_MODEL_POINTS training points (the best half, then the most recent),
 *   a fixed number of candidates; its random numbers come from a generator seeded with the
 *   study's seed and the cache size, so the engine's own stream (poll directions) is untouched
 *   and a run is reproducible, also across a JSON round trip.
 * - Points stopped early (`censoredModels`): their objective is only known to be at least the
 *   stop's bound. They enter the objective's model imputed at max(bound, the model's prediction
 *   there) and the constraints' at the prediction; they never set the best value EI improves on
 *   (docs/algorithm.md, "Early stopping: what the models learn from a stop").
 */
import { isFeasible } from '../evaluation';
import { frameSizes } from '../mesh';
import { NomadRng } from '../../math/rng';
import {
  expectedImprovement,
  fitGp,
  normalCdf,
  normalQuantile,
  predictGp,
  samplePosterior,
  type GpModel,
} from '../model/gp';
import { pollCentres } from '../poll';
import { cacheKey, snapToMeshAndBounds, toFree } from '../space';
import type { PointRecord } from '../cache';
import type { Candidate, EngineState } from '../state';

/** Most points the model is trained on (the Cholesky is O(N³), the predictions O(N²)). */
export const MAX_MODEL_POINTS = 60;
/** Most points in flight added as believed observations. */
const MAX_PENDING_POINTS = 16;
/** Most censored points (stopped early) added, the most recent first. */
export const MAX_CENSORED_POINTS = 30;
/** Uniform candidates over the box, and local ones around each of the best points. */
const GLOBAL_CANDIDATES = 160;
const LOCAL_CENTRES = 3;
const LOCAL_CANDIDATES = 40;

interface Box {
  lo: number[];
  width: number[];
}

/** The box the model works in: the bounds, or the evaluated range ± 4 frames where one is missing. */
function boxOf(state: EngineState, xs: number[][]): Box {
  const frames = frameSizes(state.mesh);
  const lo: number[] = [];
  const width: number[] = [];
  state.space.free.forEach((i, k) => {
    const values = xs.map((x) => x[k]);
    const lb = Number.isFinite(state.space.lower[i]) ? state.space.lower[i] : Math.min(...values) - 4 * frames[k];
    const ub = Number.isFinite(state.space.upper[i]) ? state.space.upper[i] : Math.max(...values) + 4 * frames[k];
    lo.push(lb);
    width.push(ub > lb ? ub - lb : 1);
  });
  return { lo, width };
}

function scale(box: Box, x: readonly number[]): number[] {
  return x.map((v, k) => (v - box.lo[k]) / box.width[k]);
}

/** Average ranks (ties share a rank) mapped to normal scores, then standardised. */
function normalScores(values: readonly number[]): number[] {
  const n = values.length;
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  const rank = new Array<number>(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) rank[order[k]] = (i + j) / 2;
    i = j + 1;
  }
  return standardise(rank.map((r) => normalQuantile((r + 0.5) / n))).values;
}

function standardise(values: readonly number[]): { values: number[]; mean: number; sd: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
  const sd = variance > 1e-24 ? Math.sqrt(variance) : 1;
  return { values: values.map((v) => (v - mean) / sd), mean, sd };
}

/** Training records: evaluated and usable by models; at most MAX_MODEL_POINTS. */
function trainingRecords(state: EngineState): PointRecord[] {
  const usable = state.cache.records.filter((r) => r.status === 'ok' && r.modelOk);
  if (usable.length <= MAX_MODEL_POINTS) return usable;
  const keyOf = (r: PointRecord): [number, number] => (isFeasible(r.h) ? [0, r.f] : [1, r.h]);
  const best = [...usable]
    .sort((a, b) => {
      const [ka, va] = keyOf(a);
      const [kb, vb] = keyOf(b);
      return ka - kb || va - vb || a.id - b.id;
    })
    .slice(0, MAX_MODEL_POINTS / 2);
  const chosen = new Set(best.map((r) => r.id));
  for (let i = usable.length - 1; i >= 0 && chosen.size < MAX_MODEL_POINTS; i--) chosen.add(usable[i].id);
  return usable.filter((r) => chosen.has(r.id));
}

/** A generator of its own, seeded by the study's seed and the cache size (see the header). */
function localRng(state: EngineState): NomadRng {
  const seed = state.problem.seed >>> 0;
  const salt = Math.imul(state.cache.size + 1, 2654435761) >>> 0;
  return NomadRng.fromState([(123456789 ^ seed) >>> 0 || 1, (362436069 ^ salt) >>> 0 || 1, 521288629]);
}

interface Scorer {
  score(x: readonly number[]): number;
  /**
   * One joint posterior draw at the points (Thompson sampling), as a value to maximise: minus
   * the drawn objective where every drawn constraint is ≤ 0, else below every such value by the
   * drawn violation.
   */
  thompson(xs: readonly (readonly number[])[], normal: () => number): number[];
}

function constraintIndices(state: EngineState): number[] {
  const out: number[] = [];
  state.problem.outputTypes.forEach((t, j) => {
    if (t === 'PB' || t === 'EB') out.push(j);
  });
  return out;
}

/** Censored records (failed, stopped early with a bound) the model may take, the most recent last. */
export function censoredRecords(state: EngineState): PointRecord[] {
  if (!state.options.censoredModels) return [];
  return state.cache.records
    .filter((r) => r.status === 'failed' && r.censoredBelow !== null && Number.isFinite(r.censoredBelow))
    .slice(-MAX_CENSORED_POINTS);
}

/**
 * The objective value a normal score stands for, read off the training points (piecewise linear
 * between their sorted (score, f) pairs, clamped at the ends): the scores are monotone in f, so
 * this inverts the rank transform on the values seen.
 */
function objectiveOfScore(scores: readonly number[], fs: readonly number[], score: number): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || fs[a] - fs[b]);
  if (score <= scores[order[0]]) return fs[order[0]];
  for (let k = 1; k < order.length; k++) {
    const lo = order[k - 1];
    const hi = order[k];
    if (score <= scores[hi]) {
      const span = scores[hi] - scores[lo];
      return span > 0 ? fs[lo] + ((score - scores[lo]) / span) * (fs[hi] - fs[lo]) : fs[hi];
    }
  }
  return fs[order[order.length - 1]];
}

function buildScorer(state: EngineState, records: PointRecord[], box: Box): Scorer | null {
  let xs = records.map((r) => scale(box, toFree(state.space, r.x)));
  const cons = constraintIndices(state);
  let yObj = normalScores(records.map((r) => r.f));
  const conStats = cons.map((j) =>
    standardise(records.map((r) => Math.sign(r.outputs![j]) * Math.log1p(Math.abs(r.outputs![j])))),
  );
  let ys = [yObj, ...conStats.map((c) => c.values)];
  let model: GpModel | null = fitGp(xs, ys, 1);
  if (model === null) return null;
  // Censored points: a stop says only "final f ≥ bound". Single imputation at max(bound, predicted
  // f) (docs/algorithm.md): where the model already predicts worse than the bound the point agrees
  // with it; where it predicts better, the bound corrects it. Constraints are believed at the
  // prediction (a stop measures no constraint). The ranks are taken again with the imputed values,
  // and the hyper-parameters refitted on all points.
  const censored = censoredRecords(state);
  if (censored.length > 0) {
    const first = model;
    const fs = records.map((r) => r.f);
    const cx = censored.map((r) => scale(box, toFree(state.space, r.x)));
    const predicted = cx.map((u) => predictGp(first, u).mean);
    const imputed = censored.map((r, i) =>
      Math.max(r.censoredBelow as number, objectiveOfScore(yObj, fs, predicted[i][0])),
    );
    const allObj = normalScores([...fs, ...imputed]);
    const refit = fitGp(
      [...xs, ...cx],
      [allObj, ...conStats.map((c, j) => [...c.values, ...predicted.map((m) => m[j + 1])])],
      1,
    );
    if (refit !== null) {
      model = refit;
      xs = [...xs, ...cx];
      yObj = allObj.slice(0, records.length);
      ys = [allObj, ...conStats.map((c, j) => [...c.values, ...predicted.map((m) => m[j + 1])])];
    }
  }
  // Points in flight: believed at the model's prediction, same hyper-parameters.
  const pending = state.cache.records.filter((r) => r.status === 'pending').slice(-MAX_PENDING_POINTS);
  if (pending.length > 0) {
    const fitted = model;
    const px = pending.map((r) => scale(box, toFree(state.space, r.x)));
    const predicted = px.map((u) => predictGp(fitted, u).mean);
    model = fitGp(
      [...xs, ...px],
      ys.map((y, o) => [...y, ...predicted.map((m) => m[o])]),
      1,
      { lengthScales: fitted.lengthScales, noise: fitted.noise },
    );
    if (model === null) return null;
  }
  const thresholds = conStats.map((c) => (0 - c.mean) / c.sd);
  const feasibleY = records.map((r, i) => (isFeasible(r.h) ? yObj[i] : Infinity));
  const best = Math.min(...feasibleY);
  const final = model;
  return {
    score(x) {
      const p = predictGp(final, scale(box, toFree(state.space, x)));
      const sd = Math.sqrt(p.variance);
      let pof = 1;
      thresholds.forEach((t, j) => {
        pof *= normalCdf((t - p.mean[j + 1]) / sd);
      });
      // No feasible point yet: look for feasibility first, preferring a low objective.
      if (best === Infinity) return pof * (1 + 1e-3 * normalCdf(-p.mean[0]));
      return expectedImprovement(p.mean[0], sd, best) * pof;
    },
    thompson(xs, normal) {
      const draws = samplePosterior(
        final,
        xs.map((x) => scale(box, toFree(state.space, x))),
        normal,
      );
      return xs.map((_, i) => {
        let violation = 0;
        thresholds.forEach((t, j) => (violation += Math.max(0, draws[j + 1][i] - t)));
        return violation > 0 ? -1e6 - violation : -draws[0][i];
      });
    },
  };
}

/**
 * Up to `count` new mesh points, best acquisition first (usually 1: the step is sequential and
 * idle runners ask again, the believed pending points spreading the next ones). `thompson`: rank
 * the candidates by one joint posterior draw instead of expected improvement (`idleSurrogatePoints`,
 * engine.ts; the draw uses this search's own generator, so a run stays a function of the seed).
 */
export function surrogateCandidates(state: EngineState, count = 1, thompson = false): Candidate[] {
  const n = state.space.free.length;
  const centreId = pollCentres(state).primary;
  if (centreId === null || n === 0) return [];
  const records = trainingRecords(state);
  if (records.length < 2) return [];
  const centre = state.cache.get(centreId).x;
  const box = boxOf(
    state,
    records.map((r) => toFree(state.space, r.x)),
  );
  const scorer = buildScorer(state, records, box);
  if (scorer === null) return [];

  const rng = localRng(state);
  const frames = frameSizes(state.mesh);
  const raws: number[][] = [];
  const point = (free: number[]): number[] => {
    const x = [...centre];
    state.space.free.forEach((i, k) => (x[i] = free[k]));
    return x;
  };
  for (let s = 0; s < GLOBAL_CANDIDATES; s++)
    raws.push(point(box.lo.map((lo, k) => lo + rng.uniform(0, 1) * box.width[k])));
  // Local candidates around the incumbent and the next best points (two scales: the frame and a
  // tenth of the box).
  const ranked = [...records].sort(
    (a, b) => (isFeasible(a.h) ? a.f : Infinity) - (isFeasible(b.h) ? b.f : Infinity) || a.id - b.id,
  );
  const centres = [state.cache.get(centreId), ...ranked.filter((r) => r.id !== centreId)].slice(0, LOCAL_CENTRES);
  for (const c of centres) {
    const cx = toFree(state.space, c.x);
    for (let s = 0; s < LOCAL_CANDIDATES; s++) {
      const wide = s % 2 === 0;
      raws.push(point(cx.map((v, k) => v + rng.normal() * (wide ? 0.1 * box.width[k] : frames[k]))));
    }
  }

  const seen = new Set<string>();
  const scored: { c: Candidate; value: number; tag: number }[] = [];
  raws.forEach((raw, tag) => {
    const x = snapToMeshAndBounds(state.space, state.mesh, raw, centre);
    const key = cacheKey(x);
    if (seen.has(key) || state.cache.has(x)) return;
    seen.add(key);
    const value = thompson ? 0 : scorer.score(x);
    if (Number.isFinite(value)) scored.push({ c: { x, fromId: centreId, origin: 'search' }, value, tag });
  });
  if (thompson && scored.length > 0) {
    const values = scorer.thompson(
      scored.map((s) => s.c.x),
      () => rng.normal(),
    );
    scored.forEach((s, i) => (s.value = values[i]));
  }
  scored.sort((a, b) => b.value - a.value || a.tag - b.tag);
  return scored.slice(0, count).map((s) => s.c);
}
