import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bestFraction,
  bestSoFar,
  bestTrial,
  compareCells,
  defaultMetric,
  evaluations,
  isFeasible,
  x0Value,
} from '../../api/src/dashboard/web/src/analysis';
import type { Study, Trial } from '../../api/src/dashboard/web/src/types';

function study(goal: 'minimize' | 'maximize'): Pick<Study, 'outputs'> {
  return {
    outputs: [
      { name: 'f', type: 'objective', goal },
      { name: 'c', type: 'constraint_pb' },
      { name: 'e', type: 'extra' },
    ],
  };
}

function trial(number: number, status: Trial['status'], f?: number, c = -1, origin: Trial['origin'] = 'poll'): Trial {
  const finishedAt =
    status === 'completed' || status === 'failed' ? new Date(Date.UTC(2026, 0, 1, 0, 0, number)).toISOString() : null;
  return {
    id: `t${number}`,
    studyId: 's',
    number,
    status,
    origin,
    parameters: { x: number },
    attempt: 1,
    runnerId: null,
    progress: null,
    outputs: status === 'completed' ? { f: f as number, c } : null,
    error: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt,
    lastHeartbeatAt: null,
    // Not told yet: the dashboard falls back to its own reading of the outputs.
    feasible: null,
    leaseExpiresAt: null,
    point: [number],
    runnerFailures: 0,
    stopReason: null,
    resumes: 0,
    earlyStop: null,
    gpuSeconds: null,
    effectiveConfig: null,
    adapter: null,
    minGpuMemoryMb: null,
  };
}

describe('dashboard analysis', () => {
  const trials = [
    trial(1, 'completed', 5, -1, 'x0'),
    trial(2, 'completed', 1, 2),
    trial(3, 'failed'),
    trial(4, 'completed', 3),
    trial(5, 'running'),
    trial(6, 'completed', 4),
  ];

  it('counts completed and failed trials as evaluations, in finishing order, feasible when every constraint is ≤ 0', () => {
    const shuffled = [trials[3], trials[0], trials[5], trials[1], trials[4], trials[2]];
    const points = evaluations(study('minimize'), shuffled);
    assert.deepEqual(
      points.map((point) => [point.evaluation, point.trial.number, point.value, point.feasible]),
      [
        [1, 1, 5, true],
        [2, 2, 1, false],
        [3, 3, null, false],
        [4, 4, 3, true],
        [5, 6, 4, true],
      ],
    );
    assert.equal(isFeasible(study('minimize'), { outputs: { f: 1, c: 0 }, feasible: null }), true);
    assert.equal(
      isFeasible(study('minimize'), { outputs: { f: 1 }, feasible: null }),
      false,
      'a missing constraint is not satisfied',
    );
    assert.equal(
      isFeasible(study('minimize'), { outputs: { f: 1, c: 5e-14 }, feasible: true }),
      true,
      "the API's reading (NOMAD's 1e-13 rule) wins over the dashboard's own",
    );
    assert.equal(isFeasible(study('minimize'), { outputs: { f: 1, c: 0 }, feasible: false }), false);
  });

  it('tracks the best feasible value so far for either direction', () => {
    assert.deepEqual(bestSoFar('minimize', evaluations(study('minimize'), trials)), [
      [1, 5],
      [2, 5],
      [3, 5],
      [4, 3],
      [5, 3],
    ]);
    assert.deepEqual(bestSoFar('maximize', evaluations(study('maximize'), trials)), [
      [1, 5],
      [2, 5],
      [3, 5],
      [4, 5],
      [5, 5],
    ]);
    assert.equal(bestTrial(study('minimize'), trials)?.number, 4, 'the infeasible 1 does not count');
    assert.equal(bestTrial(study('maximize'), trials)?.number, 1, 'maximize: largest');
    assert.equal(bestTrial(study('minimize'), [trial(1, 'completed', 1, 3)]), null);
    assert.equal(x0Value(study('minimize'), trials), 5);
  });

  it('keeps the best fraction, feasible first, at least one', () => {
    const ranked = (goal: 'minimize' | 'maximize', fraction: number): number[] =>
      bestFraction(study(goal), trials, fraction).map((point) => point.trial.number);
    assert.deepEqual(ranked('minimize', 1), [4, 6, 1, 2]);
    assert.deepEqual(ranked('maximize', 1), [1, 6, 4, 2]);
    assert.deepEqual(ranked('minimize', 0.5), [4, 6]);
    assert.deepEqual(ranked('minimize', 0.1), [4]);
    assert.deepEqual(bestFraction(study('minimize'), [], 0.5), []);
  });

  it('sorts table cells numerically, missing values last', () => {
    assert.deepEqual([10, null, 9, 100].sort(compareCells), [9, 10, 100, null]);
    assert.deepEqual(['trial 10', 'trial 9'].sort(compareCells), ['trial 9', 'trial 10']);
  });

  it('shows first the metric the study is judged on, when a trial reported it', () => {
    const names = ['eval_runtime', 'f', 'learning_rate', 'train_loss', 'val_loss'];
    const judged = { ...study('minimize'), trainingConfig: { metric: 'val_loss' } };
    assert.equal(defaultMetric(judged, names), 'f'); // the objective's own name first
    assert.equal(
      defaultMetric(
        judged,
        names.filter((name) => name !== 'f'),
      ),
      'val_loss',
    ); // then trainingConfig.metric
    assert.equal(
      defaultMetric({ ...study('minimize'), trainingConfig: {} }, ['learning_rate', 'train_loss']),
      'learning_rate',
    );
    assert.equal(defaultMetric({ ...study('maximize'), trainingConfig: { metric: 7 } }, []), '');
  });
});
