/**
 * Reading blackbox outputs (§1.4, §1.5; NOMAD 4.5.1, src/Eval/Eval.cpp, `Eval::computeHStandard`,
 * `Eval::setBBO`): objective f, infeasibility h (H_NORM L2, H_MIN 0), failure, and the Phase One
 * objective (§5.5).
 */
import type { OutputType } from '../optimizer-contract/algorithm';
import { EPS, MODEL_MAX_OUTPUT, equalEps } from '../math/numerics';

export interface Evaluated {
  ok: boolean;
  f: number;
  h: number;
  /** Phase One objective: Σ max(c, 0)² over EB constraints (§5.5). */
  phaseOneF: number;
}

const FAILED: Evaluated = { ok: false, f: Infinity, h: Infinity, phaseOneF: Infinity };

export function evaluateOutputs(types: readonly OutputType[], outputs: readonly number[] | null): Evaluated {
  if (outputs === null || outputs.length !== types.length) return FAILED;
  let f = NaN;
  let h = 0;
  let anyPositivePb = false;
  let eb = 0;
  let anyPositiveEb = false;
  let ebViolated = false;
  for (let j = 0; j < types.length; j++) {
    const t = types[j];
    const v = outputs[j];
    if (t === 'EXTRA_O') continue;
    if (typeof v !== 'number' || Number.isNaN(v)) return FAILED;
    if (t === 'OBJ') f = v;
    else if (v > EPS) {
      if (t === 'EB') {
        ebViolated = true;
        anyPositiveEb = true;
        eb += v * v;
      } else {
        anyPositivePb = true;
        h += v * v;
      }
    }
  }
  if (Number.isNaN(f)) return FAILED;
  if (anyPositivePb && equalEps(h, 0)) h = EPS;
  if (anyPositiveEb && equalEps(eb, 0)) eb = EPS;
  return { ok: true, f, h: ebViolated ? Infinity : h, phaseOneF: eb };
}

/** Feasible ⇔ h < EPS + H_MIN (§1.4). */
export function isFeasible(h: number): boolean {
  return h < EPS;
}

/** Models reject points whose outputs are incomplete or exceed MODEL_MAX_OUTPUT (§1.5). */
export function usableForModel(types: readonly OutputType[], outputs: readonly number[] | null): boolean {
  if (outputs === null) return false;
  for (let j = 0; j < types.length; j++) {
    if (types[j] === 'EXTRA_O') continue;
    const v = outputs[j];
    if (!Number.isFinite(v) || Math.abs(v) > MODEL_MAX_OUTPUT) return false;
  }
  return true;
}
