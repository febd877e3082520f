import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CompletedCurve } from './calibration';
import type { CurvePoint } from './curve-extrapolation';
import {
  chooseResume,
  decidePause,
  incumbentValueAt,
  nextStagnation,
  pauseRuleOf,
  resumeDue,
  reviveAllowed,
  takeUpReason,
  type PauseQuestion,
} from './pause-and-resume';
import { DEFAULT_CURVE_POLICY } from './stopping-policy';

const TOTAL = 40;

function exponentialCurve(final: number, amplitude: number, rate: number, upTo = TOTAL): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (let step = 1; step <= upTo; step++) {
    const p = step / TOTAL;
    points.push({ step, value: final + (amplitude * (Math.exp(-rate * p) - Math.exp(-rate))) / (1 - Math.exp(-rate)) });
  }
  return points;
}

const incumbentCurve = exponentialCurve(1.0, 2, 5);
const x0: CompletedCurve = { points: incumbentCurve, totalSteps: TOTAL, finalValue: 1.0 };

function question(overrides: Partial<PauseQuestion>): PauseQuestion {
  return {
    curve: exponentialCurve(1.5, 2.5, 5, 8),
    totalSteps: TOTAL,
    threshold: 1.0,
    protectedTrial: false,
    completed: [x0],
    stopped: [],
    incumbentCurve,
    ...overrides,
  };
}

describe('pause rule (pause-and-resume.ts)', () => {
  const rule = pauseRuleOf(DEFAULT_CURVE_POLICY);

  it('pauses a trial behind the incumbent’s curve at the same step from minProgress on, not before', () => {
    // At step 4 (progress 0.1) the curve is above the incumbent's: paused.
    const paused = decidePause(question({ curve: exponentialCurve(1.5, 2.5, 5, 4) }), rule);
    assert.equal(paused.stop, true);
    assert.equal(paused.reason, 'behind_incumbent');
    // At step 3 (progress 0.075) the same curve is not paused yet.
    assert.equal(decidePause(question({ curve: exponentialCurve(1.5, 2.5, 5, 3) }), rule).stop, false);
  });

  it('does not pause a trial ahead of the incumbent’s curve, X0, or anything before an incumbent exists', () => {
    const ahead = exponentialCurve(0.5, 1.5, 5, 8);
    assert.ok(ahead[7].value < incumbentCurve[7].value);
    assert.equal(decidePause(question({ curve: ahead }), rule).stop, false);
    assert.equal(decidePause(question({ protectedTrial: true }), rule).stop, false);
    assert.equal(decidePause(question({ threshold: null }), rule).stop, false);
    // Without the behind-the-incumbent test, one calibration curve is all the curve rule has.
    assert.equal(decidePause(question({}), { ...rule, behindIncumbent: null }).reason === 'behind_incumbent', false);
  });

  it('with noiseZ, pauses behind the incumbent only by more than the two curves’ noise', () => {
    const noisy = (points: CurvePoint[], amplitude: number): CurvePoint[] =>
      points.map((point, i) => ({ ...point, value: point.value + (i % 2 === 0 ? amplitude : -amplitude) }));
    const withNoise = { ...rule, behindIncumbent: { from: 0.1, always: true, noiseZ: 1.96 } };
    // 0.05 behind at step 8, each curve's observations ±0.05 around it: within the noise, not paused.
    const incumbent = noisy(incumbentCurve, 0.05);
    const close = noisy(
      incumbentCurve.slice(0, 8).map((point) => ({ ...point, value: point.value + 0.05 })),
      0.05,
    );
    assert.ok(close[7].value >= incumbent[7].value);
    assert.equal(decidePause(question({ curve: close, incumbentCurve: incumbent }), rule).reason, 'behind_incumbent');
    assert.notEqual(
      decidePause(question({ curve: close, incumbentCurve: incumbent }), withNoise).reason,
      'behind_incumbent',
    );
    // Far behind (the default question's curve), it is paused with the margin too.
    assert.equal(decidePause(question({ incumbentCurve: incumbent }), withNoise).reason, 'behind_incumbent');
  });

  it('reads the incumbent at the latest step at or before the trial’s (curves on other step grids)', () => {
    const sparse = [
      { step: 10, value: 3 },
      { step: 20, value: 2 },
    ];
    assert.equal(incumbentValueAt(sparse, 9), null);
    assert.equal(incumbentValueAt(sparse, 10), 3);
    assert.equal(incumbentValueAt(sparse, 19), 3);
    assert.equal(incumbentValueAt(sparse, 400), 2);
  });
});

describe('resume choice (pause-and-resume.ts)', () => {
  const history: CompletedCurve[] = [
    x0,
    { points: exponentialCurve(1.2, 2.5, 5), totalSteps: TOTAL, finalValue: 1.2 },
    { points: exponentialCurve(1.5, 1.5, 3.5), totalSteps: TOTAL, finalValue: 1.5 },
    { points: exponentialCurve(1.1, 3, 6), totalSteps: TOTAL, finalValue: 1.1 },
  ];

  it('resumes the lowest extrapolation first', () => {
    const paused = [
      { id: 'worse', points: exponentialCurve(1.3, 2, 5, 6), totalSteps: TOTAL },
      { id: 'better', points: exponentialCurve(0.9, 2, 5, 6), totalSteps: TOTAL },
    ];
    const choice = chooseResume(paused, { threshold: 1.0, completed: history, stopped: [] }, null);
    assert.deepEqual(choice, { resume: 'better', ruledOut: [] });
  });

  it('rules out for good a paused trial the final rule now stops, and resumes none when all are', () => {
    const hopeless = { id: 'hopeless', points: exponentialCurve(3.0, 1, 5, 20), totalSteps: TOTAL };
    const hopeful = { id: 'hopeful', points: exponentialCurve(0.8, 2, 5, 6), totalSteps: TOTAL };
    const context = { threshold: 1.0, completed: history, stopped: [] };
    assert.deepEqual(chooseResume([hopeless, hopeful], context, DEFAULT_CURVE_POLICY), {
      resume: 'hopeful',
      ruledOut: ['hopeless'],
    });
    assert.deepEqual(chooseResume([hopeless], context, DEFAULT_CURVE_POLICY), { resume: null, ruledOut: ['hopeless'] });
    // Without a final rule it stays eligible.
    assert.equal(chooseResume([hopeless], context, null).resume, 'hopeless');
  });
});

describe('stagnation count (pause-and-resume.ts)', () => {
  it('counts fresh results without improvement, resets on improvement, leaves it on a resumed non-improvement', () => {
    let count = 0;
    for (let i = 0; i < 4; i++) count = nextStagnation(count, { resumed: false, improved: false });
    assert.equal(count, 4);
    assert.equal(resumeDue(count, { afterTrialsWithoutImprovement: 5 }), false);
    assert.equal(nextStagnation(count, { resumed: true, improved: false }), 4);
    count = nextStagnation(count, { resumed: false, improved: false });
    assert.equal(resumeDue(count, { afterTrialsWithoutImprovement: 5 }), true);
    assert.equal(nextStagnation(count, { resumed: true, improved: true }), 0);
    assert.equal(nextStagnation(count, { resumed: false, improved: true }), 0);
  });
});

describe('takeUpReason / reviveAllowed: when a stopped or paused trial is taken up again', () => {
  const base = { stagnationDue: false, restarts: 0, takenUp: 0, onRestart: true, exhausted: false };
  it('a restart not yet answered is a reason; answered (as many take-ups as restarts) it is not', () => {
    assert.equal(takeUpReason(base), null);
    assert.equal(takeUpReason({ ...base, restarts: 1 }), 'restart');
    assert.equal(takeUpReason({ ...base, restarts: 2, takenUp: 1 }), 'restart');
    assert.equal(takeUpReason({ ...base, restarts: 2, takenUp: 2 }), null);
    // Take-ups for any reason answer restarts (at least one per restart, no counter of its own).
    assert.equal(takeUpReason({ ...base, restarts: 1, takenUp: 3 }), null);
  });
  it('without onRestart restarts are no reason; exhaustion comes first, stagnation last', () => {
    assert.equal(takeUpReason({ ...base, restarts: 3, onRestart: false }), null);
    assert.equal(takeUpReason({ ...base, restarts: 3, onRestart: false, stagnationDue: true }), 'stagnation');
    assert.equal(takeUpReason({ ...base, restarts: 3, stagnationDue: true }), 'restart');
    assert.equal(takeUpReason({ ...base, restarts: 3, stagnationDue: true, exhausted: true }), 'exhausted');
  });
  it('a final stop is revived on a restart; at the end with a GPU budget left or evaluations left unspent; never on stagnation', () => {
    const spent = { gpuBudgetLeft: false, evaluationsLeft: 0, takenUp: 2, restarts: 2 };
    assert.equal(reviveAllowed('restart', spent), true);
    assert.equal(reviveAllowed('exhausted', { ...spent, gpuBudgetLeft: true }), true);
    // Budgeted in evaluations alone and all told: nothing at the end.
    assert.equal(reviveAllowed('exhausted', spent), false);
    // The engine ended on the mesh with 3 evaluations left: 3 run-ons beyond the restarts' take-ups.
    assert.equal(reviveAllowed('exhausted', { ...spent, evaluationsLeft: 3, takenUp: 4 }), true);
    assert.equal(reviveAllowed('exhausted', { ...spent, evaluationsLeft: 3, takenUp: 5 }), false);
    assert.equal(reviveAllowed('stagnation', { ...spent, gpuBudgetLeft: true, evaluationsLeft: 9 }), false);
  });
});
