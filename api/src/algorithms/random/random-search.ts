/**
 * Seeded random sampling: the baseline algorithm of a study.
 *
 * - The first asks return the X0 points (origin 'x0'), then uniform samples (origin 'random').
 * - Each free variable is sampled uniformly in its bounds, on its granularity (I ⇒ integers,
 *   B ⇒ {0, 1}); fixed variables keep their value. A missing bound is replaced by
 *   `min(x0) − 10·s` / `max(x0) + 10·s` with s = max(1, |x0| over all X0): sampling "around X0".
 * - Never a point suggested or told before (cache keys as in MADS, api/src/mads/cache.ts). When 200
 *   draws in a row hit known points the space is treated as exhausted: [] now, and once nothing
 *   is in flight the algorithm stops with MIN_MESH_SIZE_REACHED.
 * - Stops with MAX_BB_EVAL when told results reach the budget; ask never exceeds the budget
 *   counting points in flight.
 * Uses NOMAD's RNG (api/src/math/rng.ts) so that a seed means the same thing as in MADS.
 */
import type {
  EvaluationResult,
  ProblemSpec,
  StopReason,
  Suggestion,
  SuggestionAlgorithm,
} from '../../optimizer-contract/algorithm';
import { InvalidResultError, InvalidStateError } from '../../optimizer-contract/algorithm-errors';
import { validateProblem, validateResult } from '../../optimizer-contract/problem-validation';
import { NomadRng } from '../../math/rng';
import { cacheKey, clipAndRound, createSpace, type Space } from '../../mads/space';

const MAX_DRAWS = 200;
const FORMAT = 'meshtune.random';
const VERSION = 1;

export interface RandomSearchStateJson {
  format: typeof FORMAT;
  version: typeof VERSION;
  problem: ProblemSpec;
  rng: number[];
  /** Every known point; `pending` marks those suggested and not told yet. */
  points: number[][];
  pending: boolean[];
  x0Next: number;
  evaluations: number;
  stop: StopReason | null;
}

export class RandomSearch implements SuggestionAlgorithm {
  private readonly space: Space;
  private readonly index = new Map<string, number>();
  /** How many of `s.pending` are true (derived, kept up to date so that ask stays O(1)). */
  private inFlight: number;

  private constructor(private readonly s: RandomSearchStateJson) {
    this.space = createSpace(s.problem);
    s.points.forEach((x, i) => this.index.set(cacheKey(x), i));
    this.inFlight = s.pending.reduce((n, pending) => n + (pending ? 1 : 0), 0);
  }

  static create(problem: ProblemSpec): RandomSearch {
    validateProblem(problem);
    return new RandomSearch({
      format: FORMAT,
      version: VERSION,
      problem: structuredClone(problem),
      rng: NomadRng.fromSeed(problem.seed).state(),
      points: [],
      pending: [],
      x0Next: 0,
      evaluations: 0,
      stop: null,
    });
  }

  static fromJSON(state: unknown): RandomSearch {
    const j = state as RandomSearchStateJson;
    if (j === null || typeof j !== 'object' || j.format !== FORMAT || j.version !== VERSION) {
      throw new InvalidStateError('state', `expected a ${FORMAT} v${VERSION} state`);
    }
    return new RandomSearch(structuredClone(j));
  }

  get stopReason(): StopReason | null {
    return this.s.stop;
  }

  get evaluationCount(): number {
    return this.s.evaluations;
  }

  stop(): void {
    if (this.s.stop === null) this.s.stop = { kind: 'USER_STOP' };
  }

  ask(k: number): Suggestion[] {
    if (!Number.isInteger(k) || k < 0) throw new InvalidResultError('k', 'must be a non-negative integer');
    const out: Suggestion[] = [];
    const rng = NomadRng.fromState(this.s.rng);
    const x0 = this.s.problem.x0;
    while (out.length < k && this.s.stop === null && this.budgetLeft() > 0) {
      if (this.s.x0Next < x0.length) {
        const x = [...x0[this.s.x0Next++]];
        if (!this.index.has(cacheKey(x))) out.push(this.add(x, 'x0'));
        continue;
      }
      const x = this.draw(rng);
      if (x === null) {
        if (this.inFlight === 0 && out.length === 0) this.s.stop = { kind: 'MIN_MESH_SIZE_REACHED' };
        break;
      }
      out.push(this.add(x, 'random'));
    }
    this.s.rng = rng.state();
    return out;
  }

  tell(results: readonly EvaluationResult[]): void {
    results.forEach((r, i) => validateResult(this.s.problem, r, i));
    for (const r of results) {
      const key = cacheKey(r.x);
      const i = this.index.get(key);
      if (i !== undefined && !this.s.pending[i]) continue; // already evaluated: ignored
      if (i === undefined) {
        this.index.set(key, this.s.points.length);
        this.s.points.push([...r.x]);
        this.s.pending.push(false);
      } else {
        this.s.pending[i] = false;
        this.inFlight--;
      }
      this.s.evaluations++;
    }
    const max = this.s.problem.maxEvaluations;
    if (this.s.stop === null && max !== null && this.s.evaluations >= max) {
      this.s.stop = { kind: 'MAX_BB_EVAL', evaluations: this.s.evaluations };
    }
  }

  /** Points evaluated outside the algorithm, before their results: in flight, never suggested. */
  markInFlight(points: readonly (readonly number[])[]): void {
    points.forEach((x, i) => validateResult(this.s.problem, { x: [...x], outputs: null }, i));
    for (const x of points) {
      if (this.index.has(cacheKey(x))) continue;
      this.add([...x], 'random');
    }
  }

  toJSON(): RandomSearchStateJson {
    return structuredClone(this.s);
  }

  private budgetLeft(): number {
    const max = this.s.problem.maxEvaluations;
    return max === null ? Infinity : max - this.s.evaluations - this.inFlight;
  }

  private add(x: number[], origin: 'x0' | 'random'): Suggestion {
    this.index.set(cacheKey(x), this.s.points.length);
    this.s.points.push(x);
    this.s.pending.push(true);
    this.inFlight++;
    return { x: [...x], origin };
  }

  private draw(rng: NomadRng): number[] | null {
    for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
      const x = this.s.problem.variables.map((_, i) => this.sampleCoordinate(rng, i));
      const snapped = clipAndRound(this.space, x);
      if (!this.index.has(cacheKey(snapped))) return snapped;
    }
    return null;
  }

  private sampleCoordinate(rng: NomadRng, i: number): number {
    const fixed = this.space.fixed[i];
    if (fixed !== null) return fixed;
    const x0s = this.s.problem.x0.map((x) => x[i]);
    const spread = 10 * Math.max(1, ...x0s.map(Math.abs));
    const lb = Number.isFinite(this.space.lower[i]) ? this.space.lower[i] : Math.min(...x0s) - spread;
    const ub = Number.isFinite(this.space.upper[i]) ? this.space.upper[i] : Math.max(...x0s) + spread;
    const g = this.space.granularity[i];
    if (g > 0) {
      const lo = Math.ceil(lb / g - 1e-9);
      const hi = Math.floor(ub / g + 1e-9);
      const k = Math.min(hi, lo + Math.floor(rng.uniform(0, 1) * (hi - lo + 1)));
      return k * g;
    }
    return rng.uniform(lb, ub);
  }
}
