/**
 * Speculative line search (meshtune extension, `speculativeLineFactor`): when the speculative
 * point of the feasible incumbent fails, the three evaluated points on its line — the incumbent's
 * generating point p (t = 0), the incumbent x (t = 1) and the speculative point s (t = t_s) —
 * bracket a minimum along d = x − p (f(p) > f(x) ≤ f(s)). The minimiser of the parabola through
 * them, projected on the mesh around the incumbent, is one more search point. A classic
 * interpolating line search (e.g. Nocedal & Wright, §3.5); NOMAD's speculative search only
 * extrapolates (SpeculativeSearchMethod.cpp).
 */
import { isFeasible } from '../evaluation';
import { snapToMeshAndBounds, toFree } from '../space';
import type { Candidate, EngineState, Step } from '../state';

/** The speculative point must lie on the line p + t·d within this share of ‖d‖ (snapping moves it). */
const OFF_LINE_TOLERANCE = Number(process.env.Q20_LS_TOL ?? 0.25);

/**
 * The parabola's minimiser for a failed speculative step, or null when the step's point is not
 * usable (not evaluated, infeasible, off the line, or the parabola is not convex).
 */
export function lineSearchCandidate(state: EngineState, step: Step): Candidate | null {
  const incId = step.startFeas;
  if (incId === null || step.returned.length === 0) return null;
  const inc = state.cache.get(incId);
  if (inc.fromId < 0 || inc.fromId === incId) return null;
  const from = state.cache.get(inc.fromId);
  const spec = step.returned.map((id) => state.cache.get(id)).find((r) => r.fromId === incId);
  if (spec === undefined) return null;
  for (const r of [inc, from, spec]) if (r.status !== 'ok' || !isFeasible(r.h)) return null;
  const p = toFree(state.space, from.x);
  const x = toFree(state.space, inc.x);
  const s = toFree(state.space, spec.x);
  const d = x.map((v, i) => v - p[i]);
  const dd = d.reduce((a, v) => a + v * v, 0);
  if (dd === 0) return null;
  const ts = s.reduce((a, v, i) => a + (v - p[i]) * d[i], 0) / dd;
  if (!(ts > 1)) return null;
  const offLine = Math.sqrt(s.reduce((a, v, i) => a + (v - p[i] - ts * d[i]) ** 2, 0) / dd);
  if (offLine > OFF_LINE_TOLERANCE) return null;
  // Parabola through (0, f0), (1, f1), (ts, f2): f(t) = f0 + b t + c t².
  const [f0, f1, f2] = [from.f, inc.f, spec.f];
  const c = ((f2 - f0) / ts - (f1 - f0)) / (ts - 1);
  if (!(c > 0)) return null;
  const b = f1 - f0 - c;
  const t = Math.min(Math.max(-b / (2 * c), 0), ts);
  if (process.env.Q20_LS_BEYOND === '1' && t <= 1) return null;
  const raw = [...inc.x];
  state.space.free.forEach((j, k) => {
    raw[j] = p[k] + t * d[k];
  });
  return { x: snapToMeshAndBounds(state.space, state.mesh, raw, inc.x), fromId: incId, origin: 'search' };
}

/** Whether a failed speculative step gets its line-search point: sequential studies at small budgets. */
export function lineSearchEnabled(state: EngineState): boolean {
  const n = state.space.free.length;
  if (process.env.Q20_LS_CONT === '1' && state.space.free.some((j) => state.problem.variables[j].type !== 'R')) return false;
  return state.inFlight === 0 && state.evaluations < state.options.speculativeLineFactor * (n + 1);
}
