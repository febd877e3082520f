/**
 * The 10,000-trial soak (`npm run soak`, not in CI): two API processes, 64 runners, one
 * PostgreSQL, random search to a budget of 10,000 evaluations, then every guarantee of
 * concurrency.e2e.spec.ts checked on the database. Prints one JSON line; exits 1 on a problem.
 * Environment: SOAK_TRIALS, SOAK_RUNNERS, SOAK_APIS, SOAK_ALGORITHM to vary the run, SOAK_TIMEOUT_MS
 * to give up (default one hour). Every minute a progress line goes to stderr.
 */
import type { AlgorithmName } from '../../api/src/optimizer-contract/algorithm';
import { runConcurrencyScenario } from './concurrency-scenario';

async function main(): Promise<void> {
  const trials = Number(process.env.SOAK_TRIALS ?? 10_000);
  const runners = Number(process.env.SOAK_RUNNERS ?? 64);
  const apiProcesses = Number(process.env.SOAK_APIS ?? 2);
  const algorithm = (process.env.SOAK_ALGORITHM ?? 'random') as AlgorithmName;
  const result = await runConcurrencyScenario({
    apiProcesses,
    runners,
    maxEvaluations: trials,
    algorithm,
    dimensions: algorithm === 'mads' ? 6 : 2,
    workMs: 20,
    timeoutMs: Number(process.env.SOAK_TIMEOUT_MS ?? 3_600_000),
    onProgress: (accepted, seconds) => process.stderr.write(`${JSON.stringify({ progress: { seconds, accepted } })}\n`),
  });
  const ok =
    result.check.problems.length === 0 &&
    result.check.status === 'completed' &&
    result.check.evaluationCount === trials &&
    result.check.completed + result.check.failed === trials;
  process.stdout.write(
    `${JSON.stringify({
      ok,
      date: new Date().toISOString(),
      apiProcesses,
      runners,
      algorithm,
      budget: trials,
      evaluationCount: result.check.evaluationCount,
      completed: result.check.completed,
      failed: result.check.failed,
      status: result.check.status,
      stopReason: result.check.stopReason,
      leasesGranted: result.leasesGranted,
      doubleLeases: result.record.doubleLeases.length,
      leaseLost: result.record.leaseLost,
      serverErrors: result.record.serverErrors.length,
      seconds: Math.round(result.seconds),
      trialsPerSecond: Number(result.trialsPerSecond.toFixed(1)),
      problems: result.check.problems.slice(0, 20),
    })}\n`,
  );
  process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
