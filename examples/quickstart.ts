// Create a study, evaluate it with an in-process TypeScript worker, follow it, read the results.
import { createClient } from '@meshtune/sdk';
import { apiKey, baseUrl, runnerKey } from './env.js';

const meshtune = createClient({ baseUrl, apiKey });

const study = await meshtune.createStudy({
  name: 'quickstart: shifted sphere',
  parameters: [
    { name: 'x', type: 'real', lower: -5, upper: 5 },
    { name: 'y', type: 'integer', lower: -10, upper: 10 },
  ],
  outputs: [{ name: 'loss', type: 'objective' }],
  x0: [{ x: 4, y: 5 }],
  budget: { maxEvaluations: 40 },
  algorithm: { name: 'mads', seed: 1 },
});
console.log(`study ${study.id} created`);

// The objective: known minimum 0 at x = 1.5, y = -2.
const objective = (x: number, y: number): number => (x - 1.5) ** 2 + (y + 2) ** 2;

const [summary, finished] = await Promise.all([
  meshtune
    .withApiKey(runnerKey)
    .runWorker(study.id, (parameters) => objective(Number(parameters.x), Number(parameters.y)), { concurrency: 2 }),
  meshtune.waitForStudy(study.id, {
    intervalMs: 500,
    onProgress: (current) =>
      console.log(`${current.status}: ${current.evaluationCount}/${current.budget.maxEvaluations} evaluations`),
  }),
]);
console.log(
  `worker: ${summary.completed} completed, ${summary.failed} failed; study ${finished.status} (${finished.stopReason})`,
);

const best = await meshtune.bestTrial(study.id);
console.log(`best: trial #${best?.number} ${JSON.stringify(best?.parameters)} → ${JSON.stringify(best?.outputs)}`);

const csv = await meshtune.exportHistory(study.id, 'csv');
console.log(`history: ${csv.trim().split('\n').length - 1} rows of CSV`);
