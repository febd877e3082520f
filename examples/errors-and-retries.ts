// Errors are typed by HTTP status and by the API's code; idempotent calls retry on 429/503.
import { ConflictError, createClient, hasErrorCode, NotFoundError } from '@meshtune/sdk';
import { apiKey, baseUrl } from './env.js';

const meshtune = createClient({
  baseUrl,
  apiKey,
  retry: { maxRetries: 5, initialDelayMs: 200, maxDelayMs: 5_000 },
  timeoutMs: 30_000,
});

try {
  await meshtune.getStudy('00000000-0000-4000-8000-000000000000');
} catch (error) {
  if (error instanceof NotFoundError) console.log(`not found: ${error.code} (request ${error.requestId})`);
  else throw error;
}

const study = await meshtune.createStudy({
  name: 'errors example',
  parameters: [{ name: 'x', type: 'real', lower: 0, upper: 1 }],
  outputs: [{ name: 'loss', type: 'objective' }],
  budget: { maxEvaluations: 5 },
});
await meshtune.stopStudy(study.id);
try {
  await meshtune.resumeStudy(study.id);
} catch (error) {
  if (hasErrorCode(error, 'INVALID_STATUS_TRANSITION')) {
    const conflict: ConflictError = error; // narrowed by the code
    console.log(`cannot resume a stopped study: ${conflict.status} ${conflict.code}`);
  } else throw error;
}
