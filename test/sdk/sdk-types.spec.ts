import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createClient,
  hasErrorCode,
  type ConflictError,
  type MeshtuneClient,
  type NotFoundError,
  type Trial,
} from '@meshtune/sdk';

/**
 * Type tests: this file compiles only if every `@ts-expect-error` line is indeed an error (an
 * unused directive fails the build). The function is never called.
 */
async function wrongCallsDoNotCompile(client: MeshtuneClient, error: unknown): Promise<void> {
  // @ts-expect-error baseUrl and apiKey are required
  createClient({ baseUrl: 'http://localhost' });
  // @ts-expect-error study ids are strings
  await client.getStudy(42);
  // @ts-expect-error a study needs parameters, outputs and a budget
  await client.createStudy({ name: 'incomplete' });
  await client.createStudy({
    name: 'bad type',
    // @ts-expect-error `float` is not a parameter type
    parameters: [{ name: 'x', type: 'float' }],
    outputs: [{ name: 'loss', type: 'objective' }],
    budget: { maxEvaluations: 10 },
  });
  // @ts-expect-error unknown path
  await client.api.GET('/v1/nope');
  // @ts-expect-error the path parameter is required
  await client.api.GET('/v1/studies/{studyId}');
  // @ts-expect-error complete takes numbers
  await client.completeTrial('id', { loss: 'low' });
  // @ts-expect-error history formats are json, csv and nomad
  await client.exportHistory('id', 'xml');
  // @ts-expect-error CSV history is text, not trials
  const trials: Trial[] = await client.exportHistory('id', 'csv');
  void trials;
  // @ts-expect-error evaluate returns a number or outputs by name
  await client.runWorker('id', () => 'good');
  // @ts-expect-error concurrency is a number
  await client.runWorker('id', () => 1, { concurrency: '2' });
  // @ts-expect-error not an error code
  hasErrorCode(error, 'LEASE_GONE');
  if (hasErrorCode(error, 'LEASE_LOST')) {
    const conflict: ConflictError = error;
    // @ts-expect-error a LEASE_LOST error is a 409, not a 404
    const notFound: NotFoundError = error;
    void [conflict, notFound];
  }

  // And right calls do compile.
  const history: Trial[] = await client.exportHistory('id');
  const csv: string = await client.exportHistory('id', 'nomad');
  await client.runWorker('id', async (parameters) => ({ loss: Number(parameters.x) }), { concurrency: 4 });
  void [history, csv];
}

describe('SDK types', () => {
  it('reject wrong calls at compile time (see @ts-expect-error lines)', () => {
    assert.equal(typeof wrongCallsDoNotCompile, 'function');
  });
});
