/**
 * Simulated learning curves for the early-stopping e2e tests (test/api/early-stopping.e2e.spec.ts,
 * test/api/pause-and-resume.e2e.spec.ts): a bowl of final values, curves that decay to them with
 * noise, and a gate to park runners while the app restarts.
 */
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

/** Deterministic noise per trial and step (xorshift on a seed), standard deviation about 0.01. */
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
