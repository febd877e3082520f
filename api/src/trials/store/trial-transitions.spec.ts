import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TRIAL_STATUSES } from '../trial-status';
import { IllegalTrialTransitionError, TRIAL_TRANSITIONS, transition } from './trial-transitions';

describe('trial transitions: the state diagram of docs/architecture.md as one table', () => {
  it('allows the arrows of the diagram', () => {
    const arrows: [Parameters<typeof transition>[0], Parameters<typeof transition>[1]][] = [
      ['new', 'running'], // an engine suggestion leased at once
      ['new', 'pending'], // enqueued by a user
      ['new', 'completed'], // imported from a NOMAD cache
      ['new', 'failed'],
      ['pending', 'running'], // lease
      ['pending', 'stopped'], // the study ended
      ['pending', 'completed'], // a late result nobody took since the lease expired
      ['running', 'running'], // heartbeat
      ['running', 'completed'],
      ['running', 'failed'],
      ['running', 'pending'], // release, retryable failure, expiry, runner failure, quarantine
      ['running', 'stopped'], // requeued while the study is over
      ['running', 'paused'], // stopped early by a policy whose stops can be undone
      ['paused', 'pending'], // resumed
      ['paused', 'stopped'], // the study ended while it was paused
    ];
    for (const [from, to] of arrows) assert.deepEqual(transition(from, to), { from, to });
  });

  it('refuses every move out of a finished state and back to new work', () => {
    for (const from of ['completed', 'failed', 'stopped'] as const) {
      for (const to of TRIAL_STATUSES) {
        assert.throws(() => transition(from, to), IllegalTrialTransitionError, `${from} → ${to}`);
      }
    }
    assert.throws(() => transition('pending', 'pending'), IllegalTrialTransitionError);
    // A paused trial is not running and has no result of its own beyond the pause.
    for (const to of ['running', 'completed', 'failed', 'paused'] as const) {
      assert.throws(() => transition('paused', to), IllegalTrialTransitionError, `paused → ${to}`);
    }
    assert.deepEqual(Object.keys(TRIAL_TRANSITIONS).sort(), ['new', ...TRIAL_STATUSES].sort());
  });
});
