import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { TRIAL_TRANSITIONS } from '../../api/src/trials/store/trial-transitions';
import type { TrialStatus } from '../../api/src/trials/trial-status';
import { LeaseSweeper } from '../../api/src/trials/lease-sweeper';
import { auth, createProject, expectStatus, projectKey, quadraticStudy } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * A model-based fuzz of the whole trial protocol (docs/architecture.md, "Trial states"): random
 * sequences of what a key holder and runners may do, against the real app on embedded PostgreSQL,
 * with the protocol's invariants checked after every command and a well-behaved runner draining
 * every study at the end. CI size by default; MESHTUNE_PROTOFUZZ_RUNS and MESHTUNE_PROTOFUZZ_SEED
 * run it longer or replay one seed locally.
 */

const RUNS = Number(process.env.MESHTUNE_PROTOFUZZ_RUNS ?? 12);
const SEED =
  process.env.MESHTUNE_PROTOFUZZ_SEED === undefined ? undefined : Number(process.env.MESHTUNE_PROTOFUZZ_SEED);
const MAX_COMMANDS = 25;
const RUNNERS = 3;
/** Replies seen over all runs, by call and status: the fuzz must reach every part of the protocol. */
const TALLY = new Map<string, number>();

/** Whether `to` can follow `from` through zero or more arrows of the diagram (states are observed between commands). */
function reachable(from: TrialStatus, to: TrialStatus): boolean {
  const seen = new Set<TrialStatus>([from]);
  const queue: TrialStatus[] = [from];
  while (queue.length > 0) {
    for (const next of TRIAL_TRANSITIONS[queue.shift()!]) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen.has(to);
}

/** The two studies of a run: one with a GPU-hour cap, one with the median early-stopping policy. */
const STUDY_BODIES = (): Record<string, unknown>[] => [
  quadraticStudy({
    name: 'gpu-capped',
    budget: { maxEvaluations: 6, maxAttempts: 2, leaseSeconds: 60, maxGpuHours: 0.01 },
  }),
  quadraticStudy({
    name: 'median',
    budget: { maxEvaluations: 5, maxAttempts: 2, leaseSeconds: 60 },
    earlyStopping: { kind: 'median', nStartupTrials: 1 },
  }),
];

interface Runner {
  id: string;
  token: string;
}

interface TrialRow {
  id: string;
  study_id: string;
  status: TrialStatus;
  runner_id: string | null;
  gpu_seconds: number | null;
  outputs: unknown;
  finished_at: Date | null;
}

/** What the test knows of one run: its keys, runners, studies and the trials seen so far. */
class World {
  runners: (Runner | undefined)[] = new Array<Runner | undefined>(RUNNERS).fill(undefined);
  studies: { id: string; deleted: boolean; maxEvaluations: number }[] = [];
  /** Every trial seen, in order, with the runner index that last leased it. */
  trials: { id: string; runner: number | null }[] = [];
  /** Last observed status of each trial, and a completed trial's record. */
  seen = new Map<string, { status: TrialStatus; completed?: string }>();
  log: string[] = [];

  constructor(
    readonly test: TestServer,
    readonly userKey: string,
    readonly runnerKey: string,
  ) {}

  /** Any reply: never 5xx; a refusal is a 4xx with a code. */
  reply(response: Response, what: string): Response {
    this.log.push(`${what} → ${response.status}${response.status >= 400 ? ` ${String(response.body?.code)}` : ''}`);
    const call = `${what.replace(/\(.*$/, '')} ${response.status}`;
    TALLY.set(call, (TALLY.get(call) ?? 0) + 1);
    assert.ok(response.status < 500, `${what}: ${response.status} ${JSON.stringify(response.body)}`);
    if (response.status >= 400) {
      assert.equal(typeof response.body?.code, 'string', `${what}: a refusal without a code: ${response.text}`);
      assert.ok(response.status < 500);
    }
    return response;
  }

  /** The picked trial; `leased`: among those a fuzzed runner leased, when there are some (most reports). */
  trialAt(pick: number, leased = false): { id: string; runner: number | null } {
    const held = leased ? this.trials.filter((t) => t.runner !== null) : [];
    const from = held.length > 0 ? held : this.trials;
    if (from.length === 0) return { id: randomUUID(), runner: null };
    return from[pick % from.length];
  }

  noteLease(response: Response, runner: number): void {
    if (response.status !== 200) return;
    const id = String(response.body.trial.id);
    const known = this.trials.find((t) => t.id === id);
    if (known) known.runner = runner;
    else this.trials.push({ id, runner });
  }

  async check(): Promise<void> {
    const db = this.test.get(DataSource);
    const ids = this.studies.filter((s) => !s.deleted).map((s) => s.id);
    const rows = (await db.query(
      `SELECT id, study_id, status, runner_id, gpu_seconds, outputs, finished_at FROM trials WHERE study_id = ANY($1::uuid[])`,
      [ids],
    )) as TrialRow[];
    for (const row of rows) {
      const before = this.seen.get(row.id);
      const record = JSON.stringify([row.status, row.gpu_seconds, row.outputs, row.finished_at]);
      if (before !== undefined) {
        assert.ok(
          before.status === row.status || reachable(before.status, row.status),
          `trial ${row.id}: ${before.status} → ${row.status} is not in the diagram\n${this.log.join('\n')}`,
        );
        if (before.completed !== undefined) {
          assert.equal(record, before.completed, `completed trial ${row.id} changed\n${this.log.join('\n')}`);
        }
      }
      this.seen.set(row.id, { status: row.status, completed: row.status === 'completed' ? record : undefined });
      if (!this.trials.some((t) => t.id === row.id)) this.trials.push({ id: row.id, runner: null });
      if (row.status === 'running') assert.notEqual(row.runner_id, null, `running trial ${row.id} has no runner`);
    }
    const doubled = (await db.query(
      `SELECT trial_id, COUNT(*)::int AS open FROM trial_leases
        WHERE ended_at IS NULL AND trial_id = ANY($1::uuid[]) GROUP BY trial_id HAVING COUNT(*) > 1`,
      [rows.map((r) => r.id)],
    )) as { trial_id: string; open: number }[];
    assert.deepEqual(doubled, [], `more than one open lease on a trial\n${this.log.join('\n')}`);
    for (const study of this.studies.filter((s) => !s.deleted)) {
      const [counts] = (await db.query(
        `SELECT s.evaluation_count AS kept,
                (SELECT COUNT(*)::int FROM trials t WHERE t.study_id = s.id AND t.evaluation_number IS NOT NULL) AS told,
                COALESCE((SELECT SUM(gpu_seconds) FROM trials t WHERE t.study_id = s.id), 0) AS gpu
           FROM studies s WHERE s.id = $1`,
        [study.id],
      )) as { kept: number; told: number; gpu: number }[];
      assert.equal(
        counts.kept,
        counts.told,
        `study ${study.id}: evaluationCount vs told trials\n${this.log.join('\n')}`,
      );
      const body = this.reply(
        await this.test.http.get(`/v1/studies/${study.id}`).set(...auth(this.userKey)),
        'GET study',
      ).body as { evaluationCount: number; gpuHoursUsed: number };
      assert.ok(body.evaluationCount <= study.maxEvaluations, `study ${study.id} past maxEvaluations`);
      assert.ok(
        Math.abs(body.gpuHoursUsed - Number(counts.gpu) / 3600) <= 1e-9,
        `study ${study.id}: gpuHoursUsed ${body.gpuHoursUsed} vs trials ${Number(counts.gpu) / 3600}\n${this.log.join('\n')}`,
      );
    }
  }
}

type Model = World;
type Real = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, Real>;

/** One of the run's runners. */
const runnerArb = fc.nat({ max: RUNNERS - 1 });

class Register implements Cmd {
  constructor(
    readonly runner: number,
    readonly gpuMemoryMb: number,
    readonly maxConcurrentTrials: number,
  ) {}
  check = () => true;
  async run(world: World): Promise<void> {
    const known = world.runners[this.runner];
    const body = {
      name: `runner-${this.runner}`,
      gpus: 1,
      gpuMemoryMb: this.gpuMemoryMb,
      labels: ['a100'],
      maxConcurrentTrials: this.maxConcurrentTrials,
    };
    const response = world.reply(
      await world.test.http
        .post('/v1/runners')
        .set(...auth(known?.token ?? world.runnerKey))
        .send(body),
      `${this.toString()}`,
    );
    if (known === undefined && response.status === 201) {
      world.runners[this.runner] = { id: String(response.body.id), token: String(response.body.token) };
    }
    await world.check();
  }
  toString = () => `register(${this.runner}, ${this.gpuMemoryMb} MB, ${this.maxConcurrentTrials})`;
}

class Lease implements Cmd {
  constructor(
    readonly runner: number,
    readonly study: number | null,
  ) {}
  check = (world: World) => world.runners[this.runner] !== undefined;
  async run(world: World): Promise<void> {
    const runner = world.runners[this.runner]!;
    const study = this.study === null ? undefined : world.studies[this.study % world.studies.length].id;
    const response = world.reply(
      await world.test.http
        .post(`/v1/runners/${runner.id}/lease`)
        .set(...auth(runner.token))
        .send(study === undefined ? {} : { studyId: study }),
      this.toString(),
    );
    world.noteLease(response, this.runner);
    await world.check();
  }
  toString = () => `lease(${this.runner}, ${this.study === null ? 'any' : `study ${this.study}`})`;
}

type ReportKind =
  | { action: 'heartbeat'; gpuSeconds: number; step: number; value: number }
  | { action: 'complete'; gpuSeconds: number; value: number }
  | { action: 'fail'; gpuSeconds: number; kind: 'evaluation' | 'retryable' | 'runner' | 'resource' }
  | { action: 'release'; gpuSeconds: number | null }
  | { action: 'decline' };

class Report implements Cmd {
  constructor(
    readonly pick: number,
    readonly asOwner: boolean,
    readonly other: number,
    readonly report: ReportKind,
  ) {}
  check = (world: World) => world.runners.some((r) => r !== undefined);
  async run(world: World): Promise<void> {
    const trial = world.trialAt(this.pick, this.asOwner);
    const index = this.asOwner && trial.runner !== null ? trial.runner : this.other;
    const runner = world.runners[index] ?? world.runners.find((r) => r !== undefined)!;
    const report = this.report;
    let body: Record<string, unknown>;
    switch (report.action) {
      case 'heartbeat':
        body = {
          progress: Math.min(1, report.step / 10),
          metrics: [{ name: 'loss', step: report.step, value: report.value }],
          gpuSeconds: report.gpuSeconds,
        };
        break;
      case 'complete':
        body = { outputs: { loss: report.value }, gpuSeconds: report.gpuSeconds };
        break;
      case 'fail':
        body = {
          error: `fuzz ${report.kind}`,
          gpuSeconds: report.gpuSeconds,
          ...(report.kind === 'retryable' ? { kind: 'evaluation', retryable: true } : { kind: report.kind }),
        };
        break;
      case 'release':
        body = report.gpuSeconds === null ? {} : { gpuSeconds: report.gpuSeconds };
        break;
      case 'decline':
        body = { reason: 'fuzz: cannot run this study' };
        break;
    }
    world.reply(
      await world.test.http
        .post(`/v1/trials/${trial.id}/${report.action}`)
        .set(...auth(runner.token))
        .send(body),
      this.toString(),
    );
    await world.check();
  }
  toString = () =>
    `${this.report.action}(trial #${this.pick}, ${this.asOwner ? 'owner' : `runner ${this.other}`}, ${JSON.stringify(this.report)})`;
}

class StudyAction implements Cmd {
  constructor(
    readonly study: number,
    readonly action: 'pause' | 'resume' | 'stop' | 'delete',
  ) {}
  check = () => true;
  async run(world: World): Promise<void> {
    const study = world.studies[this.study % world.studies.length];
    const http = world.test.http;
    const response = world.reply(
      this.action === 'delete'
        ? await http.delete(`/v1/studies/${study.id}`).set(...auth(world.userKey))
        : await http.post(`/v1/studies/${study.id}/${this.action}`).set(...auth(world.userKey)),
      this.toString(),
    );
    if (this.action === 'delete' && response.status === 204) study.deleted = true;
    await world.check();
  }
  toString = () => `${this.action}(study ${this.study})`;
}

class Enqueue implements Cmd {
  constructor(
    readonly study: number,
    readonly point: { x: number; y: number },
  ) {}
  check = () => true;
  async run(world: World): Promise<void> {
    const study = world.studies[this.study % world.studies.length];
    const response = world.reply(
      await world.test.http
        .post(`/v1/studies/${study.id}/trials`)
        .set(...auth(world.userKey))
        .send({ parameters: this.point }),
      this.toString(),
    );
    if (response.status === 201) world.trials.push({ id: String(response.body.id), runner: null });
    await world.check();
  }
  toString = () => `enqueue(study ${this.study}, ${JSON.stringify(this.point)})`;
}

class RunnerCall implements Cmd {
  constructor(
    readonly runner: number,
    readonly action: 'heartbeat' | 'clear-quarantine',
  ) {}
  check = (world: World) => world.runners[this.runner] !== undefined;
  async run(world: World): Promise<void> {
    const runner = world.runners[this.runner]!;
    world.reply(
      await world.test.http
        .post(`/v1/runners/${runner.id}/${this.action}`)
        .set(...auth(this.action === 'heartbeat' ? runner.token : world.userKey)),
      this.toString(),
    );
    await world.check();
  }
  toString = () => `runner ${this.action}(${this.runner})`;
}

/** The lease sweeper now; with `expire`, the picked trial's lease is made expired first. */
class Sweep implements Cmd {
  constructor(readonly expire: number | null) {}
  check = () => true;
  async run(world: World): Promise<void> {
    if (this.expire !== null && world.trials.length > 0) {
      await world.test
        .get(DataSource)
        .query(
          `UPDATE trials SET lease_expires_at = now() - interval '1 second' WHERE id = $1 AND status = 'running'`,
          [world.trialAt(this.expire).id],
        );
    }
    world.log.push(this.toString());
    await world.test.get(LeaseSweeper).sweep();
    await world.check();
  }
  toString = () => (this.expire === null ? 'sweep' : `expire(trial #${this.expire}) + sweep`);
}

class Restart implements Cmd {
  check = () => true;
  async run(world: World): Promise<void> {
    world.log.push('restart');
    await world.test.restart();
    await world.check();
  }
  toString = () => 'restart';
}

const gpuSecondsArb = fc.integer({ min: 0, max: 40 });
const lossArb = fc.integer({ min: -100, max: 100 });
const reportArb: fc.Arbitrary<ReportKind> = fc.oneof(
  fc.record({
    action: fc.constant('heartbeat' as const),
    gpuSeconds: gpuSecondsArb,
    step: fc.integer({ min: 1, max: 10 }),
    value: lossArb,
  }),
  fc.record({ action: fc.constant('complete' as const), gpuSeconds: gpuSecondsArb, value: lossArb }),
  fc.record({
    action: fc.constant('fail' as const),
    gpuSeconds: gpuSecondsArb,
    kind: fc.constantFrom('evaluation' as const, 'retryable' as const, 'runner' as const, 'resource' as const),
  }),
  fc.record({ action: fc.constant('release' as const), gpuSeconds: fc.option(gpuSecondsArb, { nil: null }) }),
  fc.record({ action: fc.constant('decline' as const) }),
);

const commandArbs: fc.Arbitrary<Cmd>[] = [
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(new Restart()) },
    {
      weight: 60,
      arbitrary: fc.oneof(
        fc
          .tuple(runnerArb, fc.constantFrom(40960, 81920), fc.integer({ min: 1, max: 2 }))
          .map(([r, m, c]) => new Register(r, m, c)),
        {
          arbitrary: fc.tuple(runnerArb, fc.option(fc.nat({ max: 1 }), { nil: null })).map(([r, s]) => new Lease(r, s)),
          weight: 3,
        },
        {
          arbitrary: fc
            .tuple(
              fc.nat(),
              fc.nat({ max: 3 }).map((n) => n > 0),
              runnerArb,
              reportArb,
            )
            // Mostly the trial's own runner: most of the protocol is a lease holder's.
            .map(([p, own, other, rep]) => new Report(p, own, other, rep)),
          weight: 5,
        },
        fc
          .tuple(
            fc.nat({ max: 1 }),
            fc.constantFrom('pause' as const, 'resume' as const, 'stop' as const, 'delete' as const),
          )
          .map(([s, a]) => new StudyAction(s, a)),
        fc
          .tuple(fc.nat({ max: 1 }), fc.double({ min: -5, max: 5, noNaN: true }), fc.integer({ min: -10, max: 10 }))
          .map(([s, x, y]) => new Enqueue(s, { x, y })),
        fc
          .tuple(runnerArb, fc.constantFrom('heartbeat' as const, 'clear-quarantine' as const))
          .map(([r, a]) => new RunnerCall(r, a)),
        fc.option(fc.nat(), { nil: null }).map((e) => new Sweep(e)),
      ),
    },
  ),
];

/**
 * One scripted sequence run first (fast-check `examples`), so every call is accepted at least once
 * whatever the seed: the coverage check below cannot pass on a fuzz that never reached the protocol.
 */
const SCRIPTED: Cmd[] = [
  new Lease(0, 0),
  new Report(0, true, 0, { action: 'heartbeat', gpuSeconds: 2, step: 1, value: 5 }),
  new Report(0, true, 0, { action: 'release', gpuSeconds: 3 }),
  new Lease(1, 0),
  new Report(0, true, 0, { action: 'fail', gpuSeconds: 1, kind: 'retryable' }),
  new Lease(2, 0),
  new Report(0, true, 0, { action: 'complete', gpuSeconds: 4, value: 1 }),
  new Enqueue(1, { x: 1.5, y: 2 }),
  new Lease(0, 1),
  new Report(0, true, 0, { action: 'fail', gpuSeconds: 1, kind: 'evaluation' }),
  new Lease(1, null),
  new Report(0, true, 0, { action: 'decline' }),
  new Sweep(0),
  new StudyAction(1, 'pause'),
  new StudyAction(1, 'resume'),
  new Restart(),
  new StudyAction(1, 'stop'),
  new StudyAction(1, 'delete'),
];

describe('the trial protocol under random sequences of every call (model-based)', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({ leaseWaitMs: 0 });
  });
  after(async () => test.close());

  /** A fresh project (its own quotas, keys, runners) with the two studies. */
  async function newWorld(): Promise<World> {
    const projectId = await createProject(test, { name: `fuzz-${randomUUID()}` });
    const world = new World(
      test,
      await projectKey(test, 'user', projectId),
      await projectKey(test, 'runner', projectId),
    );
    for (const body of STUDY_BODIES()) {
      const created = expectStatus(
        await test.http
          .post('/v1/studies')
          .set(...auth(world.userKey))
          .send(body),
        201,
      ).body as { id: string; budget: { maxEvaluations: number } };
      world.studies.push({ id: created.id, deleted: false, maxEvaluations: created.budget.maxEvaluations });
    }
    // Every runner registered up front; the Register command registers them again (updates).
    for (let index = 0; index < RUNNERS; index++) await new Register(index, 81920, 1).run(world);
    return world;
  }

  /** A well-behaved runner (fresh, so no decline or quarantine of its own) drains every study left. */
  async function drain(world: World): Promise<void> {
    const db = test.get(DataSource);
    const fresh = expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(world.runnerKey))
        .send({ name: 'drainer', gpus: 1, gpuMemoryMb: 163840, labels: ['a100'] }),
      201,
    ).body as Runner;
    const runner = { id: String(fresh.id), token: String(fresh.token) };
    for (const study of world.studies.filter((s) => !s.deleted)) {
      world.reply(await test.http.post(`/v1/studies/${study.id}/resume`).set(...auth(world.userKey)), 'drain: resume');
      for (let round = 0; ; round++) {
        const status = String(
          world.reply(await test.http.get(`/v1/studies/${study.id}`).set(...auth(world.userKey)), 'drain: GET study')
            .body.status,
        );
        if (status !== 'active') {
          assert.ok(
            ['completed', 'stopped'].includes(status),
            `study ${study.id} ended ${status}\n${world.log.join('\n')}`,
          );
          break;
        }
        assert.ok(round < 60, `study ${study.id} still active after ${round} drain rounds\n${world.log.join('\n')}`);
        // Leases held by the fuzzed runners run out.
        await db.query(
          `UPDATE trials SET lease_expires_at = now() - interval '1 second' WHERE study_id = $1 AND status = 'running'`,
          [study.id],
        );
        await test.get(LeaseSweeper).sweep();
        await world.check();
        const leased = world.reply(
          await test.http
            .post(`/v1/runners/${runner.id}/lease`)
            .set(...auth(runner.token))
            .send({ studyId: study.id }),
          'drain: lease',
        );
        if (leased.status !== 200) continue;
        const trialId = String(leased.body.trial.id);
        world.reply(
          await test.http
            .post(`/v1/trials/${trialId}/complete`)
            .set(...auth(runner.token))
            .send({ outputs: { loss: 1 }, gpuSeconds: 1 }),
          'drain: complete',
        );
        await world.check();
      }
    }
  }

  it(`keeps every invariant over ${RUNS} random sequences of up to ${MAX_COMMANDS} calls, then drains`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commandArbs, { maxCommands: MAX_COMMANDS, size: 'max' }), async (commands) => {
        const world = await newWorld();
        await fc.asyncModelRun(() => ({ model: world, real: {} }), commands);
        await drain(world);
      }),
      { numRuns: RUNS, examples: [[SCRIPTED]], ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: false },
    );
    if (process.env.MESHTUNE_PROTOFUZZ_TALLY)
      console.log(
        [...TALLY]
          .sort()
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n'),
      );
    // Not a vacuous pass: leases, each report and the study calls were accepted somewhere.
    for (const call of [
      'lease 200',
      'heartbeat 200',
      'complete 200',
      'fail 200',
      'release 200',
      'decline 200',
      'pause 200',
      'resume 200',
      'stop 200',
      'delete 204',
      'enqueue 201',
    ]) {
      assert.ok((TALLY.get(call) ?? 0) > 0, `no ${call} in ${RUNS} runs: ${JSON.stringify([...TALLY])}`);
    }
  });
});
