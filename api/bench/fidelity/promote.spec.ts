import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CURVE_POLICY } from '../../src/early-stopping';
import { studyFigures } from './metrics';
import { runPromoteStudy, type PromoteOptions } from './promote';
import type { StudySettings } from './studies';

const T = 10;
/** final + amplitude · e^(−step/2): a decaying curve that ends near `final`. */
const curve = (final: number, amplitude: number): number[] =>
  Array.from({ length: T }, (_, i) => (i === T - 1 ? final : final + amplitude * Math.exp(-(i + 1) / 2)));

// X0 ends at 2.0; configuration 1 ends best (1.0) but starts behind X0 (its early values are
// higher): the false stop a pause rule makes; 2 and 3 are behind X0 throughout.
const curves = [curve(2.0, 1), curve(1.0, 3), curve(2.5, 1), curve(2.2, 1)];
const sequence = [0, 1, 2, 3];
const settings: StudySettings = { totalSteps: T, secondsPerStep: 1, maxGpuSeconds: 1000, maxTrials: 4 };

/** Only the behind-the-incumbent test pauses (the curve rule never gets its calibration trials). */
const options: PromoteOptions = {
  pausePolicy: { ...DEFAULT_CURVE_POLICY, calibrationTrials: 99 },
  behindIncumbent: { from: 0.1, always: true },
  resumePolicy: null,
  ruleOut: false,
  stagnation: 2,
  resumeWhenExhausted: true,
  resumeOverheadSteps: 1,
};

describe('bench:fidelity stopping that can be undone (promote.ts)', () => {
  it('pauses trials behind the incumbent, resumes the most promising on stagnation for its remaining steps plus the overhead', () => {
    const log = runPromoteStudy(curves, sequence, options, settings);
    assert.deepEqual(log, [
      { config: 0, steps: 10, state: 'complete' },
      { config: 1, steps: 1, state: 'paused' },
      { config: 2, steps: 1, state: 'paused' },
      // Two fresh trials without improvement: configuration 1 (2.82 at step 1) before 2 (3.11).
      { config: 1, steps: 9, state: 'complete', resumed: true, overheadSteps: 1 },
      // Ahead of the new incumbent's curve at step 1 (2.81 against 2.82), behind it at step 2.
      { config: 3, steps: 2, state: 'paused' },
      // The sequence is used up: what is left, most promising first.
      { config: 3, steps: 8, state: 'complete', resumed: true, overheadSteps: 1 },
      { config: 2, steps: 9, state: 'complete', resumed: true, overheadSteps: 1 },
    ]);
    const figures = studyFigures(log, curves, T, 1, [1.0], Infinity);
    // X0, two first steps, then the 9 remaining steps of configuration 1 and one step of reload.
    assert.equal(figures.gpuToTarget[0], 10 + 1 + 1 + 9 + 1);
    assert.equal(figures.stopped, 0);
    assert.equal(figures.falseStops, 0);
    assert.equal(figures.gpuSeconds, 10 + 3 * (1 + 9 + 1));
  });

  it('a pause never resumed is a final stop, and a false one when its full run beats the incumbent', () => {
    const log = runPromoteStudy(
      curves,
      sequence,
      { ...options, stagnation: Infinity, resumeWhenExhausted: false },
      settings,
    );
    assert.deepEqual(
      log.map((t) => t.state),
      ['complete', 'pruned', 'pruned', 'pruned'],
    );
    const figures = studyFigures(log, curves, T, 1, [1.0], Infinity);
    assert.equal(figures.gpuToTarget[0], null);
    assert.equal(figures.stopped, 3);
    assert.equal(figures.falseStops, 1);
    // Given up when the study ended, judged against the incumbent then (X0's 2.0): configuration 1.
    assert.deepEqual(
      log.map((t) => t.givenUpAfter),
      [undefined, 4, 4, 4],
    );
    assert.equal(figures.hiddenSuccesses, 1);
    assert.equal(figures.hiddenNeverDelivered, 1);
  });

  it('a pause is judged when it is given up: not a false stop once the incumbent is below its full run', () => {
    // Entry 1 paused (final 1.0 beats X0's 2.0 then), entry 2 completes at 0.5, then entry 1 is given up.
    const log = [
      { config: 0, steps: T, state: 'complete' as const },
      { config: 1, steps: 2, state: 'pruned' as const, givenUpAfter: 3 },
      { config: 4, steps: T, state: 'complete' as const },
    ];
    const withBetter = [...curves, curve(0.5, 1)];
    const figures = studyFigures(log, withBetter, T, 1, [0.5], Infinity);
    assert.equal(figures.stopped, 1);
    assert.equal(figures.falseStops, 0);
    // The engine was still told a failure where a success was: counted apart, never delivered.
    assert.equal(figures.hiddenSuccesses, 1);
    assert.equal(figures.hiddenNeverDelivered, 1);
    // Given up before entry 2 completed: a false stop.
    const early = studyFigures([log[0], { ...log[1], givenUpAfter: 2 }, log[2]], withBetter, T, 1, [0.5], Infinity);
    assert.equal(early.falseStops, 1);
    assert.deepEqual(early.falseStopEntries, [1]);
  });

  it('a resumed trial is cut when the budget runs out, and nothing runs after it', () => {
    const log = runPromoteStudy(curves, sequence, options, { ...settings, maxGpuSeconds: 16 });
    assert.deepEqual(log.slice(3), [{ config: 1, steps: 3, state: 'cut', resumed: true, overheadSteps: 1 }]);
    assert.equal(
      log.reduce((sum, t) => sum + t.steps + (t.overheadSteps ?? 0), 0),
      16,
    );
  });

  it('with ruleOut, a paused trial the default rule stops on its paused curve is never resumed', () => {
    // Four flattening curves, each a little better than the one before (so none is paused: they
    // calibrate the default rule), then one far above them that has flattened too: the default rule
    // cannot see it beating the incumbent.
    const flat = (level: number): number[] => Array.from({ length: T }, (_, i) => level + 0.5 * Math.exp(-(i + 1)));
    const many = [flat(1.0), flat(0.9999), flat(0.9998), flat(0.9997), flat(5.0)];
    const log = runPromoteStudy(
      many,
      [0, 1, 2, 3, 4],
      {
        ...options,
        // Only configuration 4 is paused: the others are calibration runs of the default rule.
        behindIncumbent: { from: 0.5, always: true },
        resumePolicy: { ...DEFAULT_CURVE_POLICY },
        ruleOut: true,
        stagnation: Infinity,
      },
      { ...settings, maxTrials: 5 },
    );
    const last = log[log.length - 1];
    assert.equal(last.config, 4);
    assert.equal(last.state, 'pruned');
    assert.equal(last.givenUpAfter, log.length);
    assert.equal(
      log.some((t) => t.resumed === true),
      false,
    );
    // Without ruleOut (the service's rule), the same trial is resumed, and the default rule stops
    // it for good as it runs: after one more step and the reload.
    const resumedLog = runPromoteStudy(
      many,
      [0, 1, 2, 3, 4],
      {
        ...options,
        behindIncumbent: { from: 0.5, always: true },
        resumePolicy: { ...DEFAULT_CURVE_POLICY },
        stagnation: Infinity,
      },
      { ...settings, maxTrials: 5 },
    );
    assert.deepEqual(resumedLog.slice(-2), [
      { config: 4, steps: last.steps, state: 'paused' },
      { config: 4, steps: 1, state: 'pruned', resumed: true, overheadSteps: 1 },
    ]);
  });
});
