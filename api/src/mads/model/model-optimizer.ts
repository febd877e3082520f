/**
 * Minimisation of a quadratic model inside a box by an inner MADS, as NOMAD 4.5.1 does it
 * (src/Algos/QuadModel/QuadModelOptimize.cpp, `QuadModelOptimize::setupRunParameters`,
 * `setupPbParameters`):
 *
 * - X0 = the given start point (the centre of the training set's bounding box); coordinates
 *   whose bounds are equal (ε) are fixed;
 * - default initial frame, 10 % of each box width with the §2.2 decoding, minimum mesh and
 *   frame sizes 0, no granularity;
 * - DIRECTION_TYPE ORTHO 2N, secondary poll DOUBLE on the infeasible incumbent, speculative
 *   search, no other search, isotropic mesh (ANISOTROPIC_MESH false), H_MAX_0 = ∞;
 * - no opportunism and no cache: every point of a step is evaluated, in coordinate order, also
 *   one seen before (model evaluations are never looked up, `EvcInterface::keepPointsThatNeedEval`);
 * - stops after `maxEval` model evaluations (checked before each step's block, so the last
 *   block may pass it, as NOMAD's budget check does), on a mesh stop (§2.6), or when the poll
 *   generates no point (MESH_PREC_REACHED);
 * - draws its directions from the engine's RNG (NOMAD's inner MADS consumes the global RNG,
 *   Appendix B).
 *
 * The result is the barrier's feasible and infeasible incumbents (`Mads::getBestSolution`).
 */
import {
  Success,
  computeSuccessType,
  emptyBarrier,
  refreshIncumbents,
  updateWithPoints,
  type BarrierState,
  type FH,
} from '../barrier';
import { doubleDirections, ortho2nDirections } from '../directions';
import { isFeasible } from '../evaluation';
import {
  checkMeshForStopping,
  createMesh,
  defaultInitialFrameSize,
  enlarge,
  meshSizeOf,
  projectCoordinate,
  refine,
  rhoOf,
  type FrameRounding,
  type MeshState,
} from '../mesh';
import { equalEps, roundHalfAway, roundToPrecision } from '../../math/numerics';
import type { NomadRng } from '../../math/rng';

export interface ModelPoint {
  x: number[];
  f: number;
  h: number;
}

export interface ModelOptimum {
  bestFeasible: ModelPoint | null;
  bestInfeasible: ModelPoint | null;
  /** Model evaluations spent. */
  evaluations: number;
}

export interface ModelOptimizerOptions {
  /** QUAD_MODEL_MAX_EVAL. */
  maxEval: number;
  /** The engine's RNG (consumed, as NOMAD's global RNG is). */
  rng: NomadRng;
  /** How the initial frame is decoded into 1-2-5 × 10^b (the engine's option, Appendix D #1). */
  frameRounding: FrameRounding;
  /**
   * Without a cache, NOMAD looks a blackbox trial point up in the barrier and does not evaluate it
   * again if it is there; model evaluations are always repeated (`EvcInterface::keepPointsThatNeedEval`).
   * false (default) = the model optimisation; true = the same MADS on a blackbox, as in the golden
   * traces of model-optimizer.spec.ts.
   */
  skipPointsInBarrier?: boolean;
  /**
   * NOMAD's rules for the end of a run (the nomad4 preset): the DOUBLE direction of the last poll
   * is drawn before the mesh-precision test, the run stops only when no poll method generated a
   * point, and incumbents a failed speculative search left out of date are derived at the stop.
   * false (the meshtune preset, which was measured with it): the run stops as soon as the primary
   * poll generates nothing, and the incumbents are those of the last deriving update.
   */
  nomadRules?: boolean;
}

interface InnerPoint {
  x: number[];
  /** null: the model could not be evaluated there (failed evaluation, §1.5). */
  fh: FH | null;
  /** pointFrom (§5.2): index of the frame centre, −1 for X0. */
  from: number;
}

class InnerMads {
  private readonly points: InnerPoint[] = [];
  private readonly barrier: BarrierState = emptyBarrier(Infinity);
  private readonly mesh: MeshState;
  /** Indices of the coordinates that move (bounds not equal). */
  private readonly free: number[];
  /** δ and ρ per free coordinate, refreshed when the mesh changes (§2.1). */
  private delta: number[] = [];
  private rho: number[] = [];
  evaluations = 0;

  constructor(
    private readonly evaluate: (x: readonly number[]) => FH,
    private readonly lower: readonly number[],
    private readonly upper: readonly number[],
    private readonly start: readonly number[],
    private readonly opts: ModelOptimizerOptions,
  ) {
    this.free = lower.map((_, i) => i).filter((i) => !equalEps(lower[i], upper[i]));
    const frames = this.free.map((i) => defaultInitialFrameSize(lower[i], upper[i], [start[i]], 0, 0));
    const zeros = this.free.map(() => 0);
    this.mesh = createMesh(frames, zeros, zeros, zeros, opts.frameRounding);
    this.refreshMeshSizes();
  }

  private refreshMeshSizes(): void {
    this.delta = this.free.map((_, k) => meshSizeOf(this.mesh, k));
    this.rho = this.free.map((_, k) => rhoOf(this.mesh, k));
  }

  run(): ModelOptimum {
    const x0 = this.evaluateBlock([{ x: [...this.start], from: -1 }]);
    updateWithPoints(this.barrier, x0, this.fh, true);
    if (this.free.length > 0) this.iterate();
    // The run's end derives the incumbents from points a failed last search added (`refreshIncumbents`).
    if (this.opts.nomadRules === true) refreshIncumbents(this.barrier, this.fh);
    const view = (id: number | undefined): ModelPoint | null => {
      if (id === undefined) return null;
      const p = this.points[id];
      return p.fh === null ? null : { x: [...p.x], f: p.fh.f, h: p.fh.h };
    };
    return {
      bestFeasible: view(this.barrier.incFeas[0]),
      bestInfeasible: view(this.barrier.incInf[0]),
      evaluations: this.evaluations,
    };
  }

  private readonly fh = (id: number): FH | null => this.points[id].fh;

  private iterate(): void {
    for (;;) {
      if (this.evaluations >= this.opts.maxEval) return;
      this.updateMesh();
      if (checkMeshForStopping(this.mesh) !== null) return;
      if (this.evaluations >= this.opts.maxEval) return;
      // Search: speculative only; a FULL success skips the poll (§4).
      const speculative = this.speculativePoints();
      if (speculative.length > 0) {
        const ref = this.startOfStep();
        const ids = this.evaluateBlock(speculative);
        const full = ids.some((id) => this.success(id, ref) === Success.FULL);
        updateWithPoints(this.barrier, ids, this.fh, full);
        if (this.opts.nomadRules !== true) delete this.barrier.stale;
        if (full) continue;
        if (this.evaluations >= this.opts.maxEval) return;
      }
      const poll = this.pollPoints();
      if (poll === null) return; // MESH_PREC_REACHED
      const ids = this.evaluateBlock(poll);
      updateWithPoints(this.barrier, ids, this.fh, true);
    }
  }

  /** MegaIteration start (§5.1 use 2): enlarge on FULL success, keep on PARTIAL, else refine. */
  private updateMesh(): void {
    const b = this.barrier;
    const newFeas = b.incFeas[0] ?? null;
    const newInf = b.incInf[0] ?? null;
    if (b.refFeas !== null || b.refInf !== null) {
      const get = (id: number | null): FH | null => (id === null ? null : this.points[id].fh);
      let success = computeSuccessType(get(newFeas), get(b.refFeas), Infinity);
      if (success < Success.PARTIAL) {
        success = Math.max(success, computeSuccessType(get(newInf), get(b.refInf), Infinity));
      }
      // ANISOTROPIC_MESH false: every coordinate is enlarged, whatever the direction.
      if (success === Success.FULL) enlarge(this.mesh, [], false, 0);
      else if (success !== Success.PARTIAL) refine(this.mesh);
      this.refreshMeshSizes();
    }
    b.refFeas = newFeas;
    b.refInf = newInf;
  }

  private startOfStep(): { feas: FH | null; inf: FH | null; hMax: number } {
    const b = this.barrier;
    const get = (id: number | undefined): FH | null => (id === undefined ? null : this.points[id].fh);
    return { feas: get(b.incFeas[0]), inf: get(b.incInf[0]), hMax: b.hMax };
  }

  /** Success of one point against the barrier at the start of its step (§5.1 use 1). */
  private success(id: number, ref: { feas: FH | null; inf: FH | null; hMax: number }): Success {
    const p = this.points[id].fh;
    if (p === null) return Success.UNDEFINED;
    return computeSuccessType(p, isFeasible(p.h) ? ref.feas : ref.inf, ref.hMax);
  }

  /**
   * Evaluate a step's points. NOMAD keeps trial points in a set ordered by coordinates and, with
   * opportunism off, does not sort them: they are evaluated (and enter the barrier, where the
   * first of tied points wins) in lexicographic order.
   */
  private evaluateBlock(cands: { x: number[]; from: number }[]): number[] {
    const ids: number[] = [];
    const fresh = this.opts.skipPointsInBarrier === true ? cands.filter((c) => !this.inBarrier(c.x)) : cands;
    const ordered = [...fresh].sort((a, b) => {
      for (let i = 0; i < a.x.length; i++) if (a.x[i] !== b.x[i]) return a.x[i] - b.x[i];
      return 0;
    });
    for (const c of ordered) {
      const { f, h } = this.evaluate(c.x);
      this.evaluations++;
      const ok = Number.isFinite(f) && !Number.isNaN(h);
      this.points.push({ x: c.x, fh: ok ? { f, h } : null, from: c.from });
      ids.push(this.points.length - 1);
    }
    return ids;
  }

  /** Whether a point is in the barrier (`BarrierBase::findPoint`), see `skipPointsInBarrier`. */
  private inBarrier(x: readonly number[]): boolean {
    const b = this.barrier;
    const same = (id: number): boolean => this.points[id].x.every((v, i) => v === x[i]);
    return b.xFeas.some(same) || b.xInf.some(same);
  }

  /** `snapPointToBoundsAndProjectOnMesh` (§2.5): project relative to the centre, clip, round. */
  private snap(point: readonly number[], centre: readonly number[]): number[] {
    const x = [...centre];
    this.free.forEach((i, k) => {
      const projected = projectCoordinate(point[i], centre[i], this.delta[k]);
      const clipped = Math.min(Math.max(projected, this.lower[i]), this.upper[i]);
      x[i] = Math.min(Math.max(roundToPrecision(clipped, false), this.lower[i]), this.upper[i]);
    });
    return x;
  }

  /** Speculative search (§4.1): p + 4·(x_inc − p) for each incumbent that has a pointFrom. */
  private speculativePoints(): { x: number[]; from: number }[] {
    const out: { x: number[]; from: number }[] = [];
    for (const id of [this.barrier.incFeas[0], this.barrier.incInf[0]]) {
      if (id === undefined) continue;
      const inc = this.points[id];
      if (inc.from < 0) continue;
      const p = this.points[inc.from].x;
      const raw = p.map((v, i) => v + 4 * (inc.x[i] - v));
      out.push({ x: this.snap(raw, inc.x), from: id });
    }
    return out;
  }

  /** ORTHO 2N around the primary centre, DOUBLE around the secondary one (§3.2–§3.4); null = no point. */
  private pollPoints(): { x: number[]; from: number }[] | null {
    const feas = this.barrier.incFeas[0];
    const inf = this.barrier.incInf[0];
    const primary = feas ?? inf;
    if (primary === undefined) return null;
    const n = this.free.length;
    const all: { x: number[]; from: number }[] = [];
    // NOMAD compares points coordinate by coordinate with its ε (|a − b| < 1e-13, Appendix A).
    const same = (a: readonly number[], b: readonly number[]): boolean => a.every((v, i) => equalEps(v, b[i]));
    const around = (centreId: number, dirs: number[][]): { x: number[]; from: number }[] => {
      const centre = this.points[centreId].x;
      const out: { x: number[]; from: number }[] = [];
      for (const dir of dirs) {
        // GMesh::scaleAndProjectOnMesh (§2.5): round(ρ·v/‖v‖∞)·δ.
        let inf = 0;
        for (const c of dir) inf = Math.max(inf, Math.abs(c));
        if (inf === 0) continue;
        const raw = [...centre];
        this.free.forEach((i, k) => {
          raw[i] = centre[i] + roundHalfAway((this.rho[k] * dir[k]) / inf) * this.delta[k];
        });
        const x = this.snap(raw, centre);
        // Points equal to the centre are dropped and duplicates collapse (§2.5); when every point
        // of the primary poll is dropped the run stops (MESH_PREC_REACHED).
        if (same(x, centre) || all.some((p) => same(p.x, x))) continue;
        const point = { x, from: centreId };
        all.push(point);
        out.push(point);
      }
      return out;
    };
    const primaryPoints = around(primary, ortho2nDirections(this.opts.rng, n));
    // Every poll method generates its points before the stop test, and the run stops only when
    // none generated any (NOMAD 4.5.1, src/Algos/Mads/Poll.cpp, `Poll::generateTrialPointsImp`:
    // MESH_PREC_REACHED on `getTrialPointsCount() == 0`): the DOUBLE direction is drawn even when
    // the primary poll rounded back to its centre, so the RNG the outer MADS goes on with is
    // NOMAD's, and secondary points alone keep the run going.
    if (this.opts.nomadRules !== true && primaryPoints.length === 0) return null;
    const secondary = feas !== undefined && inf !== undefined ? around(inf, doubleDirections(this.opts.rng, n)) : [];
    if (primaryPoints.length + secondary.length === 0) return null;
    return [...primaryPoints, ...secondary];
  }
}

/**
 * Minimise the model (f, h) over [lower, upper] from `start` with NOMAD's inner MADS (module
 * comment). Preference as in NOMAD's barrier: feasible incumbent, else infeasible incumbent.
 */
export function minimizeInBox(
  evaluate: (x: readonly number[]) => FH,
  lower: readonly number[],
  upper: readonly number[],
  start: readonly number[],
  opts: ModelOptimizerOptions,
): ModelOptimum {
  return new InnerMads(evaluate, lower, upper, start, opts).run();
}
