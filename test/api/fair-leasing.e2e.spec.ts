import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const STUDIES = 30;

describe('leases without a study: every study reachable, runners shared fairly', () => {
  let test: TestServer;
  let userKey: string;
  let runner: TestRunner;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    // One runner stands for a fleet here: it holds every lease of the test (up to 69 at once).
    runner = await registerRunner(test, await createKey(test, 'runner'), 'fleet', { maxConcurrentTrials: 256 });
  });
  after(async () => test.close());

  const createStudies = async (count: number, maxParallelTrials: number, prefix: string): Promise<string[]> => {
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const study = await createStudy(
        test,
        userKey,
        quadraticStudy({
          name: `${prefix} ${index}`,
          budget: { maxEvaluations: 20, maxParallelTrials, leaseSeconds: 600 },
          algorithm: { name: 'random', seed: index },
        }),
      );
      ids.push(String(study.id));
    }
    return ids;
  };

  /** Leases `count` trials without naming a study; returns how many each study got. */
  const leaseMany = async (count: number): Promise<Map<string, number>> => {
    const perStudy = new Map<string, number>();
    for (let index = 0; index < count; index += 1) {
      const leased = expectStatus(await lease(test, runner), 200).body;
      const studyId = String(leased.trial.studyId);
      perStudy.set(studyId, (perStudy.get(studyId) ?? 0) + 1);
    }
    return perStudy;
  };

  it(`reaches all ${STUDIES} studies, and a new study with room once they are full`, async () => {
    const ids = await createStudies(STUDIES, 1, 'single');
    const perStudy = await leaseMany(STUDIES);
    assert.deepEqual([...perStudy.keys()].sort(), [...ids].sort(), 'one lease in each of the 30 studies');
    assert.ok([...perStudy.values()].every((count) => count === 1));
    // Every study is at its maxParallelTrials: nothing to lease.
    expectStatus(await lease(test, runner), 204);
    // The newest study (31st, after 30 full older ones) is reached at once.
    const [newest] = await createStudies(1, 1, 'late');
    const leased = expectStatus(await lease(test, runner), 200).body;
    assert.equal(leased.trial.studyId, newest);
  });

  it(`shares leases between ${STUDIES} studies by running trials relative to maxParallelTrials`, async () => {
    const even = await createStudies(STUDIES, 3, 'even');
    // Two leases per study: no study gets its second before every study has its first.
    const firstRound = await leaseMany(STUDIES);
    assert.deepEqual([...firstRound.keys()].sort(), [...even].sort());
    const secondRound = await leaseMany(STUDIES);
    assert.deepEqual([...secondRound.keys()].sort(), [...even].sort());
    assert.ok([...secondRound.values()].every((count) => count === 1));
    // A wide study (maxParallelTrials 12) gets its share in proportion: after 12 more leases,
    // the 30 studies at 2 of 3 (ratio 0.67) got one each only once the wide one reached 8 of 12.
    const [wide] = await createStudies(1, 12, 'wide');
    const shares = await leaseMany(8);
    assert.equal(shares.get(wide), 8, 'the wide study takes leases while it is the least loaded');
    const next = await leaseMany(1);
    assert.equal(next.get(wide), undefined, 'at 8 of 12 (0.67) it waits behind the studies at 2 of 3 of equal ratio');
  });
});
