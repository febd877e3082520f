import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CURVE_POLICY, DEFAULT_MEDIAN_POLICY } from '../../src/early-stopping';
import type { EvaluationResult } from '../../src/optimizer-contract/algorithm';
import {
  configIndexOf,
  gpuBudgetEvaluations,
  runClosedLoopStudy,
  serviceResume,
  type ClosedLoopOptions,
} from './closed-loop';
import type { StudySettings, TrialLog } from './studies';

const T = 10;
const LEVELS = [6, 6];
/**
 * A 6 × 6 grid: the final value is a bowl around level (4, 4) (X0 is (2, 2)); how far above it a
 * curve starts varies with the configuration, so some good configurations start behind worse ones
 * (the pause rule's behind-the-incumbent test pauses them) and a resume can improve the incumbent.
 */
const curves: number[][] = [];
for (let i = 0; i < LEVELS[0]; i++) {
  for (let j = 0; j < LEVELS[1]; j++) {
    const final = 1 + 0.1 * ((i - 4) ** 2 + (j - 4) ** 2);
    const amplitude = 0.5 + 0.6 * ((i * 7 + j * 3) % 5);
    curves.push(
      Array.from({ length: T }, (_, s) => final + amplitude * Math.exp(-(s + 1) / 2.5) * (s === T - 1 ? 0 : 1)),
    );
  }
}
/** A 15 × 15 grid, the same bowl shape (optimum at (11, 11), X0 (7, 7)): large enough for MADS to restart on the mesh. */
const BIG_LEVELS = [15, 15];
const BIG: number[][] = [];
for (let i = 0; i < 15; i++) {
  for (let j = 0; j < 15; j++) {
    const final = 1 + 0.1 * ((i - 11) ** 2 + (j - 11) ** 2);
    const amplitude = 0.5 + 0.6 * ((i * 7 + j * 3) % 5);
    BIG.push(Array.from({ length: T }, (_, s) => final + amplitude * Math.exp(-(s + 1) / 2.5) * (s === T - 1 ? 0 : 1)));
  }
}
const settings: StudySettings = { totalSteps: T, secondsPerStep: 1, maxGpuSeconds: 10_000, maxTrials: 1000 };
const BUDGET = 16;

function study(options: Omit<ClosedLoopOptions, 'maxEvaluations' | 'seed' | 'onTell'>) {
  const told: EvaluationResult[] = [];
  const out = runClosedLoopStudy(
    LEVELS,
    curves,
    { ...options, maxEvaluations: BUDGET, seed: 7, onTell: (result) => told.push(result) },
    settings,
  );
  return { ...out, told };
}
const fresh = (log: readonly TrialLog[]) => log.filter((t) => t.resumed !== true);
const gpu = (log: readonly TrialLog[]) => log.reduce((sum, t) => sum + t.steps + (t.overheadSteps ?? 0), 0);

describe('bench:fidelity closed loop (closed-loop.ts): MADS chooses the points', () => {
  it('without stopping: exactly the budget of evaluations, each run to its end and told its final value', () => {
    const { log, trace, told } = study({ policy: { kind: 'none' }, resume: null });
    assert.equal(trace.evaluations, BUDGET);
    assert.equal(log.length, BUDGET);
    assert.ok(log.every((t) => t.state === 'complete' && t.steps === T));
    assert.equal(gpu(log), BUDGET * T);
    assert.deepEqual(
      told.map((r) => r.outputs),
      log.map((t) => [curves[t.config][T - 1]]),
    );
    // The engine's points are the configurations read (mixed radix, first variable most significant).
    assert.deepEqual(
      told.map((r) => configIndexOf(LEVELS, r.x)),
      log.map((t) => t.config),
    );
  });

  for (const [name, policy] of [
    ['curve', { ...DEFAULT_CURVE_POLICY }],
    ['median', { ...DEFAULT_MEDIAN_POLICY }],
  ] as const) {
    it(`final stops (${name}): the budget is exact, every stop is told as a failed evaluation and counted`, () => {
      const { log, trace, told } = study({ policy, resume: null });
      assert.equal(trace.evaluations, BUDGET);
      assert.equal(log.length, BUDGET);
      const stops = log.filter((t) => t.state === 'pruned');
      assert.ok(stops.length > 0, 'the problem is meant to have stops');
      assert.equal(trace.toldFailed, stops.length);
      assert.equal(told.filter((r) => r.outputs === null).length, stops.length);
      assert.ok(stops.every((t) => t.steps < T));
      assert.ok(told.every((r) => r.resumed === undefined));
      // As EngineService: a curve stop carries its decision's lower bound (at least the incumbent's
      // value it could not beat); the median rule has none; a completed trial never carries one.
      for (const r of told) {
        if (r.outputs !== null || policy.kind === 'median') assert.equal(r.censoredBelow, undefined);
        else assert.ok(typeof r.censoredBelow === 'number' && Number.isFinite(r.censoredBelow));
      }
      // The protected trials (X0 and the first calibration / startup ones) run to the end.
      const protectedCount = policy.kind === 'curve' ? policy.calibrationTrials : policy.nStartupTrials;
      assert.ok(log.slice(0, protectedCount).every((t) => t.state === 'complete'));
    });
  }

  it('pause and resume: paused trials told as failed and counted once; resumed ones told as resumed, not counted', () => {
    const { log, trace, told } = study({
      policy: { ...DEFAULT_CURVE_POLICY },
      resume: serviceResume(DEFAULT_CURVE_POLICY, 3),
    });
    assert.equal(trace.evaluations, BUDGET);
    assert.equal(fresh(log).length, BUDGET);
    const resumed = log.filter((t) => t.resumed === true);
    assert.ok(resumed.length > 0, 'the problem is meant to have resumes');
    assert.ok(trace.paused >= resumed.length);
    assert.equal(trace.resumed, resumed.length);
    // One told result per log entry, in the same order; resumed ones carry the flag and their value.
    assert.equal(told.length, log.length);
    log.forEach((entry, index) => {
      const result = told[index];
      assert.equal(configIndexOf(LEVELS, result.x), entry.config);
      assert.equal(result.resumed === true, entry.resumed === true);
      if (entry.resumed !== true) assert.equal(result.outputs === null, entry.state !== 'complete');
      else assert.deepEqual(result.outputs, entry.state === 'complete' ? [curves[entry.config][T - 1]] : null);
    });
    // A resumed entry continues a paused one of the same configuration from where it stopped.
    for (const entry of resumed) {
      const first = log.find((t) => t.config === entry.config && t.resumed !== true)!;
      assert.equal(first.state, 'paused');
      if (entry.state === 'complete') assert.equal(first.steps + entry.steps, T);
      else assert.ok(first.steps + entry.steps < T);
      assert.equal(entry.overheadSteps, 1);
    }
    assert.equal(gpu(log), log.reduce((sum, t) => sum + t.steps, 0) + resumed.length);
    assert.ok(trace.resumedImproved <= resumed.length);
  });

  it('without an evaluation budget: the study ends when the GPU-seconds are spent, the trial running then cut', () => {
    const told: EvaluationResult[] = [];
    const maxGpuSeconds = 7 * T + 3;
    const { log, trace } = runClosedLoopStudy(
      LEVELS,
      curves,
      { policy: { kind: 'none' }, resume: null, maxEvaluations: null, seed: 7, onTell: (r) => told.push(r) },
      { ...settings, maxGpuSeconds },
    );
    assert.equal(gpu(log), maxGpuSeconds);
    assert.deepEqual(
      log.map((t) => t.state),
      [...Array<string>(7).fill('complete'), 'cut'],
    );
    // The cut trial is not told: the engine counted the 7 that ran to their end.
    assert.equal(trace.evaluations, 7);
    assert.equal(told.length, 7);
  });

  it("with the service's GPU-hour budget (finishRunningAtBudget): no start past the budget, the trials running finish and are told", () => {
    for (const inFlight of [1, 3]) {
      const told: EvaluationResult[] = [];
      const maxGpuSeconds = 7 * T + 3;
      const { log, trace } = runClosedLoopStudy(
        LEVELS,
        curves,
        {
          policy: { kind: 'none' },
          resume: null,
          maxEvaluations: null,
          seed: 7,
          inFlight,
          finishRunningAtBudget: true,
          onTell: (r) => told.push(r),
        },
        { ...settings, maxGpuSeconds },
      );
      assert.ok(
        log.every((t) => t.state === 'complete'),
        `${inFlight} in flight: nothing cut`,
      );
      // Every trial started before the budget was spent, and ran its whole length after it.
      assert.ok(gpu(log) >= maxGpuSeconds && gpu(log) < maxGpuSeconds + inFlight * T, String(gpu(log)));
      assert.equal(trace.evaluations, log.length);
      assert.equal(told.length, log.length);
    }
  });

  it('a GPU-budget study with the evaluation bound the service needs restarts on the mesh instead of ending with budget left', () => {
    // The 15 × 15 grid (BIG); 50 full trials' worth of GPU-s.
    const levels = BIG_LEVELS;
    const big = BIG;
    const budgeted = { ...settings, maxGpuSeconds: 50 * T };
    const run = (maxEvaluations: number | null) =>
      runClosedLoopStudy(
        levels,
        big,
        { policy: { ...DEFAULT_CURVE_POLICY }, resume: null, maxEvaluations, seed: 7, finishRunningAtBudget: true },
        budgeted,
      );
    const bound = gpuBudgetEvaluations(budgeted, 1);
    assert.equal(bound, 50 * T + 1);
    const unbounded = run(null);
    const bounded = run(bound);
    const asked = (log: readonly TrialLog[]) => new Set(log.map((t) => t.config)).size;
    // Without evaluations left MADS stops on the minimum mesh (no restart) with most of the budget unspent.
    assert.equal(unbounded.trace.stopReason, 'MIN_MESH_SIZE_REACHED');
    assert.ok(gpu(unbounded.log) < budgeted.maxGpuSeconds);
    // With them it restarts and asks points the first descent never reached; the bound itself is never what ends it.
    assert.ok(asked(bounded.log) > asked(unbounded.log), `${asked(bounded.log)} vs ${asked(unbounded.log)}`);
    assert.ok(bounded.trace.evaluations < bound);
    assert.notEqual(bounded.trace.stopReason, 'MAX_BB_EVAL');
  });

  it('with 4 trials in flight: the budget is exact, resumed results told as resumed, spending recorded as trials end', () => {
    const told: EvaluationResult[] = [];
    const { log, trace } = runClosedLoopStudy(
      LEVELS,
      curves,
      {
        policy: { ...DEFAULT_CURVE_POLICY },
        resume: serviceResume(DEFAULT_CURVE_POLICY, 3),
        maxEvaluations: BUDGET,
        seed: 7,
        inFlight: 4,
        onTell: (r) => told.push(r),
      },
      settings,
    );
    assert.equal(trace.evaluations, BUDGET);
    assert.equal(fresh(log).length, BUDGET);
    assert.equal(told.filter((r) => r.resumed !== true).length, BUDGET);
    assert.equal(told.filter((r) => r.resumed === true).length, log.length - BUDGET);
    // In order of ending: the study's spending never goes back, and ends at the sum of the entries.
    const at = log.map((t) => t.spentAtEnd!);
    assert.ok(at.every((v, i) => i === 0 || v >= at[i - 1]));
    assert.equal(at[at.length - 1], gpu(log));
    // Trials overlap: the first result is told after more than one trial's steps were spent.
    assert.ok(at[0] > log[0].steps);
  });

  it('revive (the service rule): stopped trials are taken up again at restarts, at most one per restart, budget exact', () => {
    const told: EvaluationResult[] = [];
    const maxEvaluations = 100;
    const run = (revive: boolean) =>
      runClosedLoopStudy(
        BIG_LEVELS,
        BIG,
        {
          policy: { ...DEFAULT_CURVE_POLICY },
          resume: null,
          revive,
          maxEvaluations,
          seed: 3,
          onTell: revive ? (r) => told.push(r) : undefined,
        },
        settings,
      );
    const off = run(false);
    const on = run(true);
    assert.ok(off.trace.restarts > 0, 'the grid is small enough for MADS to restart on the minimum mesh');
    assert.equal(off.trace.resumed, 0);
    assert.ok(on.trace.resumed > 0, 'a stopped trial was taken up again');
    // A study budgeted in evaluations alone takes stopped trials up only at restarts (not at its end).
    assert.ok(on.trace.resumed <= on.trace.restarts, `${on.trace.resumed} take-ups, ${on.trace.restarts} restarts`);
    // The budget counts each point once: fresh trials are the evaluations, revived ones are told as resumed.
    assert.equal(fresh(on.log).length, on.trace.evaluations);
    assert.ok(on.trace.evaluations <= maxEvaluations);
    assert.equal(told.filter((r) => r.resumed !== true).length, on.trace.evaluations);
    assert.equal(told.filter((r) => r.resumed === true).length, on.trace.resumed);
    // A revived trial runs on from its last step: the entries after its stop add only the remaining steps.
    for (const t of on.log.filter((entry) => entry.resumed === true)) assert.ok(t.steps < T);
  });

  it('revive with a GPU budget left takes the stopped trials up again once the engine has nothing left to ask', () => {
    const run = (revive: boolean) =>
      runClosedLoopStudy(
        BIG_LEVELS,
        BIG,
        {
          policy: { ...DEFAULT_CURVE_POLICY },
          resume: null,
          revive,
          maxEvaluations: 40,
          seed: 3,
          finishRunningAtBudget: true,
        },
        { ...settings, maxGpuSeconds: 400 },
      );
    const off = run(false);
    const on = run(true);
    const stops = off.log.filter((t) => t.state === 'pruned').length;
    assert.ok(stops > 0);
    assert.equal(off.trace.resumed, 0);
    assert.ok(
      on.trace.resumed > on.trace.restarts,
      'beyond the restarts, the end of the engine took stopped trials up',
    );
    assert.ok(gpu(on.log) > gpu(off.log));
  });

  it('is deterministic: the same problem and seed give the same study', () => {
    const options = { policy: { ...DEFAULT_CURVE_POLICY }, resume: serviceResume(DEFAULT_CURVE_POLICY, 3) };
    assert.deepEqual(study(options).log, study(options).log);
  });
});
