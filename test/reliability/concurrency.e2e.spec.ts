import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runConcurrencyScenario } from './concurrency-scenario';

/**
 * docs/architecture.md, Runner protocol and Concurrency: two API processes on one PostgreSQL, 64
 * runners alternating between them. No trial attempt is leased twice, every accepted report is
 * stored once with its own outputs, evaluation_count = completed + failed = the engine's own
 * count = the budget. The 10,000-trial version is `npm run soak` (test/reliability/soak.ts).
 */
describe('two API processes, 64 runners, one database', { timeout: 240_000 }, () => {
  it('random search, 800 trials: nothing leased twice, nothing lost, budget exact', async () => {
    const result = await runConcurrencyScenario({
      apiProcesses: 2,
      runners: 64,
      maxEvaluations: 800,
      algorithm: 'random',
      dimensions: 2,
      workMs: 20,
      timeoutMs: 150_000,
    });
    assert.deepEqual(result.check.problems, []);
    assert.equal(result.check.status, 'completed');
    assert.equal(result.check.stopReason, 'max_evaluations');
    assert.equal(result.check.evaluationCount, 800);
    assert.equal(result.check.completed + result.check.failed, 800);
    assert.equal(result.record.accepted.size, result.check.completed);
  });

  it('MADS, 150 trials in 6 dimensions: engine state consistent, budget exact', async () => {
    const result = await runConcurrencyScenario({
      apiProcesses: 2,
      runners: 64,
      maxEvaluations: 150,
      algorithm: 'mads',
      dimensions: 6,
      workMs: 20,
      timeoutMs: 150_000,
    });
    assert.deepEqual(result.check.problems, []);
    assert.equal(result.check.status, 'completed');
    assert.equal(result.check.stopReason, 'max_evaluations');
    assert.equal(result.check.evaluationCount, 150);
    assert.equal(result.record.accepted.size, result.check.completed);
  });
});
