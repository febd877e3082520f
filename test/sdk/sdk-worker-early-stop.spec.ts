import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient, EarlyStoppedError, type MetricPoint } from '@meshtune/sdk';

/**
 * The worker's side of early stopping and GPU-seconds (issue 17) against a scripted runner
 * protocol, so that each reply is exactly the one under test (the real API's side of the same
 * figures: test/api/gpu-budget.e2e.spec.ts and test/api/early-stopping.e2e.spec.ts).
 */
interface Call {
  path: string;
  body: Record<string, unknown>;
}

function scriptedApi(
  stopAtStep: number | null,
  stopReason = 'early_stopped',
): { fetch: (request: Request) => Promise<Response>; calls: Call[] } {
  const calls: Call[] = [];
  let leased = false;
  let stopped = false;
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  const fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const text = await request.text();
    const body = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    calls.push({ path, body });
    if (path === '/v1/runners') return json(201, { id: 'runner-1', name: body.name, token: 'runner-token' });
    if (path === '/v1/runners/runner-1/lease') {
      if (leased) return new Response(null, { status: 204, headers: { 'meshtune-study-status': 'completed' } });
      leased = true;
      return json(200, {
        trial: { id: 't1', studyId: 's1', number: 1, status: 'running', parameters: { x: 1 }, attempt: 1 },
        trainingConfig: {},
        outputs: [{ name: 'loss', type: 'objective', goal: 'minimize' }],
        leaseExpiresAt: '2030-01-01T00:00:00.000Z',
        leaseSeconds: 30,
      });
    }
    // The trial has ended on the server: anything more about it is refused.
    if (stopped) return json(409, { statusCode: 409, code: 'TRIAL_ALREADY_FINISHED', message: 'stopped' });
    if (path === '/v1/trials/t1/heartbeat') {
      const metrics = (body.metrics ?? []) as MetricPoint[];
      const stop = stopAtStep !== null && metrics.some((point) => point.step >= stopAtStep);
      // An early stop ends the trial on the server; a paused study wants it released.
      stopped = stop && stopReason === 'early_stopped';
      return json(200, {
        shouldStop: stop,
        reason: stop ? stopReason : null,
        leaseExpiresAt: '2030-01-01T00:00:00.000Z',
        metricsDropped: 0,
      });
    }
    if (path === '/v1/trials/t1/complete') return json(200, { id: 't1', status: 'completed' });
    if (path === '/v1/trials/t1/release') return json(200, { id: 't1', status: 'pending' });
    return json(404, { statusCode: 404, code: 'NOT_FOUND', message: path });
  };
  return { fetch, calls };
}

describe('SDK worker: early stop and GPU-seconds', () => {
  it('aborts an evaluation the API stopped early and reports nothing for it', async () => {
    const api = scriptedApi(3);
    const client = createClient({ baseUrl: 'http://api.test', apiKey: 'runner-key', fetch: api.fetch });
    let lastStep = 0;
    let abortReason: unknown;
    const summary = await client.runWorker(
      's1',
      async (_parameters, context) => {
        for (let step = 1; step <= 100; step++) {
          await context.report(step / 100, [{ name: 'loss', step, value: 1 / step }], step * 2.5);
          if (context.signal.aborted) {
            abortReason = context.signal.reason;
            throw abortReason;
          }
          lastStep = step;
        }
        return 0.01;
      },
      { heartbeatIntervalMs: 60_000 },
    );
    assert.equal(summary.stopped, 1);
    assert.deepEqual([summary.completed, summary.failed, summary.released], [0, 0, 0]);
    assert.ok(abortReason instanceof EarlyStoppedError);
    assert.equal(lastStep, 2, 'the evaluation ends at the report that got the stop');
    const trialCalls = api.calls.filter((call) => call.path.startsWith('/v1/trials/'));
    // Three heartbeats (the third answered early_stopped), then nothing: no complete, fail or release.
    assert.deepEqual(
      trialCalls.map((call) => call.path),
      ['/v1/trials/t1/heartbeat', '/v1/trials/t1/heartbeat', '/v1/trials/t1/heartbeat'],
    );
    assert.deepEqual(
      trialCalls.map((call) => call.body.gpuSeconds),
      [2.5, 5, 7.5],
    );
  });

  it('releases a trial of a paused study with the GPU-seconds the evaluation reported last', async () => {
    const api = scriptedApi(2, 'study_paused');
    const client = createClient({ baseUrl: 'http://api.test', apiKey: 'runner-key', fetch: api.fetch });
    const summary = await client.runWorker(
      's1',
      async (_parameters, context) => {
        for (let step = 1; step <= 100; step++) {
          await context.report(step / 100, [{ name: 'loss', step, value: 1 / step }], step * 2.5);
          if (context.signal.aborted) throw context.signal.reason;
        }
        return 0.01;
      },
      { heartbeatIntervalMs: 60_000 },
    );
    assert.deepEqual([summary.released, summary.completed, summary.failed], [1, 0, 0]);
    const release = api.calls.find((call) => call.path === '/v1/trials/t1/release');
    assert.deepEqual(release?.body, { gpuSeconds: 5 });
  });

  it('passes the GPU-seconds the evaluation reported on to the complete report', async () => {
    const api = scriptedApi(null);
    const client = createClient({ baseUrl: 'http://api.test', apiKey: 'runner-key', fetch: api.fetch });
    const summary = await client.runWorker('s1', async (_parameters, context) => {
      await context.report(0.5, [{ name: 'loss', step: 1, value: 0.5 }], 12.5);
      await context.report(1, [], 20);
      return 0.25;
    });
    assert.deepEqual([summary.completed, summary.stopped], [1, 0]);
    const complete = api.calls.find((call) => call.path === '/v1/trials/t1/complete');
    assert.deepEqual(complete?.body, { outputs: { loss: 0.25 }, gpuSeconds: 20 });
  });
});
