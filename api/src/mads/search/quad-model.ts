/**
 * Quadratic models on the cache (§4.3, §3.6, §3.4; NOMAD 4.5.1,
 * src/Algos/Mads/QuadSearchMethod.cpp, src/Algos/QuadModel/*): training sets around a centre, the
 * QUAD_MODEL_SEARCH, the QUADRATIC_MODEL evaluation order and the ORTHO N+1 QUAD second pass.
 * Models are unavailable during Phase One (the engine then falls back to DIR_LAST_SUCCESS / NEG).
 */
import type { EvaluationCache, PointRecord } from '../cache';
import { frameSizes } from '../mesh';
import { EPS, equalEps, greaterEps } from '../../math/numerics';
import { minimizeInBox, type ModelOptimizerOptions } from '../model/model-optimizer';
import {
  fitQuadratic,
  fitQuadraticMinNorm,
  monomialCount,
  quadraticWork,
  type QuadraticKind,
  type QuadraticModel,
} from '../model/quadratic';
import { snapToMeshAndBounds, toFree } from '../space';
import type { Candidate, EngineState } from '../state';

/** SGTELIB_MAX_POINTS_FOR_MODEL. */
const MAX_POINTS_FOR_MODEL = 500;
/** Box doublings when the training set is too small (QuadModelUpdate). */
const MAX_BOX_DOUBLINGS = 20;

/**
 * Most multiply-adds one model may cost, fit and predictions together (`quadraticWork`): about
 * 15 ms of CPU on the development machine. Why a bound: engine calls of every study share the
 * engine thread, and a full quadratic grows as n⁴ to fit — 0.6 s per call at n = 25, 5–9 s at
 * n = 49, and at the API's 200 parameters a 20,301² system (3 GB) that froze every other study's
 * leases (docs/algorithm.md, "Cost of the models"). Below it — every problem up to n ≈ 15 with
 * few outputs, the golden traces' included — the models are NOMAD's exactly.
 */
export const MODEL_WORK_LIMIT = 1e7;

/**
 * The richest model whose cost stays within MODEL_WORK_LIMIT: NOMAD's full quadratic on all the
 * training points, else on the closest ones (at least as many as it has monomials), else the
 * separable quadratic (no cross terms) likewise, else none (the callers then fall back as in
 * Phase One: DIR_LAST_SUCCESS order, NEG second pass, no model point).
 */
export function affordableModel(
  points: number,
  n: number,
  outputs: number,
  predictions: number,
): { kind: QuadraticKind; points: number } | null {
  for (const kind of ['full', 'separable'] as const) {
    const m = monomialCount(n, kind);
    if (quadraticWork(points, m, outputs, predictions) <= MODEL_WORK_LIMIT) return { kind, points };
    const perPoint = (m * m) / 2 + m * outputs;
    const fixed = quadraticWork(0, m, outputs, predictions);
    const affordable = Math.floor((MODEL_WORK_LIMIT - fixed) / perPoint);
    if (affordable >= m && affordable >= Math.max(2, n)) return { kind, points: Math.min(points, affordable) };
  }
  return null;
}

function optimizerOptions(state: EngineState): ModelOptimizerOptions {
  return {
    maxEval: state.options.quadModelMaxEval,
    rng: state.rng,
    frameRounding: state.options.frameRounding,
    nomadRules: state.options.preset === 'nomad4',
  };
}

/** 0 when inside the box, k when inside the box doubled k times, MAX + 1 beyond. */
function bucketOf(dist: number): number {
  if (dist <= 1 + 1e-12) return 0;
  const k = Math.ceil(Math.log2(dist / (1 + 1e-12)));
  return Math.min(k, MAX_BOX_DOUBLINGS + 1);
}

const identity = (x: number[]): number[] => x;

/** How many recent fits each cache keeps (`recentFit`). */
const RECENT_FITS = 8;
const recentFits = new WeakMap<EvaluationCache, Map<string, QuadraticModel | null>>();

/**
 * The model fitted on the same training records (same ids, so the same points and outputs: a
 * record used by a model is evaluated and never changes) and of the same kind, if one of the last
 * RECENT_FITS fits of this cache was; else `fit()`, remembered. The same model, so the same
 * predictions and decisions. Why: on a lattice the engine can run iteration after iteration whose
 * points are all cached (up to MAX_EMPTY_ITERATIONS, engine.ts), each sorting its poll with a model
 * of the same training set: 200 identical fits in one call of a 6-binary study (docs/reliability.md,
 * finding 22). Kept beside the state, not in it: nothing to persist, and a restored engine refits.
 */
function recentFit(state: EngineState, key: string, fit: () => QuadraticModel | null): QuadraticModel | null {
  let fits = recentFits.get(state.cache);
  if (fits === undefined) {
    fits = new Map();
    recentFits.set(state.cache, fits);
  }
  if (fits.has(key)) return fits.get(key) as QuadraticModel | null;
  const model = fit();
  fits.set(key, model);
  if (fits.size > RECENT_FITS) fits.delete(fits.keys().next().value as string);
  return model;
}

interface Predictor {
  /** Model (f, h) at a free-coordinate point; h uses L2 over PB and EB (EB treated as PB). */
  fh(x: readonly number[]): { f: number; h: number };
  xs: number[][];
}

/**
 * Training set (`QuadModelUpdate`, §4.3 step 1): valid cache points inside |x_i − c_i| ≤ r_i,
 * target (n+1)(n+2)/2 points (n if the cache holds fewer), box doubled up to 20 times, the 500
 * closest kept; at least max(2, n) points. The model is the one `affordableModel` allows for
 * `predictions` uses of it (the caller's count: candidates to sort, or the optimiser's budget).
 */
function buildPredictor(
  state: EngineState,
  centre: readonly number[],
  radius: readonly number[],
  predictions: number,
  scale: (x: number[]) => number[] = identity,
): Predictor | null {
  if (state.phaseOne) return null;
  const types = state.problem.outputTypes;
  const n = centre.length;
  if (n === 0) return null;
  const free = state.space.free;
  const inverse = radius.map((r) => 1 / (r > 0 ? r : 1e-13));
  const valid: { rec: PointRecord; dist: number }[] = [];
  for (const rec of state.cache.records) {
    if (!rec.modelOk) continue;
    let dist = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.abs(rec.x[free[i]] - centre[i]) * inverse[i];
      if (d > dist) dist = d;
    }
    valid.push({ rec, dist });
  }
  // 'minNorm' (opt-in, model/quadratic.ts `fitQuadraticMinNorm`): while fewer points than monomials
  // exist, every usable point goes into the interpolation instead of the n nearest.
  const minNorm = state.options.quadModelFit === 'minNorm';
  const minPoints = Math.max(2, n);
  if (valid.length < minPoints) return null;
  let target = monomialCount(n);
  if (valid.length < target) target = minNorm ? valid.length : n;
  // Smallest doubling k with at least `target` points inside the box scaled by 2^k.
  const buckets = new Array<number>(MAX_BOX_DOUBLINGS + 2).fill(0);
  for (const v of valid) buckets[bucketOf(v.dist)]++;
  let limitBucket = MAX_BOX_DOUBLINGS;
  for (let k = 0, count = 0; k <= MAX_BOX_DOUBLINGS; k++) {
    count += buckets[k];
    if (count >= target) {
      limitBucket = k;
      break;
    }
  }
  const inside = valid.filter((v) => bucketOf(v.dist) <= limitBucket);
  inside.sort((a, b) => a.dist - b.dist || a.rec.id - b.rec.id);
  const modelledIdx = types.map((t, j) => (t === 'EXTRA_O' ? -1 : j)).filter((j) => j >= 0);
  const plan = affordableModel(Math.min(inside.length, MAX_POINTS_FOR_MODEL), n, modelledIdx.length, predictions);
  if (plan === null) return null;
  const chosen = inside.slice(0, plan.points);
  if (chosen.length < minPoints) return null;
  const xs = chosen.map((c) => scale(toFree(state.space, c.rec.x)));
  const ys = chosen.map((c) => modelledIdx.map((j) => (c.rec.outputs as number[])[j]));
  // The minimum-norm fit is of the full quadratic; where the work bound chose the separable one,
  // that one is fitted as usual.
  const fit = (points: number[][], values: number[][], kind: QuadraticKind): QuadraticModel | null =>
    minNorm && kind === 'full' ? fitQuadraticMinNorm(points, values) : fitQuadratic(points, values, kind);
  // The fit on the chosen records alone is reused within a cache (recentFit); a refit with censored
  // points (below) is not, since their bounds are not part of the key.
  let model: QuadraticModel | null =
    scale === identity
      ? recentFit(state, `${plan.kind} ${minNorm} ${chosen.map((c) => c.rec.id).join(',')}`, () =>
          fit(xs, ys, plan.kind),
        )
      : fit(xs, ys, plan.kind);
  if (model === null) return null;
  const censored = withCensored(state, model, centre, inverse, limitBucket, chosen.length, predictions, scale);
  if (censored !== null) {
    const refit = fit([...xs, ...censored.xs], [...ys, ...censored.ys], censored.kind);
    if (refit !== null) {
      model = refit;
      xs.push(...censored.xs);
    }
  }
  const final = model;
  const modelled = types.filter((t) => t !== 'EXTRA_O');
  return {
    xs,
    fh(x) {
      const pred = final.predict(x);
      // computeHStandard (§1.4) with EB treated as PB (QUAD_MODEL_SEARCH_FORCE_EB false).
      let f = NaN;
      let h = 0;
      let violated = false;
      modelled.forEach((t, j) => {
        if (t === 'OBJ') f = pred[j];
        else if (greaterEps(pred[j], 0)) {
          violated = true;
          h += pred[j] * pred[j];
        }
      });
      if (violated && equalEps(h, 0)) h = EPS;
      return { f, h };
    },
  };
}

/**
 * `censoredModels`: the points stopped early inside the training box (the same box doubling as the
 * valid points), nearest first, as many as the work bound allows, each imputed from the model
 * fitted without them: the objective at max(bound, predicted f), the constraints at their
 * predictions (a stop measures none). One step of the classic imputation for censored regression:
 * a point the model already predicts worse than its bound is consistent with it and changes
 * little; one it predicts better pulls the model up to the bound there, so the model stops
 * pointing at a neighbourhood the stops said cannot beat the incumbent (docs/algorithm.md, "Early
 * stopping: what the models learn from a stop"). Null when there is none or no richer plan fits.
 */
function withCensored(
  state: EngineState,
  model: QuadraticModel,
  centre: readonly number[],
  inverse: readonly number[],
  limitBucket: number,
  realPoints: number,
  predictions: number,
  scale: (x: number[]) => number[],
): { xs: number[][]; ys: number[][]; kind: QuadraticKind } | null {
  if (!state.options.censoredModels) return null;
  const types = state.problem.outputTypes;
  const free = state.space.free;
  const n = centre.length;
  const near: { rec: PointRecord; dist: number }[] = [];
  for (const rec of state.cache.records) {
    if (rec.status !== 'failed' || rec.censoredBelow === null || !Number.isFinite(rec.censoredBelow)) continue;
    let dist = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.abs(rec.x[free[i]] - centre[i]) * inverse[i];
      if (d > dist) dist = d;
    }
    if (bucketOf(dist) <= limitBucket) near.push({ rec, dist });
  }
  if (near.length === 0) return null;
  near.sort((a, b) => a.dist - b.dist || a.rec.id - b.rec.id);
  const modelledIdx = types.map((t, j) => (t === 'EXTRA_O' ? -1 : j)).filter((j) => j >= 0);
  const total = Math.min(realPoints + near.length, MAX_POINTS_FOR_MODEL);
  const plan = affordableModel(total, n, modelledIdx.length, predictions);
  if (plan === null || plan.points <= realPoints) return null;
  const taken = near.slice(0, plan.points - realPoints);
  const xs = taken.map((c) => scale(toFree(state.space, c.rec.x)));
  const objective = modelledIdx.findIndex((j) => types[j] === 'OBJ');
  const ys = xs.map((x, i) => {
    const predicted = model.predict(x);
    predicted[objective] = Math.max(taken[i].rec.censoredBelow as number, predicted[objective]);
    return predicted;
  });
  if (ys.some((y) => y.some((v) => !Number.isFinite(v)))) return null;
  return { xs, ys, kind: plan.kind };
}

/** QUADRATIC_MODEL order (§3.6): model-feasible by predicted f, then infeasible by h, f; ties by tag. */
export function modelOrder(state: EngineState, cands: Candidate[]): Candidate[] | null {
  const frames = frameSizes(state.mesh);
  const pts = cands.map((c) => toFree(state.space, c.x));
  const n = frames.length;
  const centre: number[] = [];
  const radius: number[] = [];
  for (let i = 0; i < n; i++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of pts) {
      lo = Math.min(lo, p[i]);
      hi = Math.max(hi, p[i]);
    }
    centre.push((lo + hi) / 2);
    // QUAD_MODEL_BOX_FACTOR applied to the span of the trial points.
    const span = hi - lo;
    radius.push((state.options.quadModelBoxFactor / 2) * (span > 0 ? span : frames[i]));
  }
  const predictor = buildPredictor(state, centre, radius, cands.length);
  if (predictor === null) return null;
  const keyed = cands.map((c, tag) => ({ c, tag, ...predictor.fh(pts[tag]) }));
  if (keyed.some((k) => !Number.isFinite(k.f) || !Number.isFinite(k.h))) return null;
  keyed.sort((a, b) => {
    const fa = a.h === 0;
    const fb = b.h === 0;
    if (fa !== fb) return fa ? -1 : 1;
    if (!fa && a.h !== b.h) return a.h - b.h;
    if (a.f !== b.f) return a.f - b.f;
    return a.tag - b.tag;
  });
  return keyed.map((k) => k.c);
}

/** `QuadModelUpdate` epsilon of the scaling by directions. */
const SCALING_EPSILON = 0.01;

/**
 * ORTHO N+1 QUAD second pass (§3.4): the model is fitted on the training points scaled by the n
 * first-pass directions d_j (`QuadModelUpdate::scalingByDirections`, Audet, Ianni, Le Digabel,
 * Tribes 2014): s_j = d_j·(c − x)/‖d_j‖²/(1 − ε) − ε/(1 − ε), ε = 0.01; the inner MADS minimises
 * it over s ∈ [0, 1]ⁿ from s = 0.5 (`QuadModelOptimize` with scaled bounds), and the result is
 * unscaled as x = c − Σ (ε + (1 − ε)s_j)·d_j (`unscalingByDirections`), i.e. a point of the
 * negative cone {c − Σ t_j d_j : t_j ∈ [0.01, 1]}. Returns x − c (free coordinates) or null when
 * there is no model.
 */
export function quadSecondPassDirection(state: EngineState, centreId: number, firstPass: number[][]): number[] | null {
  const c = toFree(state.space, state.cache.get(centreId).x);
  const radius = frameSizes(state.mesh).map((d) => (state.options.quadModelBoxFactor / 2) * d);
  const eps = SCALING_EPSILON;
  const norms = firstPass.map((d) => d.reduce((sum, v) => sum + v * v, 0));
  if (norms.some((v) => v === 0)) return null;
  const scale = (x: number[]): number[] =>
    firstPass.map((d, j) => {
      let p = 0;
      for (let i = 0; i < d.length; i++) p += d[i] * (c[i] - x[i]);
      return p / (1 - eps) / norms[j] - eps / (1 - eps);
    });
  const predictor = buildPredictor(state, c, radius, state.options.quadModelMaxEval, scale);
  if (predictor === null) return null;
  const n = c.length;
  const unscale = (s: readonly number[]): number[] => {
    const x = [...c];
    firstPass.forEach((d, j) => {
      const t = eps + (1 - eps) * s[j];
      for (let i = 0; i < n; i++) x[i] -= t * d[i];
    });
    return x;
  };
  const k = firstPass.length;
  const opt = minimizeInBox(
    (s) => predictor.fh(s),
    new Array<number>(k).fill(0),
    new Array<number>(k).fill(1),
    new Array<number>(k).fill(0.5),
    optimizerOptions(state),
  );
  const best = opt.bestFeasible ?? opt.bestInfeasible;
  if (best === null) return null;
  const x = unscale(best.x);
  const d = x.map((v, i) => v - c[i]);
  return d.some((v) => v !== 0) ? d : null;
}

/** An incumbent a model may be centred on: f and h finite (below NOMAD's 1e20 "infinity"). */
function modelCentre(inc: { f: number; h: number }): boolean {
  return Math.abs(inc.f) < 1e20 && inc.h < 1e20;
}

interface SearchBox {
  lower: number[];
  upper: number[];
  start: number[];
}

/**
 * NOMAD's region for the model search (`QuadModelOptimize`): the bounding box of the training
 * points, from its centre. Once the training box has been doubled to hold (n+1)(n+2)/2 points it
 * is up to 2^k times the frame-sized box around the incumbent.
 */
function hullBox(c: readonly number[], xs: readonly number[][]): SearchBox {
  const lower = c.map((_, i) => Math.min(...xs.map((x) => x[i])));
  const upper = c.map((_, i) => Math.max(...xs.map((x) => x[i])));
  return { lower, upper, start: lower.map((l, i) => (l + upper[i]) / 2) };
}

/**
 * `quadSearchTrustRegion` (meshtune extension): the model is minimised only in the box of
 * QUAD_MODEL_BOX_FACTOR/2 frame sizes around the incumbent, within the bounds, from the
 * incumbent — the region the training box was built for — as idle points already are
 * (`quadIdleCandidate`). Why it was tried: on bench:engine's `rosenbrock_box_4` (seed 1) every
 * model point of the first 100 evaluations failed, most of them far from the incumbent. Opt-in:
 * its gains on the development seeds did not hold on others (docs/benchmarks.md, "Results:
 * small budgets, 2026-12-04 evening").
 */
function trustRegion(state: EngineState, c: readonly number[], radius: readonly number[]): SearchBox {
  const free = state.space.free;
  return {
    lower: c.map((v, i) => Math.max(v - radius[i], state.space.lower[free[i]])),
    upper: c.map((v, i) => Math.min(v + radius[i], state.space.upper[free[i]])),
    start: [...c],
  };
}

/** QUAD_MODEL_SEARCH (§4.3): ≤ 2 candidates per incumbent, projected on the main mesh. */
export function quadSearchCandidates(state: EngineState): Candidate[] {
  const out: Candidate[] = [];
  const radius = frameSizes(state.mesh).map((d) => (state.options.quadModelBoxFactor / 2) * d);
  for (const id of [state.barrier.incFeas[0], state.barrier.incInf[0]]) {
    if (id === undefined) continue;
    const inc = state.cache.get(id);
    if (!modelCentre(inc)) continue;
    const c = toFree(state.space, inc.x);
    const predictor = buildPredictor(state, c, radius, state.options.quadModelMaxEval);
    if (predictor === null) continue;
    const { lower, upper, start } = state.options.quadSearchTrustRegion
      ? trustRegion(state, c, radius)
      : hullBox(c, predictor.xs);
    const opt = minimizeInBox((x) => predictor.fh(x), lower, upper, start, optimizerOptions(state));
    for (const p of [opt.bestFeasible, opt.bestInfeasible]) {
      if (p !== null) out.push(meshCandidate(state, id, p.x));
    }
  }
  return out;
}

/**
 * Trust-region scales (relative to QUAD_MODEL_BOX_FACTOR·frame) of the idle-filling model points:
 * the boxes a sequential MADS's next quadratic-model searches would use after one or two
 * refinements (what the pipeline assumes of the points in flight) or after an enlargement.
 */
const IDLE_BOX_SCALES = [0.5, 2, 0.25, 4, 0.125, 8];

/**
 * The k-th idle-filling model point (k from 0): the quadratic model around the feasible (else
 * infeasible) incumbent, fitted on the cache points of the scaled box and minimised in it,
 * projected on the mesh. null when there is no model or k is past the scales.
 */
export function quadIdleCandidate(state: EngineState, k: number): Candidate | null {
  if (k >= IDLE_BOX_SCALES.length) return null;
  const id = state.barrier.incFeas[0] ?? state.barrier.incInf[0];
  if (id === undefined) return null;
  const inc = state.cache.get(id);
  if (!modelCentre(inc)) return null;
  const scale = IDLE_BOX_SCALES[k];
  const radius = frameSizes(state.mesh).map((d) => (state.options.quadModelBoxFactor / 2) * d * scale);
  const c = toFree(state.space, inc.x);
  const predictor = buildPredictor(state, c, radius, state.options.quadModelMaxEval);
  if (predictor === null) return null;
  const bounds = state.space.free.map((i) => [state.space.lower[i], state.space.upper[i]]);
  const lower = c.map((v, i) => Math.max(v - radius[i], bounds[i][0]));
  const upper = c.map((v, i) => Math.min(v + radius[i], bounds[i][1]));
  const opt = minimizeInBox((x) => predictor.fh(x), lower, upper, [...c], optimizerOptions(state));
  const p = opt.bestFeasible ?? opt.bestInfeasible;
  return p === null ? null : meshCandidate(state, id, p.x);
}

/**
 * A model minimiser as a search candidate: the free coordinates `free` put into the incumbent
 * `fromId` (fixed variables keep its values), projected on the mesh around it and the bounds.
 */
function meshCandidate(state: EngineState, fromId: number, free: readonly number[]): Candidate {
  const inc = state.cache.get(fromId);
  const raw = [...inc.x];
  state.space.free.forEach((i, k) => {
    raw[i] = free[k];
  });
  return { x: snapToMeshAndBounds(state.space, state.mesh, raw, inc.x), fromId, origin: 'search' };
}
