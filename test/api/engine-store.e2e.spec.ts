import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { DataSource } from 'typeorm';
import {
  chooseResume,
  createCalibrationCache,
  DEFAULT_CURVE_POLICY,
  type CompletedCurve,
  type PausedTrial,
} from '../../api/src/early-stopping';
import { MetricsService } from '../../api/src/metrics/metrics.service';
import { EngineHost } from '../../api/src/engine/engine-host';
import type { EngineCall } from '../../api/src/engine/engine-host-protocol';
import { EngineStore } from '../../api/src/engine/engine-store';
import {
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/** Leases and completes `count` trials one at a time (loss = x² + y²). */
async function evaluate(test: TestServer, runner: TestRunner, studyId: string, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const leased = expectStatus(await lease(test, runner, studyId), 200).body;
    const { x, y } = leased.trial.parameters as { x: number; y: number };
    expectStatus(
      await report(test, runner, String(leased.trial.id), 'complete', { outputs: { loss: x * x + y * y } }),
      200,
    );
  }
}

describe('engine store: snapshot + engine events, engines cached per process', () => {
  let test: TestServer;
  let userKey: string;
  let runner: TestRunner;
  /** What another API process would have: its own, empty engine cache on the same database. */
  let otherProcess: EngineStore;
  let otherHost: EngineHost;
  const state = (store: EngineStore, studyId: string): Promise<string> => store.state(studyId);

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runner = await registerRunner(test, await createKey(test, 'runner'));
    otherHost = new EngineHost(1);
    otherProcess = new EngineStore(test.get(DataSource), new MetricsService(test.get(DataSource)), otherHost);
  });
  after(async () => {
    await otherHost.close();
    await test.close();
  });

  it('rebuilds the engine elsewhere from the snapshot and the calls since, and catches up on calls made elsewhere', async () => {
    const studyId = String(
      (await createStudy(test, userKey, quadraticStudy({ algorithm: { name: 'mads', seed: 3 } }))).id,
    );
    await evaluate(test, runner, studyId, 6);
    const here = test.get(EngineStore);
    assert.equal(await state(otherProcess, studyId), await state(here, studyId));

    // The other process asks a point: this process's cached engine is now one call behind.
    const askedThere = await otherProcess.withLockedStudy(studyId, async (_manager, _study, engine) =>
      (await engine()).ask(1),
    );
    assert.equal(askedThere.length, 1);
    const caughtUp = await here.withLockedStudy(studyId, async (_manager, _study, engine) => (await engine()).state());
    assert.equal(caughtUp, await state(otherProcess, studyId));
    const { engine_version: version } = (
      await test.get(DataSource).query('SELECT engine_version FROM studies WHERE id = $1', [studyId])
    )[0] as { engine_version: number };
    const events = (await test
      .get(DataSource)
      .query('SELECT version, operation FROM engine_events WHERE study_id = $1 ORDER BY version DESC LIMIT 1', [
        studyId,
      ])) as { version: number; operation: { op: string; k: number } }[];
    assert.deepEqual(events[0], { version, operation: { op: 'ask', k: 1 } });
  });

  it('writes a new snapshot once enough calls piled up and keeps the events since the previous one only', async () => {
    const studyId = String((await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 500 } }))).id);
    await evaluate(test, runner, studyId, 90);
    const db = test.get(DataSource);
    const [study] = (await db.query('SELECT engine_version, engine_snapshot_version FROM studies WHERE id = $1', [
      studyId,
    ])) as { engine_version: number; engine_snapshot_version: number }[];
    const versions = (
      (await db.query('SELECT version FROM engine_events WHERE study_id = $1 ORDER BY version', [studyId])) as {
        version: number;
      }[]
    ).map((row) => row.version);
    // 90 asks and 90 tells: snapshots every 64 calls at this size, at versions 64 and 128 or later.
    assert.ok(study.engine_snapshot_version >= 128, `snapshot at ${study.engine_snapshot_version}`);
    assert.ok(versions[0] > 64, `events from ${versions[0]} on (those up to the previous snapshot are gone)`);
    assert.equal(versions.at(-1), study.engine_version);
    assert.deepEqual(
      versions,
      Array.from({ length: versions.length }, (_, i) => versions[0] + i),
      'the events are contiguous',
    );
    assert.equal(await state(otherProcess, studyId), await state(test.get(EngineStore), studyId));
  });

  it('hands the engine from call to call in one process: the next holder of the row lock waits for it, never rebuilds', async () => {
    const studyId = String((await createStudy(test, userKey, quadraticStudy())).id);
    await evaluate(test, runner, studyId, 2);
    // A process whose commits are answered late: the next call gets the study row lock (released
    // at the commit) 50 ms before the previous call learns that its commit went through.
    const dataSource = test.get(DataSource);
    const lateCommits = new Proxy(dataSource, {
      get(target, property) {
        if (property !== 'transaction') return Reflect.get(target, property, target) as unknown;
        return async (...args: unknown[]) => {
          const result = await (target.transaction as (...a: unknown[]) => Promise<unknown>)(...args);
          await new Promise((resolveWait) => setTimeout(resolveWait, 50));
          return result;
        };
      },
    });
    const metrics = new MetricsService(dataSource);
    const host = new EngineHost(1);
    after(() => host.close());
    const store = new EngineStore(lateCommits, metrics, host);
    const askOne = (): Promise<unknown> =>
      store.withLockedStudy(studyId, async (_manager, _study, engine) => (await engine()).ask(1));
    await askOne(); // the first use in this "process" builds the engine from the snapshot
    const rebuilds = async (): Promise<number> => (await metrics.engineRebuilds.get()).values[0]?.value ?? 0;
    assert.equal(await rebuilds(), 1);
    await Promise.all([askOne(), askOne(), askOne()]);
    assert.equal(await rebuilds(), 1, 'each call took the engine the previous one put back');
    assert.equal(await state(store, studyId), await state(otherProcess, studyId));
  });

  it('never builds on an engine a rolled-back session changed, even at the version a later commit has', async () => {
    const studyId = String(
      (await createStudy(test, userKey, quadraticStudy({ algorithm: { name: 'mads', seed: 5 } }))).id,
    );
    await evaluate(test, runner, studyId, 3);
    const here = test.get(EngineStore);
    await state(here, studyId); // this process's host holds the committed engine
    await assert.rejects(
      here.withLockedStudy(studyId, async (_manager, _study, engine) => {
        await (await engine()).ask(3);
        throw new Error('rolled back after the ask');
      }),
      /rolled back after the ask/,
    );
    // Another process then commits one different call: the study is at the version the
    // rolled-back session had left this host's engine at, with another state.
    await otherProcess.withLockedStudy(studyId, async (_manager, _study, engine) => (await engine()).ask(1));
    assert.equal(await state(here, studyId), await state(otherProcess, studyId));
    const askedHere = await here.withLockedStudy(studyId, async (_manager, _study, engine) => (await engine()).ask(1));
    assert.equal(askedHere.length, 1);
    assert.equal(await state(here, studyId), await state(otherProcess, studyId));
  });

  it('gives the same engine with several host threads, whichever thread a call lands on', async () => {
    const studyId = String(
      (await createStudy(test, userKey, quadraticStudy({ algorithm: { name: 'mads', seed: 9 } }))).id,
    );
    await evaluate(test, runner, studyId, 4);
    const host = new EngineHost(2);
    after(() => host.close());
    const store = new EngineStore(test.get(DataSource), new MetricsService(test.get(DataSource)), host);
    // Reads keep both threads busy while the asks (serialised by the row lock) land on either.
    for (let round = 0; round < 4; round += 1) {
      await Promise.all([
        store.withLockedStudy(studyId, async (_manager, _study, engine) => (await engine()).ask(1)),
        store.state(studyId),
        store.read(studyId),
        store.withLockedStudy(studyId, async (_manager, _study, engine) => (await engine()).ask(1)),
      ]);
    }
    assert.equal(await state(store, studyId), await state(otherProcess, studyId));
  });

  it('runs engine commands in the engine host thread: the event loop serves others while one is in flight', async () => {
    const studyId = String((await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 500 } }))).id);
    await evaluate(test, runner, studyId, 40);
    const host = new EngineHost(1);
    after(() => host.close());
    assert.notEqual(await host.threadId(), threadId, 'the engine host is another thread than the event loop');
    // A canary queued on the event loop as the cold rebuild (the snapshot and every operation
    // since) leaves for the host thread. Were the rebuild run on the event loop (as before the
    // engine host), it would be over before the canary could run; here the canary runs while the
    // rebuild is being worked on in the other thread.
    const served: boolean[] = [];
    const call = host.call.bind(host);
    host.call = async (task: EngineCall, project: string) => {
      if (task.restore === undefined) return call(task, project);
      let canaryServed = false;
      setImmediate(() => (canaryServed = true));
      const reply = await call(task, project);
      served.push(canaryServed);
      return reply;
    };
    const store = new EngineStore(test.get(DataSource), new MetricsService(test.get(DataSource)), host);
    assert.equal(await state(store, studyId), await state(test.get(EngineStore), studyId));
    assert.deepEqual(served, [true], 'one rebuild, with the canary served before it was over');
  });

  it('chooses the paused trial to resume in the engine host thread, as chooseResume does', async () => {
    // Curves of a loss decaying to its final value: 6 completed runs calibrate the policy, 40
    // paused trials at a quarter of their run are the candidates.
    const curve = (final: number, upTo: number): { step: number; value: number }[] =>
      Array.from({ length: upTo / 4 }, (_, index) => {
        const step = (index + 1) * 4;
        return { step, value: final + 2 * Math.exp(-step / 20) };
      });
    const completed: CompletedCurve[] = [1, 1.2, 1.5, 2, 2.5, 3].map((final) => ({
      points: curve(final, 100),
      totalSteps: 100,
      finalValue: final,
    }));
    const paused: PausedTrial<string>[] = Array.from({ length: 40 }, (_, index) => ({
      id: `t${index}`,
      points: curve(1 + (index % 10) * 0.3, 24),
      totalSteps: 100,
    }));
    const context = { threshold: 1.1, completed, stopped: [] };
    const host = new EngineHost(1);
    after(() => host.close());
    // Were the choice made on the event loop, it would be over before the canary could run.
    let canaryServed = false;
    setImmediate(() => (canaryServed = true));
    const choice = await host.chooseResume(paused, context, DEFAULT_CURVE_POLICY, 'project');
    assert.equal(canaryServed, true, 'the event loop ran the canary while the host thread chose');
    assert.deepEqual(choice, chooseResume(paused, context, DEFAULT_CURVE_POLICY, createCalibrationCache()));
    assert.notEqual(choice.resume, null);
  });
});
