import { applyOperation, decodeOperation } from '../../api/src/engine/engine-operation';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreAlgorithm } from '../../api/src/algorithms/algorithm-registry';
import type { AlgorithmName } from '../../api/src/optimizer-contract/algorithm';
import { startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';
import {
  type ApiProcess,
  checkStudy,
  createApiKey,
  expectCall,
  newAdminKey,
  newRunRecord,
  registerRunners,
  runnerLoop,
  type RunRecord,
  spawnApi,
  type StudyCheck,
} from './cluster';

export interface ConcurrencyScenario {
  apiProcesses: number;
  runners: number;
  maxEvaluations: number;
  algorithm: AlgorithmName;
  /** Number of real parameters of the study (MADS gets harder to converge with more). */
  dimensions: number;
  /** Simulated training time per trial, ms (uniform in [0, workMs]). */
  workMs: number;
  timeoutMs: number;
  /** Called every minute with the reports accepted so far (the soak prints its throughput curve). */
  onProgress?: (accepted: number, seconds: number) => void;
}

export interface ConcurrencyResult {
  check: StudyCheck;
  record: RunRecord;
  seconds: number;
  leasesGranted: number;
  trialsPerSecond: number;
}

/** The engine as of the study's engine_version: its snapshot plus the operations since. */
export function engineEvaluationCount(algorithm: string, engineState: unknown, operations: unknown[]): number {
  const engine = restoreAlgorithm(algorithm as AlgorithmName, engineState);
  for (const operation of operations) applyOperation(engine, decodeOperation(operation));
  return engine.evaluationCount;
}

/**
 * N API processes on one PostgreSQL (embedded, owned here), R runners alternating between them,
 * one study run to its budget; then the database is checked against what the runners saw.
 */
export async function runConcurrencyScenario(scenario: ConcurrencyScenario): Promise<ConcurrencyResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-concurrency-'));
  const database = await startEmbeddedPostgres(dataDir, null);
  const apis: ApiProcess[] = [];
  try {
    const adminKey = newAdminKey();
    // Started one after the other: the first runs the migrations.
    for (let index = 0; index < scenario.apiProcesses; index += 1) {
      apis.push(await spawnApi({ adminKey, databaseUrl: database.appUrl, migrationDatabaseUrl: database.ownerUrl }));
    }
    const url = apis[0].url;
    const userKey = await createApiKey(url, adminKey, 'user');
    const runnerKey = await createApiKey(url, adminKey, 'runner');
    const parameters = Array.from({ length: scenario.dimensions }, (_, index) => ({
      name: `x${index}`,
      type: 'real',
      lower: -5,
      upper: 5,
    }));
    const study = await expectCall(
      url,
      'POST',
      '/v1/studies',
      userKey,
      {
        name: `concurrency ${scenario.algorithm}`,
        parameters,
        outputs: [{ name: 'loss', type: 'objective' }],
        x0: [Object.fromEntries(parameters.map((parameter) => [parameter.name, 1]))],
        budget: { maxEvaluations: scenario.maxEvaluations, maxAttempts: 3, leaseSeconds: 600 },
        algorithm: { name: scenario.algorithm, seed: 7 },
      },
      201,
    );
    const runners = await registerRunners(url, runnerKey, scenario.runners);
    const record = newRunRecord();
    const started = Date.now();
    const deadline = started + scenario.timeoutMs;
    const urls = apis.map((api) => api.url);
    const progress = setInterval(
      () => scenario.onProgress?.(record.accepted.size, Math.round((Date.now() - started) / 1000)),
      60_000,
    );
    progress.unref();
    await Promise.all(
      runners.map((runner, index) =>
        runnerLoop(runner, {
          urls: () => urls,
          studyId: study.id as string,
          record,
          offset: index,
          workMs: () => Math.random() * scenario.workMs,
          deadline,
        }),
      ),
    );
    clearInterval(progress);
    const seconds = (Date.now() - started) / 1000;
    const check = await checkStudy(database.ownerUrl, study.id as string, record, engineEvaluationCount);
    for (const api of apis) {
      const output = api.output();
      if (/"level":"error"/.test(output)) check.problems.push(`API logged errors: ${output.slice(-2000)}`);
    }
    return {
      check,
      record,
      seconds,
      leasesGranted: record.leases.size,
      trialsPerSecond: check.evaluationCount / seconds,
    };
  } finally {
    await Promise.all(apis.map((api) => api.stop()));
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
