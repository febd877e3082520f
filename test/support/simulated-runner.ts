import type { TestServer } from './test-server';
import { lease, report, type TestRunner } from './api-client';

export type Objective = (parameters: Record<string, number | string>) => Record<string, number> | 'fail';

export interface RunLog {
  /** Trials this runner evaluated, in order: id and the point. */
  evaluated: { id: string; point: number[]; parameters: Record<string, number | string> }[];
  /** Leases answered 204 while the study was still active, with the study's evaluations at that moment. */
  idleLeases: number;
}

/**
 * A runner as an HTTP client: lease, evaluate `objective`, report, until the study is no
 * longer active. `shared.completed` counts evaluations across runners of one test.
 */
export async function runUntilDone(
  test: TestServer,
  runner: TestRunner,
  studyId: string,
  objective: Objective,
  onIdle?: () => void,
): Promise<RunLog> {
  const log: RunLog = { evaluated: [], idleLeases: 0 };
  for (let round = 0; round < 10_000; round += 1) {
    const response = await lease(test, runner, studyId);
    if (response.status === 204) {
      const status = response.headers['meshtune-study-status'];
      if (status !== 'active') return log;
      log.idleLeases += 1;
      onIdle?.();
      await new Promise((resolve) => setTimeout(resolve, 5));
      continue;
    }
    if (response.status !== 200) throw new Error(`lease failed: ${response.status} ${JSON.stringify(response.body)}`);
    const trial = response.body.trial as { id: string; point: number[]; parameters: Record<string, number | string> };
    log.evaluated.push({ id: trial.id, point: trial.point, parameters: trial.parameters });
    const outcome = objective(trial.parameters);
    const answer =
      outcome === 'fail'
        ? await report(test, runner, trial.id, 'fail', { error: 'diverged' })
        : await report(test, runner, trial.id, 'complete', { outputs: outcome });
    if (answer.status !== 200) throw new Error(`report failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  throw new Error('runner did not finish');
}
