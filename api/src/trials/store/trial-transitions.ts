import type { TrialStatus } from '../trial-status';

/**
 * The trial state machine of docs/architecture.md ("Trial states"), as data: for each state, the
 * states a trial may move to. `new` is a trial not written yet (an engine suggestion leased at
 * once, a user's enqueued point, an imported evaluation). Every transition of the trial store
 * (trial-store.ts) goes through `transition`, so a statement that would break the diagram fails
 * when its module loads (statements) or at the call (row transitions), never silently.
 */
export const TRIAL_TRANSITIONS: Readonly<Record<TrialStatus | 'new', readonly TrialStatus[]>> = {
  new: ['pending', 'running', 'completed', 'failed'],
  // running: leased; completed / failed: a late result after the lease expired, nobody took it since;
  // stopped: the study ended.
  pending: ['running', 'completed', 'failed', 'stopped'],
  // pending: requeued (released, retryable failure, expiry with attempts left, runner failure, quarantine,
  // out of GPU memory while a runner with more is live);
  // stopped: requeued while the study is over, or stopped early on its curve (stop reason early_stopped).
  // paused: stopped early by a policy whose stops can be undone (a pause).
  running: ['running', 'completed', 'failed', 'pending', 'stopped', 'paused'],
  completed: [],
  failed: [],
  stopped: [],
  // pending: resumed (leased again, from its checkpoint); stopped: the study ended while it was paused.
  paused: ['pending', 'stopped'],
};

export class IllegalTrialTransitionError extends Error {}

export interface Transition<From extends TrialStatus | 'new', To extends TrialStatus> {
  from: From;
  to: To;
}

/** The transition from → to, or IllegalTrialTransitionError when the diagram has no such arrow. */
export function transition<From extends TrialStatus | 'new', To extends TrialStatus>(
  from: From,
  to: To,
): Transition<From, To> {
  if (!TRIAL_TRANSITIONS[from].includes(to)) {
    throw new IllegalTrialTransitionError(`a ${from} trial cannot become ${to} (docs/architecture.md, Trial states)`);
  }
  return { from, to };
}
