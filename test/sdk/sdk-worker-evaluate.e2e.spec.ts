import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  createClient,
  EvaluationTimeoutError,
  type CreateStudyRequest,
  type Evaluation,
  type MeshtuneClient,
  type TrialOutcome,
} from '@meshtune/sdk';
import { createKey } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * The user's `evaluate` against the real API (docs/reliability.md, finding 46): whatever it
 * returns, throws or fails to do, the worker reports one clear result for the trial, one the API
 * takes, and goes on.
 */
function study(name: string, maxEvaluations: number): CreateStudyRequest {
  return {
    name,
    parameters: [{ name: 'x', type: 'real', lower: -5, upper: 5 }],
    outputs: [
      { name: 'loss', type: 'objective' },
      { name: 'tokens', type: 'extra' },
    ],
    budget: { maxEvaluations, leaseSeconds: 30 },
    algorithm: { name: 'random', seed: 7 },
  };
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('SDK worker: what evaluate returns or throws, against the real API', () => {
  let test: TestServer;
  let user: MeshtuneClient;
  let runnerKey: string;

  before(async () => {
    test = await startTestServer({ leaseRetryAfterSeconds: 1 });
    user = createClient({ baseUrl: test.url, apiKey: await createKey(test, 'user') });
    runnerKey = await createKey(test, 'runner');
  });
  after(async () => test.close());

  it('reports each result it cannot send, each throw and each hang as one failed trial, and goes on', async () => {
    const cyclic: Record<string, unknown> = { loss: 1 };
    cyclic.tokens = cyclic;
    const huge = Object.fromEntries(Array.from({ length: 100_000 }, (_, index) => [`o${index}`, index]));
    const nullProto = Object.create(null) as object;
    // [what evaluate does, the trial's status, what its stored error or outputs must show]
    const cases: Array<[string, () => Evaluation | Promise<Evaluation>, 'failed' | 'completed', RegExp | object]> = [
      ['NaN', () => NaN, 'failed', /loss = NaN: outputs must be finite numbers/],
      ['Infinity', () => Infinity, 'failed', /loss = Infinity/],
      ['an output -Infinity', () => ({ loss: -Infinity }), 'failed', /loss = -Infinity/],
      ['undefined', () => undefined as never, 'failed', /returned undefined/],
      ['null', () => null as never, 'failed', /returned null/],
      ['a string', () => '0.5' as never, 'failed', /returned "0.5"/],
      ['an output the study lacks', () => ({ loss: 1, bogus: 2 }), 'failed', /"bogus" the study does not have/],
      ['no objective', () => ({ tokens: 3 }), 'failed', /no value for loss/],
      ['a cyclic object', () => cyclic as never, 'failed', /tokens = object/],
      ['100,000 outputs', () => huge, 'failed', /"o0" the study does not have/],
      ['a BigInt', () => ({ loss: 1n }) as never, 'failed', /loss = bigint/],
      ['1e308 and -0', () => ({ loss: 1e308, tokens: -0 }), 'completed', { loss: 1e308, tokens: 0 }],
      ['-0', () => -0, 'completed', { loss: 0 }],
      [
        'throws an object without toString',
        () => {
          throw nullProto;
        },
        'failed',
        /cannot be shown as text/,
      ],
      [
        'throws NUL and a lone surrogate',
        () => {
          throw new Error('bad\u0000byte \ud800 lone');
        },
        'failed',
        /bad\ufffdbyte \ufffd lone/,
      ],
      [
        'throws 10,000 characters ending in a split pair',
        () => {
          throw new Error('e'.repeat(9_986) + '😀'.repeat(50));
        },
        'failed',
        /^Error: e+/,
      ],
      [
        'throws a Symbol',
        () => {
          throw Symbol('s');
        },
        'failed',
        /Symbol\(s\)/,
      ],
      ['never settles', () => new Promise<never>(() => undefined), 'failed', /did not finish within 500 ms/],
    ];
    const created = await user.createStudy(study('sdk hostile evaluate', cases.length));
    const outcomes: TrialOutcome[] = [];
    let timeoutReason: unknown;
    let index = 0;
    const summary = await user.withApiKey(runnerKey).runWorker(
      created.id,
      (_parameters, context) => {
        const current = cases[index++]!;
        if (current[0] === 'never settles') {
          context.signal.addEventListener('abort', () => (timeoutReason = context.signal.reason));
        }
        return current[1]();
      },
      { evaluateTimeoutMs: 500, onTrial: (outcome) => outcomes.push(outcome) },
    );
    assert.equal(summary.reason, 'study_finished');
    assert.equal(outcomes.length, cases.length);
    assert.ok(timeoutReason instanceof EvaluationTimeoutError, String(timeoutReason));
    for (const [offset, [name, , status, shown]] of cases.entries()) {
      const trial = await user.getTrial(outcomes[offset]!.trial.id);
      assert.equal(trial.status, status, `${name}: ${trial.error ?? JSON.stringify(trial.outputs)}`);
      if (shown instanceof RegExp) {
        assert.match(trial.error ?? '', shown, name);
        assert.ok((trial.error ?? '').length <= 10_000 && !LONE_SURROGATE.test(trial.error ?? ''), name);
      } else {
        assert.deepEqual(trial.outputs, shown, name);
      }
    }
    const finished = await user.getStudy(created.id);
    assert.equal(finished.evaluationCount, cases.length, 'each trial counted once');
    assert.deepEqual([summary.completed, summary.failed], [2, cases.length - 2]);
  });

  it('sends a report again when its answer is lost, and it is counted once', async () => {
    // Between the worker and the API: the first answer to a complete is cut (the API has stored it).
    let cut = 0;
    const proxy: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        void (async () => {
          const headers = new Headers();
          for (const name of ['authorization', 'content-type']) {
            const value = request.headers[name];
            if (typeof value === 'string') headers.set(name, value);
          }
          const body = chunks.length === 0 ? undefined : Buffer.concat(chunks);
          const answer = await fetch(`${test.url}${request.url}`, { method: request.method, headers, body });
          const text = await answer.text();
          if (request.url?.endsWith('/complete') && cut === 0) {
            cut += 1;
            return void response.destroy();
          }
          response.writeHead(answer.status, Object.fromEntries(answer.headers));
          response.end(text);
        })();
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as AddressInfo;
      const created = await user.createStudy(study('sdk lost answer', 1));
      const worker = createClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: runnerKey });
      const summary = await worker.runWorker(created.id, () => ({ loss: 0.25, tokens: 12 }));
      assert.equal(cut, 1, 'the first answer was cut');
      assert.deepEqual([summary.completed, summary.failed, summary.released], [1, 0, 0]);
      const finished = await user.getStudy(created.id);
      assert.equal(finished.evaluationCount, 1);
      const history = await user.exportHistory(created.id);
      assert.deepEqual(
        history.map((trial) => [trial.status, trial.outputs]),
        [['completed', { loss: 0.25, tokens: 12 }]],
      );
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
