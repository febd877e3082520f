import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oracleRatio } from './stop-oracle';

test('perfect stops: protected and improving trials run to the end, the others stop after ⌈f·steps⌉', () => {
  // Final values (last point) of 5 configurations of 10 steps; the sequence is 0..4.
  const finals = [5, 4, 6, 7, 3];
  const curves = finals.map((f) => Array.from({ length: 10 }, (_, i) => f + (9 - i)));
  const study = { tab: { curves, sequence: [0, 1, 2, 3, 4] } as never, steps: 10, fullStudyTrials: 5 };
  // Without stopping the target (3, the 5th trial) costs 50 steps.
  // k = 1: 0 runs (10), 1 improves (10), 2 and 3 stop after 2 steps each, 4 improves (10): 34.
  assert.equal(oracleRatio(study, 1, 0.2), 34 / 50);
  // k = 3: 0, 1, 2 run (30), 3 stops after 1 step, 4 runs (10): 41.
  assert.equal(oracleRatio(study, 3, 0.1), 41 / 50);
});
