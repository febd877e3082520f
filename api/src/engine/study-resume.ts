/**
 * Resuming paused trials (docs/algorithm.md, "Early stopping: pause and resume"), for the engine's
 * commands: the choice of early-stopping/pause-and-resume.ts (`chooseResume`) applied to the trial
 * store, under the study lock the caller holds.
 */
import type { EntityManager } from 'typeorm';
import { MAX_FITTED_CURVE_POINTS, storedCurve, type ResumeOptions, type StoppingPolicy } from '../early-stopping';
import * as trialStore from '../trials/store/trial-store';
import type { EngineHost } from './engine-host';
import type { LockedStudy } from './locked-study';

/** The policy's resume options; null when its stops are final. */
export function resumeOptionsOf(policy: StoppingPolicy): ResumeOptions | null {
  return policy.kind === 'curve' && policy.resume ? policy.resume : null;
}

/**
 * The policy's `revive` (docs/algorithm.md, "Early stopping: taking stopped trials up again"):
 * stopped trials are kept `paused` and taken up again at restarts of the engine on the minimum
 * mesh, and at its end while budget is left (`reviveAllowed`).
 */
export function reviveOf(policy: StoppingPolicy): boolean {
  return policy.kind === 'curve' && policy.revive === true;
}

/**
 * Resumes the study's most promising paused trial (paused → pending). Returns the resumed trial's
 * id, null when none is left. No paused trial is ruled out here on the curve it was paused with: a
 * paused trial ends only when it is resumed and the study's curve policy stops it as it runs, or
 * when the study ends (docs/algorithm.md, "Early stopping: pause and resume", "Which").
 *
 * The choice is `chooseResume`'s without a rule-out policy: the lowest `resumeScore`. A paused
 * curve does not change, so each pause stores its score (trials/trial-early-stopping.ts) and the
 * store hands over the paused trial with the lowest (one index read), plus any paused before scores
 * were stored, whose curves (thinned) are scored in the engine host thread here, off the API's
 * event loop: the same trial as fitting every paused curve at every resume, which held the study's
 * lock and the host thread about a second per 100 paused trials (docs/reliability.md, finding 48).
 */
export async function resumeMostPromising(
  tx: EntityManager,
  host: EngineHost,
  study: LockedStudy,
  now: Date,
): Promise<string | null> {
  const policy = study.definition.earlyStopping;
  if (policy.kind !== 'curve') return null;
  const objective = study.definition.outputs.find((output) => output.type === 'objective');
  const metric = objective?.name ?? '';
  const sign = objective?.goal === 'maximize' ? -1 : 1;
  const candidates = await trialStore.resumeCandidates(tx, study.id, metric, MAX_FITTED_CURVE_POINTS);
  let resume: string | null;
  if (candidates.length <= 1) {
    resume = candidates[0]?.id ?? null;
  } else {
    const paused = candidates.flatMap((row) => {
      if (row.points === null || row.points.length === 0) return [];
      const points = storedCurve(row.points, sign, true);
      return [{ id: row.id, points, totalSteps: Math.max(row.total_steps ?? 0, points[points.length - 1].step) }];
    });
    // No rule-out policy, so the choice needs neither the threshold nor calibration curves: asking
    // the policy again and again about the same paused curve, against a threshold and a calibration
    // set that move, would stop it for good on evidence no running trial is stopped on
    // (docs/algorithm.md, "Which"); the resumed trial runs under the study's policy instead.
    const context = { threshold: null, completed: [], stopped: [] };
    resume = (await host.chooseResume(paused, context, null, study.definition.projectId)).resume;
  }
  if (resume === null) return null;
  return (await trialStore.resumePaused(tx, resume, now)) ? resume : null;
}
