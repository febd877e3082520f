import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, createKey, createStudy, expectStatus, registerRunner } from '../support/api-client';
import { type Objective, runUntilDone } from '../support/simulated-runner';
import { startTestServer, type TestServer } from '../support/test-server';

/** (x − 1)² + (y + 2)²: minimum 0 at x = 1, y = −2. */
const shiftedSphere: Objective = (p) => ({ loss: ((p.x as number) - 1) ** 2 + ((p.y as number) + 2) ** 2 });

function sphereStudy(name: string, maxEvaluations: number): Record<string, unknown> {
  return {
    name,
    parameters: [
      { name: 'x', type: 'real', lower: -5, upper: 5 },
      { name: 'y', type: 'integer', lower: -10, upper: 10 },
    ],
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [{ x: 3, y: 4 }],
    budget: { maxEvaluations },
    algorithm: { name: 'mads', seed: 0 },
  };
}

describe('optimisation through the runner protocol (MADS)', () => {
  let test: TestServer;
  let userKey: string;
  let runnerKey: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runnerKey = await createKey(test, 'runner');
  });
  after(async () => test.close());

  const getStudy = async (id: string) =>
    expectStatus(await test.http.get(`/v1/studies/${id}`).set(...auth(userKey)), 200).body;
  const best = async (id: string) =>
    expectStatus(await test.http.get(`/v1/studies/${id}/best`).set(...auth(userKey)), 200).body;

  it('reaches the known optimum with one runner, on the exact budget, never evaluating a point twice', async () => {
    const study = await createStudy(test, userKey, sphereStudy('one runner', 60));
    const runner = await registerRunner(test, runnerKey);
    const log = await runUntilDone(test, runner, String(study.id), shiftedSphere);
    const finished = await getStudy(String(study.id));
    assert.equal(finished.status, 'completed');
    assert.ok(['max_evaluations', 'mesh_converged'].includes(finished.stopReason));
    if (finished.stopReason === 'max_evaluations') assert.equal(finished.evaluationCount, 60);
    assert.equal(log.evaluated.length, finished.evaluationCount);
    assert.equal(new Set(log.evaluated.map((entry) => JSON.stringify(entry.point))).size, log.evaluated.length);
    assert.equal(log.evaluated[0].parameters.x, 3, 'X0 first');
    const top = await best(String(study.id));
    assert.ok(top.outputs.loss < 0.01, `best loss ${top.outputs.loss} at ${JSON.stringify(top.parameters)}`);
    assert.equal(top.parameters.y, -2);
  });

  it('reaches it with four concurrent runners, none idle while the budget allows', async () => {
    const budget = 60;
    const study = await createStudy(test, userKey, sphereStudy('four runners', budget));
    const runners = await Promise.all([0, 1, 2, 3].map((index) => registerRunner(test, runnerKey, `r${index}`)));
    let completed = 0;
    let idleTooEarly = 0;
    const counting: Objective = (parameters) => {
      completed += 1;
      return shiftedSphere(parameters);
    };
    const logs = await Promise.all(
      runners.map((runner) =>
        runUntilDone(test, runner, String(study.id), counting, () => {
          // With 4 runners at most 3 others are in flight: idling is only right near the end of the budget.
          if (completed < budget - runners.length) idleTooEarly += 1;
        }),
      ),
    );
    const finished = await getStudy(String(study.id));
    const all = logs.flatMap((log) => log.evaluated);
    assert.equal(finished.status, 'completed');
    assert.equal(all.length, finished.evaluationCount);
    if (finished.stopReason === 'max_evaluations') assert.equal(finished.evaluationCount, budget);
    assert.equal(new Set(all.map((entry) => entry.id)).size, all.length, 'no trial evaluated twice');
    assert.equal(new Set(all.map((entry) => JSON.stringify(entry.point))).size, all.length, 'no point evaluated twice');
    assert.ok(
      logs.every((log) => log.evaluated.length > 0),
      'every runner got work',
    );
    assert.equal(idleTooEarly, 0, 'no runner waited while the budget allowed more trials');
    const top = await best(String(study.id));
    assert.ok(top.outputs.loss < 0.05, `best loss ${top.outputs.loss}`);
  });

  it('counts failed evaluations in the budget and still converges', async () => {
    const study = await createStudy(test, userKey, sphereStudy('failures', 50));
    const runner = await registerRunner(test, runnerKey);
    const flaky: Objective = (p) => ((p.x as number) > 3.2 ? 'fail' : shiftedSphere(p));
    const log = await runUntilDone(test, runner, String(study.id), flaky);
    const finished = await getStudy(String(study.id));
    const failed = finished.trialCounts.failed as number;
    assert.ok(failed > 0, 'some points failed');
    assert.equal(finished.trialCounts.completed + failed, finished.evaluationCount);
    assert.equal(log.evaluated.length, finished.evaluationCount);
    assert.ok((await best(String(study.id))).outputs.loss < 0.05);
  });

  it('solves a PB-constrained study: min x + y subject to x² + y² ≤ 4 (optimum −2√2)', async () => {
    const study = await createStudy(test, userKey, {
      name: 'constrained',
      parameters: [
        { name: 'x', type: 'real', lower: -3, upper: 3 },
        { name: 'y', type: 'real', lower: -3, upper: 3 },
      ],
      outputs: [
        { name: 'sum', type: 'objective' },
        { name: 'disk', type: 'constraint_pb' },
      ],
      x0: [{ x: 2.5, y: 2.5 }],
      budget: { maxEvaluations: 150 },
    });
    const runner = await registerRunner(test, runnerKey);
    await runUntilDone(test, runner, String(study.id), (p) => {
      const x = p.x as number;
      const y = p.y as number;
      return { sum: x + y, disk: x * x + y * y - 4 };
    });
    const top = await best(String(study.id));
    assert.ok(top.outputs.disk <= 0, 'the best trial is feasible');
    assert.ok(top.outputs.sum < -2.7, `best ${top.outputs.sum} should approach ${-2 * Math.SQRT2}`);
  });

  it('exports the history as JSON, CSV and NOMAD history lines', async () => {
    const study = await createStudy(test, userKey, sphereStudy('history', 8));
    await runUntilDone(test, await registerRunner(test, runnerKey), String(study.id), shiftedSphere);
    const path = `/v1/studies/${String(study.id)}/history`;
    const json = expectStatus(await test.http.get(path).set(...auth(userKey)), 200).body;
    assert.equal(json.items.length, 8);
    const csv = expectStatus(await test.http.get(`${path}?format=csv`).set(...auth(userKey)), 200);
    assert.match(csv.headers['content-type'], /text\/csv/);
    const csvLines = csv.text.trim().split('\n');
    assert.equal(csvLines[0], 'number,status,origin,x,y,loss,error,runner_id,started_at,finished_at');
    assert.equal(csvLines.length, 9);
    const nomad = expectStatus(await test.http.get(`${path}?format=nomad`).set(...auth(userKey)), 200)
      .text.trim()
      .split('\n');
    assert.equal(nomad.length, 8);
    const first = json.items[0];
    assert.equal(nomad[0], `${first.point.join(' ')} ${first.outputs.loss}`);
    const engine = expectStatus(
      await test.http.get(`/v1/studies/${String(study.id)}/engine`).set(...auth(userKey)),
      200,
    ).body;
    assert.equal(engine.algorithm, 'mads');
    assert.equal(engine.frameSize.length, 2);
  });
});
