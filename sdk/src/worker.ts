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
import { parseRetryAfter, sleep } from './retry.js';
import type { Lease, MetricPoint, ParameterValues, RegisterRunnerRequest, StudyStatus, Trial } from './types.js';

export interface EvaluateContext {
  trial: Trial;
  /** The study's `trainingConfig`. */
  trainingConfig: Lease['trainingConfig'];
  /**
   * Aborted when the API says to stop this trial: study paused or stopped, lease lost, or the
   * study's stopping policy ended it early (`signal.reason` is then an `EarlyStoppedError`;
   * nothing more is reported for the trial, whatever `evaluate` returns or throws).
   */
  signal: AbortSignal;
  /**
   * Sends a heartbeat now with progress (0–1), intermediate metrics (the stopping policy reads
   * them) and, optionally, the GPU-seconds the evaluation has used so far (cumulative; measured
   * by the caller: GPUs × wall-clock seconds of its training). The latest `gpuSeconds` also goes
   * with the periodic heartbeats and the final complete/fail report; send it only to an API that
   * accepts the field.
   */
  report(progress?: number, metrics?: MetricPoint[], gpuSeconds?: number): Promise<void>;
}

/** The heartbeat reply's reason when the study's stopping policy has ended the trial. */
export const EARLY_STOPPED = 'early_stopped';

/**
 * The abort reason of `EvaluateContext.signal` when the API stopped the trial early: the trial is
 * already `stopped` on the server, so the worker reports nothing more for it.
 */
export class EarlyStoppedError extends MeshtuneError {
  override name = 'EarlyStoppedError';
}

/** The objective value (studies with one output), or every output by name. */
export type Evaluation = number | Record<string, number>;

export type Evaluate = (parameters: ParameterValues, context: EvaluateContext) => Evaluation | Promise<Evaluation>;

/** Throw it from `evaluate` for a transient failure: the trial goes back to the queue (using one of its attempts). */
export class RetryableEvaluationError extends MeshtuneError {
  override name = 'RetryableEvaluationError';
}

/**
 * Throw it from `evaluate` when this machine cannot run trials (data or model missing, a module
 * that does not load, disk full): reported as a runner failure (`kind: "runner"`), the trial goes
 * back to the queue for another runner without using the budget or an attempt, and this worker
 * backs off before leasing again. Several in a row get the runner quarantined by the API.
 */
export class RunnerFailureError extends MeshtuneError {
  override name = 'RunnerFailureError';
}

/**
 * Throw it from `evaluate` when the trial ran out of GPU memory: reported as a resource failure
 * (`kind: "resource"`), the trial goes to a runner with more memory per GPU than this one (as
 * registered in `runner.gpuMemoryMb`) without using the budget or an attempt, or fails as an
 * evaluation when no runner has more.
 */
export class OutOfGpuMemoryError extends MeshtuneError {
  override name = 'OutOfGpuMemoryError';
}

/**
 * How a failed evaluation is reported: `evaluation` (the point is bad), `retryable` (transient),
 * `runner` (this machine), `resource` (out of GPU memory: a runner with more may fit it).
 */
export type FailureClass = 'evaluation' | 'retryable' | 'runner' | 'resource';

/**
 * Node's error codes that say the machine, not the point, is at fault: a missing file or folder,
 * no permission, a full disk, too many open files, a module that cannot be loaded.
 */
const MACHINE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EMFILE',
  'ENFILE',
  'MODULE_NOT_FOUND',
  'ERR_MODULE_NOT_FOUND',
  'ERR_DLOPEN_FAILED',
]);

/**
 * The default classification: `RunnerFailureError` and Node system errors of the machine
 * (`ENOENT`, `ENOSPC`, `MODULE_NOT_FOUND`, …) are runner failures; `OutOfGpuMemoryError` is a
 * resource failure; `RetryableEvaluationError` is
 * retryable; anything else is a failed evaluation (counted in the budget, as NOMAD does).
 */
export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof RunnerFailureError) return 'runner';
  if (error instanceof OutOfGpuMemoryError) return 'resource';
  if (error instanceof RetryableEvaluationError) return 'retryable';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && MACHINE_ERROR_CODES.has(code)) return 'runner';
  return 'evaluation';
}

export interface TrialOutcome {
  trial: Trial;
  /**
   * `runner_failed`: reported as a runner failure (the trial went back to the queue); `stopped`:
   * ended early by the API (nothing reported).
   */
  state: 'completed' | 'failed' | 'released' | 'runner_failed' | 'stopped';
  outputs?: Record<string, number>;
  error?: string;
}

export interface RunWorkerOptions {
  /** Trials evaluated at once (default 1, at most 256): registered as the runner's `maxConcurrentTrials`. */
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
  /** How a thrown error is reported (default `classifyFailure`). */
  classifyError?: (error: unknown) => FailureClass;
  /**
   * Wait after a runner failure before leasing again, doubled at each one in a row (default
   * 1 000 ms, at most `maxRunnerFailureBackoffMs`, default 60 000): a machine that cannot set up
   * does not take and fail trials as fast as it can.
   */
  runnerFailureBackoffMs?: number;
  maxRunnerFailureBackoffMs?: number;
  /**
   * When the API quarantines this runner (409 RUNNER_QUARANTINED): `wait` (default) asks again
   * after the answer's Retry-After, until an operator clears it; `stop` returns with reason
   * `quarantined`.
   */
  whenQuarantined?: 'wait' | 'stop';
  /** Called with the API's reason when a lease is refused because this runner is quarantined. */
  onQuarantined?: (reason: string) => void;
}

export interface WorkerSummary {
  runnerId: string;
  completed: number;
  failed: number;
  released: number;
  /** Trials reported as runner failures (given back for another runner). */
  runnerFailed: number;
  /** Trials the API stopped early (its stopping policy); not reported. */
  stopped: number;
  /** Why the worker stopped (`study_deleted`: its study was deleted, after a stop, while it ran). */
  reason: 'study_finished' | 'study_deleted' | 'max_trials' | 'aborted' | 'quarantined';
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

/** How long a 429 asks to wait (its `Retry-After`, else 1 s). */
function rateLimitWaitMs(error: RateLimitError): number {
  return parseRetryAfter(error.headers.get('retry-after')) ?? 1_000;
}

/**
 * A call the API refused for a rate limit (429, nothing written) is made again after its
 * `Retry-After`, past the client's own retries, for as long as it takes: a fleet that registers
 * at once through one key slows down instead of losing its workers.
 */
async function pastRateLimits<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof RateLimitError)) throw error;
      await sleep(rateLimitWaitMs(error));
    }
  }
}

/**
 * A finished result is worth more than one request: past the client's own retries, keep
 * reporting through outages for up to one lease length (reports are idempotent), and at least
 * as long as a rate limit's `Retry-After` asks.
 */
async function persistently<T>(report: () => Promise<T>, leaseSeconds: number): Promise<T> {
  const deadline = Date.now() + leaseSeconds * 1000;
  for (let delayMs = 1_000; ; delayMs = Math.min(delayMs * 2, 30_000)) {
    try {
      return await report();
    } catch (error) {
      const transient =
        error instanceof ConnectionError || error instanceof InternalServerError || error instanceof RateLimitError;
      const waitMs = error instanceof RateLimitError ? Math.max(delayMs, rateLimitWaitMs(error)) : delayMs;
      if (!transient || Date.now() + waitMs > deadline) throw error;
      await sleep(waitMs);
    }
  }
}

/**
 * The trial is no longer this runner's to report (finished elsewhere, study ended, lease moved
 * on, or the stopped study deleted: 404 for the trial or its study).
 */
function notOurs(error: unknown): error is ApiError {
  return (
    error instanceof ConflictError ||
    hasErrorCode(error, 'TRIAL_NOT_LEASED_TO_RUNNER') ||
    hasErrorCode(error, 'TRIAL_NOT_FOUND') ||
    hasErrorCode(error, 'STUDY_NOT_FOUND')
  );
}

/** Study statuses after which no trial will ever be leased. */
const FINISHED_STUDY: ReadonlySet<StudyStatus> = new Set(['completed', 'failed', 'stopped']);

const STATE_COUNTER = {
  completed: 'completed',
  failed: 'failed',
  released: 'released',
  runner_failed: 'runnerFailed',
  stopped: 'stopped',
} as const satisfies Record<TrialOutcome['state'], keyof WorkerSummary>;

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
  // Its slots are its loops: the API lets the runner hold as many leases as it runs (at most 256).
  const registered = await pastRateLimits(() =>
    client.registerRunner({
      gpus: 0,
      maxConcurrentTrials: concurrency,
      ...options.runner,
      name: options.name ?? 'sdk-worker',
    }),
  );
  const runner = client.withApiKey(registered.token);
  const summary: WorkerSummary = {
    runnerId: registered.id,
    completed: 0,
    failed: 0,
    released: 0,
    runnerFailed: 0,
    stopped: 0,
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
  const classify = options.classifyError ?? classifyFailure;
  const initialBackoffMs = options.runnerFailureBackoffMs ?? 1_000;
  const maxBackoffMs = options.maxRunnerFailureBackoffMs ?? 60_000;
  /** Runner failures in a row (any slot); a completed trial resets it. */
  let runnerFailureStreak = 0;

  const finish = (outcome: TrialOutcome): void => {
    summary[STATE_COUNTER[outcome.state]]++;
    if (outcome.state === 'completed') runnerFailureStreak = 0;
    if (outcome.state === 'runner_failed') runnerFailureStreak++;
    options.onTrial?.(outcome);
  };

  async function runTrial(lease: Lease): Promise<void> {
    const trial = lease.trial;
    const stopTrial = new AbortController();
    let leaseLost = false;
    let earlyStopped = false;
    /** The latest GPU-seconds `evaluate` reported (sent with every heartbeat and the final report). */
    let gpuSeconds: number | undefined;
    const heartbeat = async (body: { progress?: number; metrics?: MetricPoint[] }): Promise<void> => {
      // The trial has ended on the server: anything more about it would be refused.
      if (earlyStopped) return;
      try {
        const reply = await runner.heartbeatTrial(trial.id, gpuSeconds === undefined ? body : { ...body, gpuSeconds });
        if (reply.shouldStop && reply.reason === EARLY_STOPPED) {
          earlyStopped = true;
          clearInterval(timer);
          stopTrial.abort(new EarlyStoppedError('trial stopped early by the API (early_stopped)'));
        } else if (reply.shouldStop) {
          stopTrial.abort(new MeshtuneError(`trial stopped: ${reply.reason ?? 'asked by the API'}`));
        }
      } catch (error) {
        if (earlyStopped) return;
        // A heartbeat over a rate limit is skipped; the next one extends the lease.
        if (error instanceof RateLimitError) return;
        if (!notOurs(error)) throw error;
        leaseLost = true;
        stopTrial.abort(error);
      }
    };
    const periodMs = options.heartbeatIntervalMs ?? Math.max(1_000, (lease.leaseSeconds * 1000) / 3);
    const timer = setInterval(() => void heartbeat({}).catch(() => undefined), periodMs);
    const withGpuSeconds = (): { gpuSeconds?: number } => (gpuSeconds === undefined ? {} : { gpuSeconds });
    let outputs: Record<string, number> | undefined;
    let failure: unknown;
    try {
      outputs = toOutputs(
        await evaluate(trial.parameters, {
          trial,
          trainingConfig: lease.trainingConfig,
          signal: stopTrial.signal,
          report: (progress, metrics, used) => {
            if (used !== undefined) {
              if (!Number.isFinite(used) || used < 0) throw new RangeError('gpuSeconds must be a finite number ≥ 0');
              gpuSeconds = used;
            }
            return heartbeat({ progress, metrics });
          },
        }),
        lease,
      );
    } catch (error) {
      failure = error;
    } finally {
      clearInterval(timer);
    }
    // Stopped early: the API has ended the trial (and would refuse a report); whatever evaluate
    // returned or threw, nothing is reported.
    if (earlyStopped) return finish({ trial, state: 'stopped', error: 'early_stopped' });
    if (leaseLost) return finish({ trial, state: 'released', error: 'lease lost' });
    if (outputs !== undefined) {
      try {
        const completed = await persistently(
          () => runner.completeTrial(trial.id, outputs!, withGpuSeconds()),
          lease.leaseSeconds,
        );
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
    const kind = classify(failure);
    const reported = await persistently(
      () =>
        runner.failTrial(
          trial.id,
          message(failure),
          kind === 'runner' || kind === 'resource'
            ? { kind, ...withGpuSeconds() }
            : { kind: 'evaluation', retryable: kind === 'retryable', ...withGpuSeconds() },
        ),
      lease.leaseSeconds,
    ).catch((error: unknown) => {
      if (notOurs(error)) return trial;
      throw error;
    });
    // Out of memory: back to the queue for a bigger runner (released), or failed when none has more.
    const state =
      kind === 'runner'
        ? 'runner_failed'
        : kind === 'retryable' || (kind === 'resource' && reported.status !== 'failed')
          ? 'released'
          : 'failed';
    finish({ trial: reported, state, error: message(failure) });
  }

  /** A lease, or null when this runner is quarantined and waited (or must stop). */
  async function leaseUnlessQuarantined(): Promise<Awaited<ReturnType<MeshtuneClient['lease']>> | null> {
    try {
      return await runner.lease(registered.id, studyId);
    } catch (error) {
      if (error instanceof RateLimitError) {
        // Past the client's retries: this slot waits its turn (the study is not the problem).
        await sleep(rateLimitWaitMs(error), stopLeasing.signal);
        return null;
      }
      // The study this worker ran was deleted (after a stop): it ends as for a finished study. A
      // study never seen (a wrong id) still throws.
      if (hasErrorCode(error, 'STUDY_NOT_FOUND') && summary.studyStatus !== null) {
        summary.reason = 'study_deleted';
        stopLeasing.abort();
        return null;
      }
      if (!hasErrorCode(error, 'RUNNER_QUARANTINED')) throw error;
      const reason = (error.details as { reason?: string } | undefined)?.reason ?? error.message;
      options.onQuarantined?.(reason);
      if ((options.whenQuarantined ?? 'wait') === 'stop') {
        summary.reason = 'quarantined';
        stopLeasing.abort();
        return null;
      }
      await sleep(parseRetryAfter(error.headers.get('retry-after')) ?? 60_000, stopLeasing.signal);
      return null;
    }
  }

  async function slot(): Promise<void> {
    while (!stopLeasing.signal.aborted) {
      if (options.maxTrials !== undefined && started >= options.maxTrials) {
        summary.reason = 'max_trials';
        return;
      }
      if (runnerFailureStreak > 0) {
        // This machine just failed to run a trial: give it time (and the fleet the trial) first.
        const backoffMs = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (runnerFailureStreak - 1));
        await sleep(backoffMs, stopLeasing.signal);
        if (stopLeasing.signal.aborted) return;
      }
      const result = await leaseUnlessQuarantined();
      if (result === null) continue;
      if (result.kind === 'wait') {
        summary.studyStatus = result.studyStatus;
        if (result.studyStatus !== null && FINISHED_STUDY.has(result.studyStatus)) {
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
