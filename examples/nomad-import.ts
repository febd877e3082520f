// Create a study from a NOMAD 4 parameter file, with a constraint, and evaluate it in TypeScript.
import { createClient } from '@meshtune/sdk';
import { apiKey, baseUrl, runnerKey } from './env.js';

const parameterFile = `
DIMENSION 2
BB_EXE "$python3 bb.py"
BB_OUTPUT_TYPE OBJ PB
X0 ( 0.5 0.5 )
LOWER_BOUND ( -2 -2 )
UPPER_BOUND ( 2 2 )
MAX_BB_EVAL 30
DISPLAY_DEGREE 2
`;

const meshtune = createClient({ baseUrl, apiKey });
const { study, ignoredKeywords } = await meshtune.importNomadStudy({
  name: 'nomad import: constrained quadratic',
  parameterFile,
  parameterNames: ['u', 'v'],
  outputNames: ['loss', 'budget_excess'],
});
console.log(
  `study ${study.id}: ${study.parameters.map((parameter) => parameter.name).join(', ')}; ignored ${ignoredKeywords.join(', ')}`,
);

// Minimise (u - 1)² + (v - 1)² subject to u + v ≤ 1 (NOMAD's PB: feasible when ≤ 0).
const summary = await meshtune.withApiKey(runnerKey).runWorker(study.id, (parameters) => {
  const u = Number(parameters.u);
  const v = Number(parameters.v);
  return { loss: (u - 1) ** 2 + (v - 1) ** 2, budget_excess: u + v - 1 };
});
console.log(`worker finished: ${summary.completed} completed (${summary.reason})`);

const best = await meshtune.bestTrial(study.id);
console.log(`best feasible point: ${JSON.stringify(best?.parameters)} → ${JSON.stringify(best?.outputs)}`);
