/**
 * Simulated learning curves for the early-stopping e2e tests (test/api/early-stopping.e2e.spec.ts,
 * test/api/pause-and-resume.e2e.spec.ts): a bowl of final values, curves that decay to them with
 * noise, a gate to park runners while the app restarts, and the runner that works them.
 */
import assert from 'node:assert/strict';
import { expectStatus, lease, report, type TestRunner } from './api-client';
import type { TestServer } from './test-server';

/** Steps of a simulated run, and the evaluation interval (a point of the curve every 5 steps). */
export const TOTAL_STEPS = 100;
export const EVAL_EVERY = 5;
/** GPU-seconds per step: 2 GPUs × 0.3 s of wall-clock. */
export const GPU_SECONDS_PER_STEP = 0.6;
/**
 * The runners' registration for these curves: 2 GPUs, so that the GPU-seconds they claim stay
 * within GPUs × (time since the lease × 1.1 + 60) (docs/reliability.md, finding 47).
 */
export const SIMULATED_RUNNER = { gpus: 2 } as const;

/** The final validation loss of a configuration: a bowl with its minimum 1 at (1, −1). */
export function finalLoss(parameters: Record<string, number | string>): number {
  const x = Number(parameters.x);
  const y = Number(parameters.y);
  return 1 + ((x - 1) ** 2 + (y + 1) ** 2) / 5;
}

/** The standard deviation of `noise` (a sum of 4 uniforms on ±0.5, times 0.017): about 0.0098. */
export const CURVE_NOISE_SD = 0.017 * Math.sqrt(4 / 12);

/** Deterministic noise per trial and step (xorshift on a seed), standard deviation CURVE_NOISE_SD. */
function noise(seed: number, step: number): number {
  let state = (seed * 2654435761 + step * 40503) >>> 0 || 1;
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    sum += state / 2 ** 32 - 0.5;
  }
  return sum * 0.017;
}

/**
 * A learning curve ending at `final` at step TOTAL_STEPS: a power law for even trial numbers, an
 * exponential decay for odd ones, starting about 3 above the final value, plus noise.
 */
export function curveValue(final: number, trialNumber: number, step: number): number {
  const p = step / TOTAL_STEPS;
  const p0 = EVAL_EVERY / TOTAL_STEPS;
  const shape =
    trialNumber % 2 === 0
      ? (p ** -0.5 - 1) / (p0 ** -0.5 - 1)
      : (Math.exp(-4 * p) - Math.exp(-4)) / (Math.exp(-4 * p0) - Math.exp(-4));
  return final + 3 * shape + noise(trialNumber, step);
}

/** Lets the test park every runner between two requests (to restart the app under them). */
export class Gate {
  private waiting: Promise<void> | null = null;
  private open: (() => void) | null = null;
  parked = 0;

  close(): void {
    this.waiting = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.waiting = null;
  }

  async pass(): Promise<void> {
    if (this.waiting === null) return;
    this.parked += 1;
    await this.waiting;
    this.parked -= 1;
  }
}

/** One attempt of a trial, as a simulated runner saw it. */
export interface CurveAttempt {
  id: string;
  number: number;
  origin: string;
  attempt: number;
  /** The configuration's final value (`finalLoss`): what a full run would report. */
  final: number;
  /** The step it started from: 0, or the step of the checkpoint a resumed attempt continues from. */
  from: number;
  /** The step of the heartbeat answered `early_stopped`, or null when it ran to the end. */
  stoppedAt: number | null;
  /** The last value of its curve it reported. */
  lastValue: number;
  /** The GPU-seconds it last reported. */
  gpuSeconds: number;
}

export interface CurveWorkerOptions {
  /** Parks the runner between two requests (the test restarts the app under it). */
  gate: Gate;
  /** Receives every attempt as it starts (the log is updated in place until it ends). */
  attempts: CurveAttempt[];
  /**
   * The checkpoint folder the runners share (trial id → the step of its kept checkpoint), as the
   * Python runner keeps with `checkpointSteps` (docs/runner.md, "Checkpoints and resume"): a stop
   * keeps one, and a later attempt of that trial continues from it. Absent: every attempt starts
   * at step 0 and nothing is kept.
   */
  checkpoints?: Map<string, number>;
  /** GPU-seconds of loading the model and the checkpoint again at a resume. */
  reloadGpuSeconds?: number;
  /** Metrics a heartbeat carries besides `val_loss` at `step`. */
  extraMetrics?: (step: number, value: number) => { name: string; step: number; value: number }[];
  /** The test's checks once a heartbeat answered `early_stopped`, before the next lease. */
  afterStop?: (attempt: CurveAttempt) => Promise<void>;
  /** Called once per attempt that ended (completed or stopped). */
  onFinished: () => void;
}

/**
 * A runner as an HTTP client on simulated curves: lease, send the curve's points in heartbeats
 * every EVAL_EVERY steps, stop when a heartbeat says so, complete otherwise — until the study is no
 * longer active. Shared by the early-stopping, pause-and-resume and revive e2e tests.
 */
export async function runCurveWorker(
  test: TestServer,
  runner: TestRunner,
  studyId: string,
  options: CurveWorkerOptions,
): Promise<void> {
  const { gate, attempts, checkpoints } = options;
  for (let round = 0; round < 10_000; round++) {
    await gate.pass();
    const leased = await lease(test, runner, studyId);
    if (leased.status === 204) {
      if (leased.headers['meshtune-study-status'] !== 'active') return;
      await new Promise((resolve) => setTimeout(resolve, 5));
      continue;
    }
    expectStatus(leased, 200);
    const trial = leased.body.trial as {
      id: string;
      number: number;
      origin: string;
      attempt: number;
      parameters: Record<string, number | string>;
    };
    const from = checkpoints?.get(trial.id) ?? 0;
    const reload = from > 0 ? (options.reloadGpuSeconds ?? 0) : 0;
    const final = finalLoss(trial.parameters);
    const attempt: CurveAttempt = {
      id: trial.id,
      number: trial.number,
      origin: trial.origin,
      attempt: trial.attempt,
      final,
      from,
      stoppedAt: null,
      lastValue: final,
      gpuSeconds: reload,
    };
    attempts.push(attempt);
    for (let step = from + EVAL_EVERY; step <= TOTAL_STEPS; step += EVAL_EVERY) {
      await gate.pass();
      attempt.lastValue = curveValue(attempt.final, trial.number, step);
      attempt.gpuSeconds = reload + (step - from) * GPU_SECONDS_PER_STEP;
      const beat = expectStatus(
        await report(test, runner, trial.id, 'heartbeat', {
          progress: step / TOTAL_STEPS,
          metrics: [
            { name: 'val_loss', step, value: attempt.lastValue },
            ...(options.extraMetrics?.(step, attempt.lastValue) ?? []),
          ],
          gpuSeconds: attempt.gpuSeconds,
        }),
        200,
      ).body as { shouldStop: boolean; reason: string | null };
      if (beat.shouldStop) {
        // A pause and a final stop read the same to the runner: keep the adapter and the checkpoint.
        assert.equal(beat.reason, 'early_stopped');
        attempt.stoppedAt = step;
        checkpoints?.set(trial.id, step);
        break;
      }
    }
    if (attempt.stoppedAt !== null) {
      await options.afterStop?.(attempt);
    } else {
      expectStatus(
        await report(test, runner, trial.id, 'complete', {
          outputs: { val_loss: attempt.lastValue },
          gpuSeconds: attempt.gpuSeconds,
        }),
        200,
      );
    }
    options.onFinished();
  }
  throw new Error('runner did not finish');
}
