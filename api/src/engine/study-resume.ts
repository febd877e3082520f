/**
 * Resuming paused trials (docs/algorithm.md, "Early stopping: pause and resume"), for the engine's
 * commands: what the study's curves say (early-stopping/pause-and-resume.ts, `chooseResume`) applied
 * to the trial store, under the study lock the caller holds.
 */
import type { EntityManager } from 'typeorm';
import {
  MAX_CALIBRATION_WINDOW,
  stoppedRun,
  storedCurve,
  type CompletedCurve,
  type ResumeOptions,
  type StoppingPolicy,
} from '../early-stopping';
import * as trialStore from '../trials/store/trial-store';
import type { EngineHost } from './engine-host';
import type { LockedStudy } from './locked-study';

/** The policy's resume options; null when its stops are final. */
export function resumeOptionsOf(policy: StoppingPolicy): ResumeOptions | null {
  return policy.kind === 'curve' && policy.resume ? policy.resume : null;
}

/**
 * Resumes the study's most promising paused trial (paused → pending), after ruling out for good
 * (paused → stopped) those the study's curve policy, asked again with everything the study now
 * knows, would stop. Returns the resumed trial's id, null when none is left. The study's curves are
 * read here, not kept: a resume happens after several trials, not at every heartbeat. The choice
 * itself runs in the engine host thread (`host.chooseResume`): with hundreds of paused trials it
 * takes about a second, which the API's event loop must not spend.
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
  const pausedRows = await trialStore.pausedCurves(tx, study.id, metric);
  if (pausedRows.length === 0) return null;
  const window = Math.min(policy.calibrationWindow, MAX_CALIBRATION_WINDOW);
  const completed: CompletedCurve[] = [];
  const stopped: CompletedCurve[] = [];
  // Oldest first, as the heartbeat's decision sees them (trial-early-stopping.ts).
  for (const row of (await trialStore.calibrationCurves(tx, study.id, metric, 0, window, true)).reverse()) {
    if (row.points === null || row.points.length === 0) continue;
    const points = storedCurve(row.points, sign, true);
    if (row.stopped) {
      const run = stoppedRun(points);
      if (run !== null) stopped.push(run);
    } else if (row.objective !== null) {
      const totalSteps = Math.max(row.total_steps ?? 0, points[points.length - 1].step);
      completed.push({ points, totalSteps, finalValue: row.objective });
    }
  }
  // The incumbent's f, as the engine's threshold (none under PB constraints: any f may be of use).
  const best = await trialStore.best(tx, study.id);
  const hasPb = study.definition.outputs.some((output) => output.type === 'constraint_pb');
  const threshold = !hasPb && best !== null && best.feasible === true ? best.objective : null;
  const paused = pausedRows.flatMap((row) => {
    if (row.points === null || row.points.length === 0) return [];
    const points = storedCurve(row.points, sign, true);
    return [{ id: row.id, points, totalSteps: Math.max(row.total_steps ?? 0, points[points.length - 1].step) }];
  });
  const choice = await host.chooseResume(paused, { threshold, completed, stopped }, policy);
  await trialStore.ruleOutPaused(tx, choice.ruledOut, now);
  if (choice.resume === null) return null;
  return (await trialStore.resumePaused(tx, choice.resume, now)) ? choice.resume : null;
}
