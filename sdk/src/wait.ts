import type { MeshtuneClient } from './client.js';
import { WaitTimeoutError } from './errors.js';
import { sleep } from './retry.js';
import type { Study } from './types.js';

export interface WaitForStudyOptions {
  /** Called with the study on the first poll and whenever its status or trial counts change. */
  onProgress?: (study: Study) => void;
  /** Poll interval (default 2 000 ms). */
  intervalMs?: number;
  /** Give up with a `WaitTimeoutError` after this long (default: wait forever). */
  timeoutMs?: number;
  /** Stop waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

const FINISHED: ReadonlySet<Study['status']> = new Set(['completed', 'failed', 'stopped']);

function fingerprint(study: Study): string {
  return JSON.stringify([study.status, study.evaluationCount, study.trialCounts]);
}

export async function waitForStudy(
  client: MeshtuneClient,
  studyId: string,
  options: WaitForStudyOptions,
): Promise<Study> {
  const intervalMs = options.intervalMs ?? 2_000;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let seen: string | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    // The signal also cancels a poll in flight (one that trickles in can take `timeoutMs` a try).
    const study = await client.getStudy(studyId, { signal: options.signal });
    const current = fingerprint(study);
    if (current !== seen) {
      seen = current;
      options.onProgress?.(study);
    }
    if (FINISHED.has(study.status)) return study;
    if (Date.now() + intervalMs > deadline) {
      throw new WaitTimeoutError(`study ${studyId} still ${study.status} after ${options.timeoutMs} ms`);
    }
    await sleep(intervalMs, options.signal);
  }
}
