import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_CURVE_POLICY,
  DEFAULT_MEDIAN_POLICY,
  DEFAULT_RESUME_OPTIONS,
  parseStoppingPolicy,
} from './stopping-policy';

test('missing parameters take their defaults', () => {
  assert.deepEqual(parseStoppingPolicy({ kind: 'curve' }), {
    ok: true,
    policy: { ...DEFAULT_CURVE_POLICY, resume: null },
  });
  assert.deepEqual(parseStoppingPolicy({ kind: 'median' }), { ok: true, policy: { ...DEFAULT_MEDIAN_POLICY } });
  assert.deepEqual(parseStoppingPolicy({ kind: 'none' }), { ok: true, policy: { kind: 'none' } });
});

test('given parameters are kept', () => {
  const result = parseStoppingPolicy({ kind: 'curve', confidence: 0.99, minProgress: 0.3, calibrationTrials: 8 });
  assert.deepEqual(result, {
    ok: true,
    policy: { ...DEFAULT_CURVE_POLICY, confidence: 0.99, minProgress: 0.3, calibrationTrials: 8, resume: null },
  });
  const median = parseStoppingPolicy({ kind: 'median', nStartupTrials: 0, nWarmupSteps: 10, intervalSteps: 5 });
  assert.deepEqual(median, {
    ok: true,
    policy: { kind: 'median', nStartupTrials: 0, nWarmupSteps: 10, intervalSteps: 5 },
  });
});

test('every bad field is named, with the policy prefix', () => {
  const result = parseStoppingPolicy(
    { kind: 'curve', confidence: 1, minProgress: -0.1, calibrationTrials: 2.5, minPoints: '4', extra: true },
    'stopping',
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(result.errors.map((e) => e.field).sort(), [
    'stopping.calibrationTrials',
    'stopping.confidence',
    'stopping.extra',
    'stopping.minPoints',
    'stopping.minProgress',
  ]);
  assert.match(result.errors.find((e) => e.field === 'stopping.confidence')!.reason, /< 1/);
});

test('boundaries: confidence and minProgress are open intervals, calibrationTrials at least 2', () => {
  for (const bad of [
    { confidence: 0.5 },
    { minProgress: 1 },
    { minProgress: 0 },
    { calibrationTrials: 1 },
    { minPoints: 2 },
  ]) {
    const result = parseStoppingPolicy({ kind: 'curve', ...bad });
    assert.equal(result.ok, false, JSON.stringify(bad));
  }
  assert.equal(parseStoppingPolicy({ kind: 'curve', confidence: 0.5001, minProgress: 0.999 }).ok, true);
  assert.equal(parseStoppingPolicy({ kind: 'median', intervalSteps: 0 }).ok, false);
  assert.equal(parseStoppingPolicy({ kind: 'median', nStartupTrials: Number.NaN }).ok, false);
});

test('kind and shape errors', () => {
  assert.deepEqual(parseStoppingPolicy({ kind: 'hyperband' }), {
    ok: false,
    errors: [{ field: 'earlyStopping.kind', reason: 'must be one of none, median, curve' }],
  });
  assert.deepEqual(parseStoppingPolicy(null), {
    ok: false,
    errors: [{ field: 'earlyStopping', reason: 'must be an object' }],
  });
  assert.deepEqual(parseStoppingPolicy([]), {
    ok: false,
    errors: [{ field: 'earlyStopping', reason: 'must be an object' }],
  });
  // Parameters of another policy are not silently ignored.
  const crossed = parseStoppingPolicy({ kind: 'none', confidence: 0.9 });
  assert.deepEqual(crossed, {
    ok: false,
    errors: [{ field: 'earlyStopping.confidence', reason: "is not a parameter of the 'none' policy" }],
  });
});

test('resume: off by default, on when given for a study with checkpoints, bad values are named', () => {
  const absent = parseStoppingPolicy({ kind: 'curve' }, 'earlyStopping', { checkpointed: true });
  assert.deepEqual(absent, { ok: true, policy: { ...DEFAULT_CURVE_POLICY, resume: null } });
  const on = parseStoppingPolicy({ kind: 'curve', resume: {} }, 'earlyStopping', { checkpointed: true });
  assert.deepEqual(on, { ok: true, policy: { ...DEFAULT_CURVE_POLICY, resume: { ...DEFAULT_RESUME_OPTIONS } } });
  const given = parseStoppingPolicy({ kind: 'curve', resume: { afterTrialsWithoutImprovement: 8 } }, 'earlyStopping', {
    checkpointed: true,
  });
  assert.deepEqual(given, {
    ok: true,
    policy: { ...DEFAULT_CURVE_POLICY, resume: { afterTrialsWithoutImprovement: 8 } },
  });
  const off = parseStoppingPolicy({ kind: 'curve', resume: null });
  assert.deepEqual(off, { ok: true, policy: { ...DEFAULT_CURVE_POLICY, resume: null } });
  for (const [resume, field, checkpointed] of [
    [{ afterTrialsWithoutImprovement: 0 }, 'earlyStopping.resume.afterTrialsWithoutImprovement', true],
    [{ afterTrialsWithoutImprovement: 2.5 }, 'earlyStopping.resume.afterTrialsWithoutImprovement', true],
    [{ after: 3 }, 'earlyStopping.resume.after', true],
    [true, 'earlyStopping.resume', true],
    ['5', 'earlyStopping.resume', true],
    // Without checkpoints a resume would rerun the whole trial: refused, naming the field.
    [{}, 'earlyStopping.resume', false],
  ] as const) {
    const result = parseStoppingPolicy({ kind: 'curve', resume }, 'earlyStopping', { checkpointed });
    assert.equal(result.ok, false);
    if (!result.ok)
      assert.deepEqual(
        result.errors.map((error) => error.field),
        [field],
      );
  }
  // Only the curve policy pauses.
  const median = parseStoppingPolicy({ kind: 'median', resume: null });
  assert.equal(median.ok, false);
});

// Finding 25: the unknown-parameter checks used `in`, true of every inherited name.
test('a parameter named like an inherited property of an object is unknown, for every kind and in resume', () => {
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    for (const kind of ['none', 'median', 'curve']) {
      const result = parseStoppingPolicy(JSON.parse(`{"kind": "${kind}", ${JSON.stringify(name)}: 1}`));
      assert.equal(result.ok, false, `${kind} ${name}`);
      assert.ok(
        !result.ok && result.errors.some((error) => error.field === `earlyStopping.${name}`),
        `${kind} ${name}`,
      );
    }
    const resume = parseStoppingPolicy(
      JSON.parse(`{"kind": "curve", "resume": {${JSON.stringify(name)}: 1}}`),
      undefined,
      {
        checkpointed: true,
      },
    );
    assert.ok(!resume.ok && resume.errors.some((error) => error.field === `earlyStopping.resume.${name}`), name);
  }
});

test('revive: off when absent, on for a study with checkpoints, bad values and no checkpoints are named', () => {
  const absent = parseStoppingPolicy({ kind: 'curve' });
  assert.equal(absent.ok && absent.policy.kind === 'curve' ? absent.policy.revive : 'failed', undefined);
  const on = parseStoppingPolicy({ kind: 'curve', revive: true }, 'earlyStopping', { checkpointed: true });
  assert.deepEqual(on, { ok: true, policy: { ...DEFAULT_CURVE_POLICY, resume: null, revive: true } });
  const off = parseStoppingPolicy({ kind: 'curve', revive: false });
  assert.deepEqual(off, { ok: true, policy: { ...DEFAULT_CURVE_POLICY, resume: null, revive: false } });
  for (const bad of ['true', 1, null, {}]) {
    const parsed = parseStoppingPolicy({ kind: 'curve', revive: bad }, 'earlyStopping', { checkpointed: true });
    assert.deepEqual(parsed, { ok: false, errors: [{ field: 'earlyStopping.revive', reason: 'must be a boolean' }] });
  }
  const unchecked = parseStoppingPolicy({ kind: 'curve', revive: true });
  assert.equal(unchecked.ok, false);
  assert.equal(!unchecked.ok && unchecked.errors[0].field, 'earlyStopping.revive');
  const median = parseStoppingPolicy({ kind: 'median', revive: true }, 'earlyStopping', { checkpointed: true });
  assert.equal(!median.ok && median.errors[0].field, 'earlyStopping.revive');
});
