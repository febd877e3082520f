import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { DEFAULT_CURVE_POLICY, type CompletedCurve, type PausedTrial } from '../../api/src/early-stopping';
import { EngineHost } from '../../api/src/engine/engine-host';
import {
  createProject,
  createStudy,
  expectStatus,
  lease,
  projectKey,
  quadraticStudy,
  registerRunner,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';
import { until } from '../support/waiting';

/**
 * Class: one project's engine calls queued ahead of every other project's (docs/reliability.md,
 * finding 63). The API process runs every study's engine calls on one thread (EngineHost); a
 * project may have 10 requests in flight per process, each lease one or two engine calls. With
 * one first-come queue another project's lease waited behind all of them. Now the host queues
 * per project and starts them in turn: the other project's call waits for about one of A's.
 *
 * Counted, not timed: the host tells the test, as each call starts, how many calls started
 * while it waited. The thread is held busy first by one of A's own calls (a resume choice over
 * many paused curves, as study-resume.ts sends) so that A's leases are all queued when B's comes.
 */
const A_LEASES = 10;

/** A resume choice over `count` paused curves: a real engine call of seconds at 12,000 curves. */
function longResumeChoice(host: EngineHost, count: number, project: string): Promise<unknown> {
  const curve = (final: number, upTo: number): { step: number; value: number }[] =>
    Array.from({ length: upTo / 4 }, (_, index) => ({
      step: (index + 1) * 4,
      value: final + 2 * Math.exp(-index / 5),
    }));
  const completed: CompletedCurve[] = [1, 1.2, 1.5, 2, 2.5, 3].map((final) => ({
    points: curve(final, 100),
    totalSteps: 100,
    finalValue: final,
  }));
  const paused: PausedTrial<string>[] = Array.from({ length: count }, (_, index) => ({
    id: `t${index}`,
    points: curve(1 + (index % 10) * 0.3, 24),
    totalSteps: 100,
  }));
  return host.chooseResume(paused, { threshold: 1.1, completed, stopped: [] }, DEFAULT_CURVE_POLICY, project);
}

describe('engine host: one project cannot queue the engine thread ahead of another', () => {
  let test: TestServer;
  let host: EngineHost;
  let projectA: string;
  let projectB: string;
  const runnersA: TestRunner[] = [];
  const studiesA: string[] = [];
  let runnerB: TestRunner;
  let studyB: string;

  before(async () => {
    test = await startTestServer();
    host = test.get(EngineHost);
    projectA = await createProject(test, { name: 'busy' });
    projectB = await createProject(test, { name: 'bystander' });
    const userA = await projectKey(test, 'user', projectA);
    const userB = await projectKey(test, 'user', projectB);
    for (let index = 0; index < A_LEASES; index += 1) {
      runnersA.push(await registerRunner(test, await projectKey(test, 'runner', projectA), `a${index}`));
      studiesA.push(String((await createStudy(test, userA, { ...quadraticStudy(), projectId: projectA })).id));
    }
    runnerB = await registerRunner(test, await projectKey(test, 'runner', projectB), 'b');
    studyB = String((await createStudy(test, userB, { ...quadraticStudy(), projectId: projectB })).id);
  });
  after(async () => {
    host.onStart = null;
    await test.close();
  });

  it("another project's lease waits for about one of A's engine calls, not for A's queue", async () => {
    // B alone, for reference: its lease's engine calls find the thread free.
    const aloneStarted = performance.now();
    expectStatus(await lease(test, runnerB, studyB), 200);
    const aloneMs = performance.now() - aloneStarted;

    const started: { project: string; ahead: number }[] = [];
    host.onStart = (project, ahead) => started.push({ project, ahead });
    const blocker = longResumeChoice(host, 12_000, projectA).then(() => performance.now());
    await until(() => started.length === 1, 'the first call of A to start');
    const leasesA = studiesA.map((studyId, index) => lease(test, runnersA[index], studyId).then((r) => r));
    await until(() => host.queued >= A_LEASES, `${A_LEASES} calls of A queued`, 20_000);
    const busyStarted = performance.now();
    const leaseB: Promise<Response> = lease(test, runnerB, studyB).then((r) => r);
    const answerB = await leaseB;
    const answeredB = performance.now();
    const busyMs = answeredB - busyStarted;
    expectStatus(answerB, 200);
    const answersA = await Promise.all(leasesA);
    const afterBlockerMs = answeredB - (await blocker);
    host.onStart = null;
    for (const answer of answersA) expectStatus(answer, 200);

    const callsB = started.filter((call) => call.project === projectB);
    const callsA = started.filter((call) => call.project === projectA);
    const mostAhead = Math.max(...callsB.map((call) => call.ahead));
    const diagnosis = `B alone ${aloneMs.toFixed(0)} ms, with A queued ${busyMs.toFixed(0)} ms (${afterBlockerMs.toFixed(0)} ms after the call holding the thread ended); calls of A ${callsA.length}; started ahead of each call of B: ${callsB.map((call) => call.ahead).join(', ')}`;
    console.log(`engine fairness: ${diagnosis}`);
    assert.ok(callsB.length >= 1, diagnosis);
    assert.ok(callsA.length >= A_LEASES + 1, diagnosis);
    // One call of A may start between B's arrival and B's turn (two, if B arrives as one ends).
    assert.ok(mostAhead <= 2, `a call of B waited behind ${mostAhead} calls: ${diagnosis}`);
  });
});
