/**
 * What the noisy-neighbour measurements share (flood-measure.ts, in-flight-measure.ts): projects
 * made through the admin API, setup requests that wait out a 429 as a well-behaved client does,
 * and the victim — project B's runner leasing and reporting at a runner's pace — whose latencies
 * are the figure each measurement prints.
 */
import { call, type HttpResult, sleep } from './cluster';

/** One lease (and a report when leased) every VICTIM_PACE_MS: a runner's pace, under its own key budget. */
export const VICTIM_PACE_MS = 150;

/** A setup request: waits out 429s (Retry-After) as a well-behaved client does. */
export async function patient(
  url: string,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<HttpResult> {
  for (;;) {
    const result = await call(url, method, path, key, body);
    if (result.status !== 429) return result;
    await sleep(Number(result.headers.get('retry-after') ?? 1) * 1000);
  }
}

export async function expectOk(promise: Promise<HttpResult>): Promise<HttpResult['body']> {
  const result = await promise;
  if (result.status >= 300) throw new Error(`${result.status} ${JSON.stringify(result.body)}`);
  return result.body;
}

export interface MeasuredProject {
  id: string;
  /** `userKeys` user keys (default 1). */
  users: string[];
  runner: string;
}

/** A project with `userKeys` user keys and one runner key, made with patient setup requests. */
export async function createProject(url: string, admin: string, tag: string, userKeys = 1): Promise<MeasuredProject> {
  const id = (await expectOk(patient(url, 'POST', '/v1/projects', admin, { name: `${tag}-${Date.now()}` }))).id;
  const key = async (scope: string): Promise<string> =>
    (await expectOk(patient(url, 'POST', '/v1/api-keys', admin, { name: scope, scope, projectId: id }))).key;
  const users: string[] = [];
  for (let i = 0; i < userKeys; i++) users.push(await key('user'));
  return { id, users, runner: await key('runner') };
}

export interface VictimPhase {
  /** Rounds (lease + report) in the phase. */
  n: number;
  p50: number;
  p99: number;
  max: number;
  /** Requests of the victim answered 429. */
  refused: number;
}

/**
 * The victim runner: a lease (and a report of `outputs` when leased) every VICTIM_PACE_MS for `ms`;
 * the latency of each lease + report, in milliseconds.
 */
export async function pacedVictim(
  url: string,
  runner: { id: string; token: string },
  studyId: string,
  ms: number,
  outputs: (parameters: Record<string, number>) => Record<string, number> = () => ({ loss: 1 }),
): Promise<VictimPhase> {
  const latencies: number[] = [];
  let refused = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const start = performance.now();
    const leased = await call(url, 'POST', `/v1/runners/${runner.id}/lease`, runner.token, { studyId });
    if (leased.status === 429) refused++;
    if (leased.status === 200) {
      const done = await call(url, 'POST', `/v1/trials/${leased.body.trial.id}/complete`, runner.token, {
        outputs: outputs(leased.body.trial.parameters),
      });
      if (done.status === 429) refused++;
    }
    const elapsed = performance.now() - start;
    latencies.push(elapsed);
    await sleep(Math.max(0, VICTIM_PACE_MS - elapsed));
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!);
  return { n: latencies.length, p50: at(0.5), p99: at(0.99), max: at(1), refused };
}
