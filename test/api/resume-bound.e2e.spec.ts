import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import {
  chooseResume,
  MAX_FITTED_CURVE_POINTS,
  resumeScore,
  storedCurve,
  thinCurve,
  type PausedTrial,
} from '../../api/src/early-stopping';
import { EngineHost } from '../../api/src/engine/engine-host';
import { thinnedCurveJson } from '../../api/src/trials/store/trial-store';
import { expectStatus, lease, registerRunner, report, type TestRunner } from '../support/api-client';
import { createFleet, fleetStudy, type Fleet } from '../support/runner-fleet';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * The work of one resume choice is bounded whatever a study paused (docs/reliability.md,
 * finding 48): each pause stores its `resumeScore`, a resume reads the lowest and fits no curve
 * (the engine host is asked only about trials paused before scores were stored, their curves
 * thinned in SQL as thinCurve thins them), and the trial resumed is the one `chooseResume` would
 * pick after fitting every paused curve.
 */
describe('resume choice: bounded work per resume', () => {
  let test: TestServer;
  let db: DataSource;
  let fleet: Fleet;
  /** Each test's own runner: a failed test leaves its leases to itself. */
  let runner: TestRunner;
  let runners = 0;
  before(async () => {
    test = await startTestServer();
    db = test.get(DataSource);
    fleet = await createFleet(test, 'resume-bound');
  });
  beforeEach(async () => {
    runners += 1;
    runner = await registerRunner(test, fleet.runnerKey, `r${runners}`, { maxConcurrentTrials: 8 });
  });
  after(async () => test.close());

  /** A study of the curve policy with resume on, its objective minimised or maximised. */
  const pausingStudy = (goal: 'minimize' | 'maximize', paused: number) =>
    fleetStudy(test, fleet, {
      name: `paused ${goal}`,
      parameters: [
        { name: 'x', type: 'real', lower: -5, upper: 5 },
        { name: 'y', type: 'real', lower: -5, upper: 5 },
      ],
      outputs: [{ name: 'val_loss', type: 'objective', goal }],
      budget: { maxEvaluations: paused + 1, maxParallelTrials: 8, leaseSeconds: 600 },
      trainingConfig: { checkpointSteps: 5 },
      earlyStopping: { kind: 'curve', resume: {} },
    });

  /**
   * Paused trials as the service leaves them (pause told, runner kept), one per curve, paused in
   * `curves`' order; the study's budget then counts as spent, so that its next lease resumes one.
   */
  async function seedPaused(
    studyId: string,
    curves: number[][],
    totalSteps: number,
    sign: number,
    scored: (index: number) => boolean,
  ): Promise<string[]> {
    const ids: string[] = [];
    for (const [index, values] of curves.entries()) {
      // The score a pause stores: resumeScore of the curve it was paused with, thinned and minimised.
      const points = storedCurve(
        values.map((value, step) => [step + 1, value]),
        sign,
        true,
      );
      const score = values.length > 0 && scored(index) ? resumeScore({ points, totalSteps }) : null;
      const [{ id }] = (await db.query(
        `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, told,
                evaluation_number, stop_reason, total_steps, runner_id, started_at, finished_at, resume_score)
         VALUES ($1, $2::int, 'paused', 'random', jsonb_build_array($2::int * 1e-6, 0), 'p' || $2::int,
                 jsonb_build_object('x', $2::int * 1e-6, 'y', 0), 1, true, $2::int, 'early_stopped', $3, $4, now(),
                 now() + make_interval(secs => $2::int), $5)
         RETURNING id`,
        [studyId, index + 1, totalSteps, runner.id, score],
      )) as { id: string }[];
      if (values.length > 0) {
        await db.query(
          `INSERT INTO trial_metrics (trial_id, name, step, value)
           SELECT $1, 'val_loss', s.step, v FROM unnest($2::float8[]) WITH ORDINALITY AS s(v, step)`,
          [id, values],
        );
      }
      ids.push(id);
    }
    await db.query('UPDATE studies SET evaluation_count = max_evaluations, next_trial_number = $2 WHERE id = $1', [
      studyId,
      curves.length + 1,
    ]);
    return ids;
  }

  /** Every paused trial of the study with its whole curve, oldest pause first (what the choice saw before the bound). */
  async function allPaused(studyId: string, sign: number): Promise<PausedTrial<string>[]> {
    const rows = (await db.query(
      `SELECT t.id, t.total_steps,
              (SELECT json_agg(json_build_array(m.step, m.value) ORDER BY m.step)
                 FROM trial_metrics m WHERE m.trial_id = t.id AND m.name = 'val_loss') AS points
         FROM trials t WHERE t.study_id = $1 AND t.status = 'paused' ORDER BY t.finished_at, t.number`,
      [studyId],
    )) as { id: string; total_steps: number; points: [number, number][] | null }[];
    return rows.map((row) => ({
      id: row.id,
      points: storedCurve(row.points ?? [], sign, true),
      totalSteps: row.total_steps,
    }));
  }

  it('thins a curve in SQL to exactly the points thinCurve keeps, at every length', async () => {
    const sqlThinned = async (lengths: number[]): Promise<Map<number, number[]>> => {
      const rows = (await db.query(
        `SELECT n, ${thinnedCurveJson('SELECT s AS step, s * 0.5 AS value FROM generate_series(1, n) s', '$2::int')} AS points
           FROM unnest($1::int[]) AS n`,
        [lengths, MAX_FITTED_CURVE_POINTS],
      )) as { n: number; points: [number, number][] }[];
      return new Map(rows.map((row) => [row.n, row.points.map(([step]) => step)]));
    };
    const expected = (n: number): number[] =>
      thinCurve(
        Array.from({ length: n }, (_, index) => ({ step: index + 1, value: (index + 1) * 0.5 })),
        MAX_FITTED_CURVE_POINTS,
      ).map((point) => point.step);
    // Every length up to 400 (the first hundreds hold every spacing of a pick), then a sample to 10,000.
    const short = Array.from({ length: 400 }, (_, index) => index + 1);
    const thinned = await sqlThinned(short);
    for (const n of short) assert.deepEqual(thinned.get(n), expected(n), `length ${n}`);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 401, max: 10_000 }), { minLength: 1, maxLength: 8 }), async (ns) => {
        const sample = await sqlThinned(ns);
        for (const n of ns) assert.deepEqual(sample.get(n), expected(n), `length ${n}`);
      }),
      { numRuns: 25 },
    );
  });

  /** Records the engine host's resume choices (their paused trials) for the test's duration. */
  function spyOnHost(): PausedTrial<string>[][] {
    const host = test.get(EngineHost);
    const asked: PausedTrial<string>[][] = [];
    const original = host.chooseResume.bind(host);
    host.chooseResume = async (paused, context, policy, project) => {
      asked.push([...paused]);
      return original(paused, context, policy, project);
    };
    after(() => (host.chooseResume = original));
    return asked;
  }

  /** chooseResume over every paused trial of the study, their curves read whole: the choice before stored scores. */
  const choiceOverAll = async (studyId: string, sign: number): Promise<string | null> =>
    chooseResume(await allPaused(studyId, sign), { threshold: null, completed: [], stopped: [] }, null).resume;

  it('resumes what chooseResume over every paused curve picks, ties and unscored pauses included', async () => {
    const asked = spyOnHost();
    // Values from a few levels, so that scores tie; some trials without a curve, some paused before
    // scores were stored (null), some curves whose fit or values give no number.
    const curveArb = fc.oneof(
      { weight: 1, arbitrary: fc.constant([] as number[]) },
      {
        weight: 6,
        arbitrary: fc.array(fc.constantFrom(-1e308, -2, 0, 0.5, 1, 3, 1e308), { minLength: 1, maxLength: 5 }),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'minimize' | 'maximize'>('minimize', 'maximize'),
        fc.array(fc.tuple(curveArb, fc.boolean()), { minLength: 1, maxLength: 12 }),
        async (goal, trials) => {
          const sign = goal === 'maximize' ? -1 : 1;
          const studyId = await pausingStudy(goal, trials.length);
          await seedPaused(
            studyId,
            trials.map(([curve]) => curve),
            10,
            sign,
            (index) => trials[index][1],
          );
          const expected = await choiceOverAll(studyId, sign);
          asked.length = 0;
          const leased = await lease(test, runner, studyId);
          if (expected === null) {
            // Nothing to resume (no paused trial has a curve): the study ends.
            expectStatus(leased, 204);
          } else {
            assert.equal((expectStatus(leased, 200).body.trial as { id: string }).id, expected);
          }
          const unscored = trials.filter(([curve, scored]) => curve.length > 0 && !scored).length;
          // The host is asked only about the unscored pauses (with the lowest scored one), never about all.
          if (unscored === 0) assert.equal(asked.length, 0);
          else assert.ok(asked.every((paused) => paused.length <= unscored + 1));
          await db.query('DELETE FROM studies WHERE id = $1', [studyId]);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a resume among many paused trials of long curves fits no curve and reads one row', async () => {
    const asked = spyOnHost();
    for (const goal of ['minimize', 'maximize'] as const) {
      const sign = goal === 'maximize' ? -1 : 1;
      // 64 paused trials of 1,000 points, decaying to a level of their own.
      const count = 64;
      const curves = Array.from({ length: count }, (_, trial) =>
        Array.from(
          { length: 1000 },
          (_, step) =>
            sign * (1 + ((trial * 37) % count) / count + 3 / Math.sqrt(step + 1) + 0.001 * Math.sin(trial + step)),
        ),
      );
      const studyId = await pausingStudy(goal, count);
      await seedPaused(studyId, curves, 2000, sign, () => true);
      const expected = await choiceOverAll(studyId, sign);
      asked.length = 0;
      const leased = expectStatus(await lease(test, runner, studyId), 200).body.trial as { id: string };
      assert.equal(leased.id, expected);
      assert.deepEqual(asked, [], 'the engine host was asked to fit the paused curves');
      expectStatus(await report(test, runner, leased.id, 'release'), 200);
    }
  });

  it('a pause stores the resumeScore of the curve it was paused with', async () => {
    const studyId = await pausingStudy('minimize', 10);
    const beat = (trialId: string, step: number, value: number) =>
      report(test, runner, trialId, 'heartbeat', {
        progress: step / 100,
        metrics: [{ name: 'val_loss', step, value }],
      });
    // The first trial completes: the incumbent, and its curve the pause rule compares with.
    const first = (expectStatus(await lease(test, runner, studyId), 200).body.trial as { id: string }).id;
    for (let step = 5; step <= 100; step += 5) expectStatus(await beat(first, step, 1 + 3 / Math.sqrt(step)), 200);
    expectStatus(await report(test, runner, first, 'complete', { outputs: { val_loss: 1 + 3 / 10 } }), 200);
    // The second trial's curve stays above it: paused once past the policy's minimum progress.
    const second = (expectStatus(await lease(test, runner, studyId), 200).body.trial as { id: string }).id;
    let paused = false;
    for (let step = 5; step <= 100 && !paused; step += 5) {
      paused = expectStatus(await beat(second, step, 2 + 3 / Math.sqrt(step)), 200).body.shouldStop === true;
    }
    assert.ok(paused, 'the second trial was not paused');
    const [row] = (await db.query(
      `SELECT t.status, t.resume_score, t.total_steps,
              (SELECT json_agg(json_build_array(m.step, m.value) ORDER BY m.step)
                 FROM trial_metrics m WHERE m.trial_id = t.id AND m.name = 'val_loss') AS points
         FROM trials t WHERE t.id = $1`,
      [second],
    )) as { status: string; resume_score: number | null; total_steps: number; points: [number, number][] }[];
    assert.equal(row.status, 'paused');
    const points = storedCurve(row.points, 1, true);
    const totalSteps = Math.max(row.total_steps, points[points.length - 1].step);
    assert.equal(row.resume_score, resumeScore({ points, totalSteps }));
  });
  it('a resumed trial waits for the runner that paused it only while that runner could take it', async () => {
    // One paused trial, paused by `runner`; the study's budget spent, so the next lease resumes it
    // (held for `runner`, which keeps its checkpoint, for one lease time).
    const seedOne = async (): Promise<{ studyId: string; trialId: string }> => {
      const studyId = await pausingStudy('minimize', 1);
      const [trialId] = await seedPaused(studyId, [[3, 2, 1.5]], 10, 1, () => true);
      return { studyId, trialId };
    };
    runners += 1;
    const other = await registerRunner(test, fleet.runnerKey, `other${runners}`, { maxConcurrentTrials: 8 });

    // Healthy and not declining: another runner waits (nothing to lease), the pausing runner takes it.
    const held = await seedOne();
    expectStatus(await lease(test, other, held.studyId), 204);
    assert.equal(
      (expectStatus(await lease(test, runner, held.studyId), 200).body.trial as { id: string }).id,
      held.trialId,
    );

    // The pausing runner declined the study: the other runner takes the trial at once.
    const declined = await seedOne();
    await db.query(
      `INSERT INTO runner_study_declines (runner_id, study_id, reason, declined_at) VALUES ($1, $2, 'no data here', now())`,
      [runner.id, declined.studyId],
    );
    const afterDecline = expectStatus(await lease(test, other, declined.studyId), 200).body.trial as { id: string };
    assert.equal(afterDecline.id, declined.trialId);

    // The pausing runner is quarantined: the same.
    const quarantined = await seedOne();
    await db.query(`UPDATE runners SET quarantined_at = now(), quarantine_reason = 'test' WHERE id = $1`, [runner.id]);
    const afterQuarantine = expectStatus(await lease(test, other, quarantined.studyId), 200).body.trial as {
      id: string;
    };
    assert.equal(afterQuarantine.id, quarantined.trialId);
  });
});
