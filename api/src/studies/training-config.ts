import type { FieldError } from '../common/errors/domain-error';

/** 2³¹ − 1: past any run a study trains (and within the runner's integer). */
export const MAX_CHECKPOINT_STEPS = 2_147_483_647;

/**
 * `trainingConfig` is the runner's (python-runner/src/meshtune_runner/training_config.py defines
 * it; an SDK worker may define its own): the API stores it as given, with one exception. It reads
 * `checkpointSteps` to decide whether a study keeps checkpoints, which `earlyStopping.resume` and
 * `revive` need (a stop can be undone only from a checkpoint). A key the API reads to grant an
 * option is checked as the runner checks it — a whole number of steps, at least 1 — or `1.5` and
 * `1e308` would grant pause-and-resume to a study whose runners then refuse its configuration
 * (the Python runner) or never write a checkpoint.
 */
export function readCheckpointSteps(trainingConfig: Record<string, unknown> | undefined): {
  checkpointed: boolean;
  error: FieldError | null;
} {
  const value = trainingConfig?.checkpointSteps;
  if (value === undefined || value === null) return { checkpointed: false, error: null };
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CHECKPOINT_STEPS) {
    return {
      checkpointed: false,
      error: {
        field: 'trainingConfig.checkpointSteps',
        reason: `must be a whole number of optimizer steps from 1 to ${MAX_CHECKPOINT_STEPS}, or null`,
      },
    };
  }
  return { checkpointed: true, error: null };
}
