import type { MeshtuneClient } from './client.js';
import {
  ApiError,
  ConflictError,
  ConnectionError,
  hasErrorCode,
  InternalServerError,
  MeshtuneError,
  RateLimitError,
} from './errors.js';
import { sleep } from './retry.js';
import type { Lease, MetricPoint, ParameterValues, RegisterRunnerRequest, StudyStatus, Trial } from './types.js';

export interface EvaluateContext {
  trial: Trial;
  /** The study's `trainingConfig`. */
  trainingConfig: Lease['trainingConfig'];
  /** Aborted when the API says to stop this trial (study paused or stopped, lease lost). */
  signal: AbortSignal;
  /** Sends a heartbeat now with progress (0–1) and intermediate metrics. */
  report(progress?: number, metrics?: MetricPoint[]): Promise<void>;
}

/** The objective value (studies with one output), or every output by name. */
export type Evaluation = number | Record<string, number>;

export type Evaluate = (parameters: ParameterValues, context: EvaluateContext) => Evaluation | Promise<Evaluation>;

/** Throw it from `evaluate` for a transient failure: the trial goes back to the queue. */
export class RetryableEvaluationError extends MeshtuneError {
  override name = 'RetryableEvaluationError';
}

export interface TrialOutcome {
  trial: Trial;
  state: 'completed' | 'failed' | 'released';
  outputs?: Record<string, number>;
  error?: string;
}

export interface RunWorkerOptions {
  /** Trials evaluated at once (default 1). */
  concurrency?: number;
  /** Runner name shown in the API (default `sdk-worker`). */
  name?: string;
  /** Runner capabilities (default: no GPU). */
  runner?: Omit<RegisterRunnerRequest, 'name'>;
  /** Heartbeat period (default: a third of the lease). */
  heartbeatIntervalMs?: number;
  /** Stop leasing after this many finished trials (default: until the study ends). */
  maxTrials?: number;
  /** Stop leasing; trials in progress finish and are reported. */
  signal?: AbortSignal;
  /** Called after each trial is reported. */
  onTrial?: (outcome: TrialOutcome) => void;
}

export interface WorkerSummary {
  runnerId: string;
  completed: number;
  failed: number;
  released: number;
  /** Why the worker stopped. */
  reason: 'study_finished' | 'max_trials' | 'aborted';
  /** The study's status as last reported by the lease endpoint (null when unknown). */
  studyStatus: StudyStatus | null;
}

function toOutputs(evaluation: Evaluation, lease: Lease): Record<string, number> {
  if (typeof evaluation !== 'number') return evaluation;
  const required = lease.outputs.filter((output) => output.type !== 'extra');
  if (required.length !== 1) {
    throw new MeshtuneError(
      `evaluate returned a number, but the study has ${required.length} objective/constraint outputs (${required
        .map((output) => output.name)
        .join(', ')}); return an object with each by name`,
    );
  }
  return { [required[0]!.name]: evaluation };
}

/**
 * A finished result is worth more than one request: past the client's own retries, keep
 * reporting through outages for up to one lease length (reports are idempotent).
 */
async function persistently<T>(report: () => Promise<T>, leaseSeconds: number): Promise<T> {
  const deadline = Date.now() + leaseSeconds * 1000;
  for (let delayMs = 1_000; ; delayMs = Math.min(delayMs * 2, 30_000)) {
    try {
      return await report();
    } catch (error) {
      const transient =
        error instanceof ConnectionError || error instanceof InternalServerError || error instanceof RateLimitError;
      if (!transient || Date.now() + delayMs > deadline) throw error;
      await sleep(delayMs);
    }
  }
}

/** The trial is no longer this runner's to report (finished elsewhere, study ended, lease moved on). */
function notOurs(error: unknown): error is ApiError {
  return error instanceof ConflictError || hasErrorCode(error, 'TRIAL_NOT_LEASED_TO_RUNNER');
}

function message(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 10_000) || 'evaluation failed';
}

/** The ask/tell loop of the runner protocol for objectives computed in this process. */
export async function runWorker(
  client: MeshtuneClient,
  studyId: string,
  evaluate: Evaluate,
  options: RunWorkerOptions,
): Promise<WorkerSummary> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be an integer ≥ 1');
  const registered = await client.registerRunner({ gpus: 0, ...options.runner, name: options.name ?? 'sdk-worker' });
  const runner = client.withApiKey(registered.token);
  const summary: WorkerSummary = {
    runnerId: registered.id,
    completed: 0,
    failed: 0,
    released: 0,
    reason: 'study_finished',
    studyStatus: null,
  };
  // Stops every slot: the caller's signal, the study's end, maxTrials, or one slot's failure.
  const stopLeasing = new AbortController();
  const onAbort = (): void => {
    summary.reason = 'aborted';
    stopLeasing.abort();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let started = 0;

  const finish = (outcome: TrialOutcome): void => {
    summary[outcome.state]++;
    options.onTrial?.(outcome);
  };

  async function runTrial(lease: Lease): Promise<void> {
    const trial = lease.trial;
    const stopTrial = new AbortController();
    let leaseLost = false;
    const heartbeat = async (body: { progress?: number; metrics?: MetricPoint[] }): Promise<void> => {
      try {
        const reply = await runner.heartbeatTrial(trial.id, body);
        if (reply.shouldStop)
          stopTrial.abort(new MeshtuneError(`trial stopped: ${reply.reason ?? 'asked by the API'}`));
      } catch (error) {
        if (!notOurs(error)) throw error;
        leaseLost = true;
        stopTrial.abort(error);
      }
    };
    const periodMs = options.heartbeatIntervalMs ?? Math.max(1_000, (lease.leaseSeconds * 1000) / 3);
    const timer = setInterval(() => void heartbeat({}).catch(() => undefined), periodMs);
    let outputs: Record<string, number> | undefined;
    let failure: unknown;
    try {
      outputs = toOutputs(
        await evaluate(trial.parameters, {
          trial,
          trainingConfig: lease.trainingConfig,
          signal: stopTrial.signal,
          report: (progress, metrics) => heartbeat({ progress, metrics }),
        }),
        lease,
      );
    } catch (error) {
      failure = error;
    } finally {
      clearInterval(timer);
    }
    if (leaseLost) return finish({ trial, state: 'released', error: 'lease lost' });
    if (outputs !== undefined) {
      try {
        const completed = await persistently(() => runner.completeTrial(trial.id, outputs!), lease.leaseSeconds);
        return finish({ trial: completed, state: 'completed', outputs });
      } catch (error) {
        // The study ended or the lease moved on while we computed: the result is not wanted.
        if (notOurs(error)) return finish({ trial, state: 'released', error: error.message });
        throw error;
      }
    }
    if (stopTrial.signal.aborted) {
      await runner.releaseTrial(trial.id).catch(() => undefined);
      return finish({ trial, state: 'released', error: message(failure) });
    }
    const retryable = failure instanceof RetryableEvaluationError;
    const reported = await persistently(
      () => runner.failTrial(trial.id, message(failure), { retryable }),
      lease.leaseSeconds,
    ).catch((error: unknown) => {
      if (notOurs(error)) return trial;
      throw error;
    });
    finish({ trial: reported, state: retryable ? 'released' : 'failed', error: message(failure) });
  }

  async function slot(): Promise<void> {
    while (!stopLeasing.signal.aborted) {
      if (options.maxTrials !== undefined && started >= options.maxTrials) {
        summary.reason = 'max_trials';
        return;
      }
      const result = await runner.lease(registered.id, studyId);
      if (result.kind === 'wait') {
        summary.studyStatus = result.studyStatus;
        if (result.studyStatus === 'completed' || result.studyStatus === 'stopped') {
          stopLeasing.abort();
          return;
        }
        await sleep(result.retryAfterMs, stopLeasing.signal);
        continue;
      }
      started++;
      summary.studyStatus = 'active';
      await runTrial(result.lease);
    }
  }

  try {
    const results = await Promise.allSettled(
      Array.from({ length: concurrency }, () =>
        slot().catch((error: unknown) => {
          stopLeasing.abort();
          throw error;
        }),
      ),
    );
    const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (rejected !== undefined) throw rejected.reason;
    return summary;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
