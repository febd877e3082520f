import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  auth,
  createKey,
  createStudy,
  enqueuePoint,
  expectStatus,
  registerRunner,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Finding 28: a UUID has many spellings (each of its hex letters in either case), PostgreSQL reads
 * them all as one id, but the API kept in-process state keyed by the spelling a request used (the
 * engine hand-over and its committed versions, the lease's one-ask-per-study, the study-change
 * notices). A request naming its study in another spelling left the engine's committed version
 * under that spelling, so the next call in the usual spelling no longer trusted the engine the
 * host thread held and rebuilt it from its snapshot: a runner alternating spellings made every
 * second lease a rebuild (costly for a large study, and the engine thread is shared by every
 * project). Every id is now read in one spelling at the edge.
 */
describe('ids in any spelling', () => {
  let test: TestServer;
  let userKey: string;
  let runner: TestRunner;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runner = await registerRunner(test, await createKey(test, 'runner'), 'speller', { maxConcurrentTrials: 4 });
  });
  after(async () => test.close());

  /** A spelling of `id` chosen by `mask`: bit i set upper-cases its i-th letter. */
  const spell = (id: string, mask: number): string => {
    let letter = 0;
    return id.replace(/[a-f]/g, (char) => ((mask >> letter++) & 1 ? char.toUpperCase() : char));
  };

  const rebuilds = async (): Promise<number> => {
    const text = expectStatus(await test.http.get('/metrics'), 200).text;
    return Number(/^meshtune_engine_rebuilds_total (\d+)/m.exec(text)?.[1]);
  };

  it('names one study, one trial and one runner whatever the spelling, and the engine is not rebuilt for it', async () => {
    const study = await createStudy(test, userKey, {
      name: 'spellings',
      parameters: [
        { name: 'x', type: 'real', lower: -5, upper: 5 },
        { name: 'y', type: 'real', lower: -5, upper: 5 },
      ],
      outputs: [{ name: 'loss', type: 'objective' }],
      budget: { maxEvaluations: 200, leaseSeconds: 600 },
      algorithm: { name: 'mads', seed: 4 },
      earlyStopping: { kind: 'none' },
    });
    const studyId = String(study.id);
    const leaseAndComplete = async (studySpelling: string, runnerSpelling: string, trialMask: number) => {
      const leased = expectStatus(
        await test.http
          .post(`/v1/runners/${runnerSpelling}/lease`)
          .set(...auth(runner.token))
          .send({ studyId: studySpelling }),
        200,
      ).body;
      assert.equal(leased.trial.studyId, studyId);
      const { x, y } = leased.trial.parameters as { x: number; y: number };
      const trialId = String(leased.trial.id);
      const done = expectStatus(
        await test.http
          .post(`/v1/trials/${spell(trialId, trialMask)}/complete`)
          .set(...auth(runner.token))
          .send({ outputs: { loss: (x - 1) ** 2 + (y + 2) ** 2 } }),
        200,
      ).body;
      assert.equal(done.id, trialId);
    };
    // The first use builds the engine in this process; from then on it is kept.
    await leaseAndComplete(studyId, runner.id, 0);
    const before = await rebuilds();
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.nat(), async (studyMask, runnerMask, trialMask) => {
        await leaseAndComplete(spell(studyId, studyMask), spell(runner.id, runnerMask), trialMask);
        const enqueued = await enqueuePoint(test, userKey, spell(studyId, studyMask >> 3), {
          x: ((studyMask % 1000) / 1000) * 4,
          y: -((runnerMask % 1000) / 1000) * 4,
        });
        assert.ok(enqueued.status === 201 || enqueued.status === 409, enqueued.text);
        const read = expectStatus(
          await test.http.get(`/v1/studies/${spell(studyId, studyMask >> 5)}`).set(...auth(userKey)),
          200,
        ).body;
        assert.equal(read.id, studyId);
      }),
      { numRuns: 25 },
    );
    assert.equal((await rebuilds()) - before, 0, 'engine rebuilds while the study was named in other spellings');
  });
});
