import type { MeshtuneClient } from './client.js';
import {
  ApiError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  hasErrorCode,
  InternalServerError,
  MeshtuneError,
  RateLimitError,
  UnreadableReplyError,
} from './errors.js';
import { isPlainName } from './reply.js';
import { backoffDelay, parseRetryAfter, sleep, withRetryDefaults } from './retry.js';
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

/**
 * What `evaluate` returned cannot be reported as outputs (NaN, ±Infinity, not a number, a missing
 * objective or constraint, a name the study does not have, not a plain object): reported as a
 * failed evaluation with this message, as a thrown error would be.
 */
export class InvalidEvaluationError extends MeshtuneError {
  override name = 'InvalidEvaluationError';
}

/** `evaluate` did not settle within `evaluateTimeoutMs`: its signal is aborted with this reason. */
export class EvaluationTimeoutError extends MeshtuneError {
  override name = 'EvaluationTimeoutError';
}

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
  /**
   * Give up on an `evaluate` call that has not settled after this long (default: no limit): its
   * `context.signal` is aborted with an `EvaluationTimeoutError`, the trial is reported as that
   * error is classified (a failed evaluation by default), and the worker goes on without waiting
   * for the call; whatever it returns or throws later is ignored.
   */
  evaluateTimeoutMs?: number;
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

function describe(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 50));
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * The outputs to report for what `evaluate` returned, as a fresh object (the caller's may change
 * later, and a repeated report must be the same report): every objective and constraint of the
 * study, any extra, each a finite number (-0 sent as 0); anything else is an
 * `InvalidEvaluationError` (reported as a failed evaluation) instead of a body the API refuses
 * (400) or JSON.stringify cannot write (a cyclic object, a BigInt).
 */
function toOutputs(evaluation: unknown, lease: Lease): Record<string, number> {
  const declared = lease.outputs;
  const required = declared.filter((output) => output.type !== 'extra');
  const invalid = (why: string): InvalidEvaluationError =>
    new InvalidEvaluationError(`evaluate returned ${why}; report a failure by throwing instead`);
  const finite = (name: string, value: unknown): number => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(`${name} = ${describe(value)}: outputs must be finite numbers`);
    }
    return value === 0 ? 0 : value;
  };
  if (typeof evaluation === 'number') {
    if (required.length !== 1) {
      throw invalid(
        `a number, but the study has ${required.length} objective/constraint outputs (${required
          .map((output) => output.name)
          .join(', ')}); return an object with each by name`,
      );
    }
    return { [required[0]!.name]: finite(required[0]!.name, evaluation) };
  }
  if (typeof evaluation !== 'object' || evaluation === null || Array.isArray(evaluation)) {
    throw invalid(`${describe(evaluation)}: return a number or an object of outputs by name`);
  }
  const names = new Set(declared.map((output) => output.name));
  const outputs: Record<string, number> = {};
  // Own enumerable keys only: a getter that throws or a huge object fails here, in this trial.
  for (const key of Object.keys(evaluation)) {
    if (!names.has(key)) {
      throw invalid(
        `an output ${JSON.stringify(key.slice(0, 64))} the study does not have (it has ${[...names].join(', ')})`,
      );
    }
    outputs[key] = finite(key, (evaluation as Record<string, unknown>)[key]);
  }
  const missing = required.filter((output) => !Object.hasOwn(outputs, output.name)).map((output) => output.name);
  if (missing.length > 0) {
    throw invalid(`no value for ${missing.join(', ')} (every objective and constraint is required)`);
  }
  return outputs;
}

/** setTimeout's longest period; a longer one (or NaN) fires every millisecond. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The shortest wait a reply may ask for between leases: the API's own is ≥ 1 s (MESHTUNE_RETRY_AFTER_SECONDS). */
const MIN_SERVER_WAIT_MS = 1_000;
/** Unreadable replies in a row (leases and registration of this worker) past which it stops with the last one. */
const MAX_UNREADABLE_IN_A_ROW = 5;

/**
 * How long to wait when a reply says to (`Retry-After` of a 204 lease, a 429, a quarantine):
 * within [1 s, the client's `retry.maxRetryAfterMs`] whatever the header says (1e9 seconds, a
 * date in 9999, -5, 0, garbage), plus up to 10 % jitter so that a fleet told the same does not
 * come back at once. Without a header: `fallbackMs`.
 */
function serverWaitMs(client: MeshtuneClient, askedMs: number | null, fallbackMs: number): number {
  const cap = Math.max(withRetryDefaults(client.options.retry).maxRetryAfterMs, MIN_SERVER_WAIT_MS);
  const asked = askedMs === null || Number.isNaN(askedMs) ? fallbackMs : askedMs;
  return Math.min(Math.max(asked, MIN_SERVER_WAIT_MS), cap) * (1 + Math.random() * 0.1);
}

/**
 * A call the API refused for a rate limit (429, nothing written) is made again after its
 * `Retry-After` (bounded: `serverWaitMs`), past the client's own retries, until `signal` aborts:
 * a fleet that registers at once through one key slows down instead of losing its workers.
 */
async function pastRateLimits<T>(client: MeshtuneClient, call: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (;;) {
    signal.throwIfAborted();
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof RateLimitError) || signal.aborted) throw error;
      await sleep(serverWaitMs(client, parseRetryAfter(error.headers.get('retry-after')), 1_000), signal);
    }
  }
}

/** A call's error that says the call may be made again later, and nothing was changed for good. */
function transient(error: unknown): boolean {
  return (
    error instanceof ConnectionError ||
    error instanceof InternalServerError ||
    error instanceof RateLimitError ||
    error instanceof UnreadableReplyError
  );
}

/**
 * A finished result is worth more than one request: past the client's own retries, keep
 * reporting through outages and unreadable replies for up to one lease length (reports are
 * idempotent: the API answers a repeated one as the first, trial-reports.service.ts `finish`),
 * and at least as long as a rate limit's `Retry-After` asks (bounded: `serverWaitMs`).
 */
async function persistently<T>(client: MeshtuneClient, report: () => Promise<T>, leaseSeconds: number): Promise<T> {
  const deadline = Date.now() + leaseSeconds * 1000;
  for (let delayMs = 1_000; ; delayMs = Math.min(delayMs * 2, 30_000)) {
    try {
      return await report();
    } catch (error) {
      const waitMs =
        error instanceof RateLimitError
          ? Math.max(delayMs, serverWaitMs(client, parseRetryAfter(error.headers.get('retry-after')), 1_000))
          : delayMs;
      if (!transient(error) || Date.now() + waitMs > deadline) throw error;
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

/** A UTF-16 surrogate without its pair: the API refuses text with one, or with U+0000 (both become U+FFFD). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** The API's bound on a failure's `error` (trial-reports.dto.ts `FailTrialDto.error`). */
const MAX_ERROR_CHARS = 10_000;

/**
 * A failure's text as the API takes it, whatever was thrown: an object without `toString`, one
 * whose `message` getter throws, a Symbol, NUL characters, lone surrogates, a megabyte of text
 * (cut without splitting a surrogate pair). Never throws: a report must not fail on its text.
 */
function message(error: unknown): string {
  let text: unknown;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    text = null;
  }
  if (typeof text !== 'string') return `evaluate threw a ${typeof error} that cannot be shown as text`;
  const clean = text.slice(0, MAX_ERROR_CHARS).replaceAll('\u0000', '\ufffd').replace(LONE_SURROGATE, '\ufffd');
  return clean.trim() === '' ? 'evaluation failed' : clean;
}

const FAILURE_CLASSES: ReadonlySet<string> = new Set(['evaluation', 'retryable', 'runner', 'resource']);

/** The ask/tell loop of the runner protocol for objectives computed in this process. */
export async function runWorker(
  client: MeshtuneClient,
  studyId: string,
  evaluate: Evaluate,
  options: RunWorkerOptions,
): Promise<WorkerSummary> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be an integer ≥ 1');
  if (typeof evaluate !== 'function') throw new TypeError('evaluate must be a function');
  const evaluateTimeoutMs = options.evaluateTimeoutMs;
  if (evaluateTimeoutMs !== undefined && !(evaluateTimeoutMs > 0)) {
    throw new RangeError('evaluateTimeoutMs must be a number > 0');
  }
  const retryDefaults = withRetryDefaults(client.options.retry);
  // Its slots are its loops: the API lets the runner hold as many leases as it runs (at most 256).
  // The caller's signal ends the registration too (rejecting with its reason): a 429 storm or a
  // reply that never ends does not hold the caller past its abort.
  const registering = options.signal ?? new AbortController().signal;
  const registered = await pastRateLimits(
    client,
    () =>
      client.registerRunner(
        { gpus: 0, maxConcurrentTrials: concurrency, ...options.runner, name: options.name ?? 'sdk-worker' },
        { signal: registering },
      ),
    registering,
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
  // Stops every slot: the caller's signal, the study's end, maxTrials, or one slot's failure. It
  // also cancels a lease in flight (one the API granted meanwhile comes back when its lease ends).
  const stopLeasing = new AbortController();
  const onAbort = (): void => {
    summary.reason = 'aborted';
    stopLeasing.abort();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let started = 0;
  const classify = (error: unknown): FailureClass => {
    try {
      const kind = (options.classifyError ?? classifyFailure)(error);
      return FAILURE_CLASSES.has(kind) ? kind : 'evaluation';
    } catch {
      return 'evaluation';
    }
  };
  const initialBackoffMs = options.runnerFailureBackoffMs ?? 1_000;
  const maxBackoffMs = options.maxRunnerFailureBackoffMs ?? 60_000;
  /** Runner failures in a row (any slot); a completed trial resets it. */
  let runnerFailureStreak = 0;
  /** Lease replies in a row that could not be read (finding 44); a readable one resets it. */
  let unreadableStreak = 0;
  /** Trials a slot is running: a lease the API holds for this runner and no slot runs was never read. */
  const running = new Set<string>();

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
    /** The API asked to stop the trial (study paused or stopped): it is released, not failed. */
    let stopAsked = false;
    /** `evaluate` settled or was given up: `report` sends nothing more. */
    let evaluationOver = false;
    /** The latest GPU-seconds `evaluate` reported (sent with every heartbeat and the final report). */
    let gpuSeconds: number | undefined;
    const heartbeat = async (body: { progress?: number; metrics?: MetricPoint[] }): Promise<void> => {
      // The trial has ended on the server, or here: anything more about it would be refused or late.
      if (earlyStopped || evaluationOver) return;
      try {
        const reply = await runner.heartbeatTrial(trial.id, gpuSeconds === undefined ? body : { ...body, gpuSeconds });
        if (reply.shouldStop && reply.reason === EARLY_STOPPED) {
          earlyStopped = true;
          clearInterval(timer);
          stopTrial.abort(new EarlyStoppedError('trial stopped early by the API (early_stopped)'));
        } else if (reply.shouldStop) {
          stopAsked = true;
          stopTrial.abort(new MeshtuneError(`trial stopped: ${reply.reason ?? 'asked by the API'}`));
        }
      } catch (error) {
        if (earlyStopped) return;
        // A heartbeat lost to the network, a 5xx, a rate limit or a reply that cannot be read is
        // skipped (the next one extends the lease); it never fails the evaluation.
        if (transient(error)) return;
        if (!notOurs(error)) throw error;
        leaseLost = true;
        stopTrial.abort(error);
      }
    };
    const periodMs = options.heartbeatIntervalMs ?? Math.max(1_000, (lease.leaseSeconds * 1000) / 3);
    const timer = setInterval(() => void heartbeat({}).catch(() => undefined), Math.min(periodMs, MAX_TIMER_MS));
    let outputs: Record<string, number> | undefined;
    let failure: unknown;
    let timeout: ReturnType<typeof setTimeout> | undefined;
    try {
      // Called inside a promise: a synchronous throw is a failure like a rejection.
      const evaluation = Promise.resolve().then(() =>
        evaluate(trial.parameters, {
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
      );
      // Given up after a timeout, it may still settle: nothing of it is used then.
      evaluation.catch(() => undefined);
      const timedOut =
        evaluateTimeoutMs === undefined
          ? null
          : new Promise<never>((_, reject) => {
              timeout = setTimeout(
                () => {
                  const error = new EvaluationTimeoutError(`evaluate did not finish within ${evaluateTimeoutMs} ms`);
                  stopTrial.abort(error);
                  reject(error);
                },
                Math.min(evaluateTimeoutMs, MAX_TIMER_MS),
              );
            });
      outputs = toOutputs(await (timedOut === null ? evaluation : Promise.race([evaluation, timedOut])), lease);
    } catch (error) {
      failure = error;
    } finally {
      evaluationOver = true;
      clearInterval(timer);
      clearTimeout(timeout);
    }
    // One report, the same on every retry (the API keeps the first and answers repeats alike).
    const usage = gpuSeconds === undefined ? {} : { gpuSeconds };
    // Stopped early: the API has ended the trial (and would refuse a report); whatever evaluate
    // returned or threw, nothing is reported.
    if (earlyStopped) return finish({ trial, state: 'stopped', error: 'early_stopped' });
    if (leaseLost) return finish({ trial, state: 'released', error: 'lease lost' });
    if (outputs !== undefined) {
      const result = outputs;
      try {
        const completed = await persistently(
          client,
          () => runner.completeTrial(trial.id, result, usage),
          lease.leaseSeconds,
        );
        return finish({ trial: completed, state: 'completed', outputs: result });
      } catch (error) {
        // The study ended or the lease moved on while we computed: the result is not wanted.
        if (notOurs(error)) return finish({ trial, state: 'released', error: error.message });
        // Outputs the API refuses (a rule this SDK does not know): a failed evaluation that says
        // why, instead of a worker that stops (or a report sent again and refused again).
        if (!(error instanceof BadRequestError)) throw error;
        failure = new InvalidEvaluationError(`the API refused the outputs ${JSON.stringify(result)}: ${error.message}`);
      }
    }
    if (stopAsked && !(failure instanceof EvaluationTimeoutError)) {
      await runner.releaseTrial(trial.id, usage).catch(() => undefined);
      return finish({ trial, state: 'released', error: message(failure) });
    }
    const kind = classify(failure);
    const text = message(failure);
    const reported = await persistently(
      client,
      () =>
        runner.failTrial(
          trial.id,
          text,
          kind === 'runner' || kind === 'resource'
            ? { kind, ...usage }
            : { kind: 'evaluation', retryable: kind === 'retryable', ...usage },
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
    finish({ trial: reported, state, error: text });
  }

  /**
   * 409 RUNNER_LEASE_LIMIT: the API holds more leases for this runner than its slots run, so a
   * lease it granted was never read (its reply unreadable, or cancelled by an abort). Those are
   * given back now rather than when their leases expire.
   */
  async function releaseUnread(error: ApiError): Promise<void> {
    const ids = (error.details as { trialIds?: unknown } | null | undefined)?.trialIds;
    if (!Array.isArray(ids)) return;
    for (const id of ids.slice(0, 256)) {
      if (isPlainName(id) && !running.has(id)) await runner.releaseTrial(id).catch(() => undefined);
    }
  }

  /** A lease, or null when this slot waited (quarantine, rate limit, unreadable reply) or must stop. */
  async function leaseOrWait(): Promise<Awaited<ReturnType<MeshtuneClient['lease']>> | null> {
    try {
      const result = await runner.lease(registered.id, studyId, { signal: stopLeasing.signal });
      unreadableStreak = 0;
      return result;
    } catch (error) {
      // The worker stops: whatever this call met no longer matters.
      if (stopLeasing.signal.aborted) return null;
      if (error instanceof UnreadableReplyError) {
        // Waited out with backoff (the reply may come from something between, for a while),
        // then thrown: the caller must see an API that cannot be read, not a worker that spins.
        unreadableStreak++;
        if (unreadableStreak > MAX_UNREADABLE_IN_A_ROW) throw error;
        await sleep(backoffDelay(unreadableStreak, retryDefaults), stopLeasing.signal);
        return null;
      }
      if (error instanceof RateLimitError) {
        // Past the client's retries: this slot waits its turn (the study is not the problem).
        await sleep(serverWaitMs(client, parseRetryAfter(error.headers.get('retry-after')), 1_000), stopLeasing.signal);
        return null;
      }
      if (hasErrorCode(error, 'RUNNER_LEASE_LIMIT')) {
        await releaseUnread(error);
        await sleep(serverWaitMs(client, parseRetryAfter(error.headers.get('retry-after')), 1_000), stopLeasing.signal);
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
      await sleep(serverWaitMs(client, parseRetryAfter(error.headers.get('retry-after')), 60_000), stopLeasing.signal);
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
      const result = await leaseOrWait();
      if (result === null) continue;
      if (result.kind === 'wait') {
        summary.studyStatus = result.studyStatus;
        if (result.studyStatus !== null && FINISHED_STUDY.has(result.studyStatus)) {
          stopLeasing.abort();
          return;
        }
        await sleep(serverWaitMs(client, result.retryAfterMs, 5_000), stopLeasing.signal);
        continue;
      }
      started++;
      summary.studyStatus = 'active';
      running.add(result.lease.trial.id);
      try {
        await runTrial(result.lease);
      } finally {
        running.delete(result.lease.trial.id);
      }
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
