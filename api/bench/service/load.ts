import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BenchRunner {
  id: string;
  token: string;
}

export type Objective = (parameters: Record<string, number | string>) => Record<string, number>;

export interface LoadResult {
  cycles: number;
  seconds: number;
  leaseMs: number[];
  heartbeatMs: number[];
  completeMs: number[];
  /** Leases started in the window and still unanswered at its end: counted at their age then. */
  censoredLeases: number;
  /** Leases answered 204 inside the window. */
  idleLeases: number;
  errors: number;
  firstError: string | null;
  /** The study was no longer active at some point (budget spent, mesh converged). */
  studyEnded: string | null;
}

export type HttpClient = 'http' | 'fetch';

interface Reply {
  status: number;
  body: unknown;
  studyStatus: string | null;
}

// Keep-alive, no socket limit: each simulated runner keeps its own connection, like a real runner.
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

/**
 * node:http by default: on the 2-core bench machine a keep-alive round trip to a bare Node server
 * took 0.4 ms with node:http and 1.4–3 ms with fetch (undici), which would be counted as lease
 * latency. `--client fetch` uses fetch instead.
 */
async function post(client: HttpClient, baseUrl: string, path: string, token: string, body: unknown): Promise<Reply> {
  const payload = JSON.stringify(body);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const parse = (text: string): unknown => (text.length > 0 ? (JSON.parse(text) as unknown) : null);
  if (client === 'fetch') {
    const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body: payload });
    const text = await response.text();
    return { status: response.status, body: parse(text), studyStatus: response.headers.get('meshtune-study-status') };
  }
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      `${baseUrl}${path}`,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.headers['meshtune-study-status'];
          resolve({
            status: res.statusCode ?? 0,
            body: parse(Buffer.concat(chunks).toString('utf8')),
            studyStatus: typeof status === 'string' ? status : null,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * `runners.length` simulated runners, each looping lease → heartbeat → complete on one study
 * (no work between the calls: this measures the service). Cycles are counted when the complete
 * returns inside [start + warmupMs, start + warmupMs + durationMs]; lease latencies are those of
 * leases answered inside it, plus those still unanswered at its end counted at their age then.
 */
export async function runLoad(
  client: HttpClient,
  baseUrl: string,
  runners: readonly BenchRunner[],
  studyId: string,
  objective: Objective,
  warmupMs: number,
  durationMs: number,
): Promise<LoadResult> {
  const start = performance.now();
  const from = start + warmupMs;
  const to = from + durationMs;
  const result: LoadResult = {
    cycles: 0,
    seconds: durationMs / 1000,
    leaseMs: [],
    censoredLeases: 0,
    heartbeatMs: [],
    completeMs: [],
    idleLeases: 0,
    errors: 0,
    firstError: null,
    studyEnded: null,
  };
  const fail = (what: string, status: number, body: unknown): void => {
    result.errors += 1;
    result.firstError ??= `${what}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`;
  };
  // Start of each runner's lease in flight (0: none), so that a lease the window ends on still counts.
  const inFlight = new Map<BenchRunner, number>();
  const censor = setTimeout(() => {
    for (const t0 of inFlight.values()) {
      result.leaseMs.push(to - t0);
      result.censoredLeases += 1;
    }
  }, to - start);
  const loop = async (runner: BenchRunner): Promise<void> => {
    try {
      await cycles(runner);
    } catch (error) {
      // After the window the driver stops the API under the requests still in flight.
      if (performance.now() < to) {
        result.errors += 1;
        result.firstError ??= `network: ${String(error)}`;
      }
    }
  };
  const cycles = async (runner: BenchRunner): Promise<void> => {
    while (performance.now() < to && result.studyEnded === null) {
      const t0 = performance.now();
      inFlight.set(runner, t0);
      const leased = await post(client, baseUrl, `/v1/runners/${runner.id}/lease`, runner.token, { studyId });
      const t1 = performance.now();
      if (t1 > to) return; // counted by the censor
      inFlight.delete(runner);
      const inWindow = t1 >= from;
      if (inWindow) result.leaseMs.push(t1 - t0);
      if (leased.status === 204) {
        const status = leased.studyStatus;
        if (status !== 'active') {
          result.studyEnded = `study ${status ?? 'gone'} at ${((t1 - start) / 1000).toFixed(1)} s`;
          return;
        }
        if (inWindow) result.idleLeases += 1;
        await sleep(5);
        continue;
      }
      if (leased.status !== 200) {
        fail('lease', leased.status, leased.body);
        await sleep(50);
        continue;
      }
      if (performance.now() >= to) return;
      const trial = (leased.body as { trial: { id: string; parameters: Record<string, number | string> } }).trial;
      const tb = performance.now();
      const beat = await post(client, baseUrl, `/v1/trials/${trial.id}/heartbeat`, runner.token, { progress: 0.5 });
      const tc = performance.now();
      if (inWindow) result.heartbeatMs.push(tc - tb);
      if (beat.status !== 200) fail('heartbeat', beat.status, beat.body);
      const done = await post(client, baseUrl, `/v1/trials/${trial.id}/complete`, runner.token, {
        outputs: objective(trial.parameters),
      });
      const t2 = performance.now();
      if (inWindow) result.completeMs.push(t2 - tc);
      if (done.status !== 200) fail('complete', done.status, done.body);
      else if (t2 >= from && t2 <= to) result.cycles += 1;
      if (t2 > to) return;
    }
  };
  await Promise.all(runners.map((runner) => loop(runner)));
  clearTimeout(censor);
  if (result.studyEnded !== null) {
    // Only the time the study was active counts.
    result.seconds = Math.max(0.001, (Math.min(performance.now(), to) - from) / 1000);
  }
  return result;
}
