import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertStudyRefused,
  auth,
  bbo3Example,
  createKey,
  createStudy,
  enqueuePoint,
  expectStatus,
  quadraticStudy,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';
import { STUDY_LIMITS } from '../../api/src/studies/study-limits';

describe('studies', () => {
  let test: TestServer;
  let userKey: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
  });
  after(async () => test.close());

  it('round-trips the seed BBO3 study unchanged', async () => {
    const example = bbo3Example();
    const created = await createStudy(test, userKey, example);
    const fetched = expectStatus(
      await test.http.get(`/v1/studies/${String(created.id)}`).set(...auth(userKey)),
      200,
    ).body;
    for (const field of [
      'name',
      'description',
      'parameters',
      'derived',
      'outputs',
      'x0',
      'budget',
      'algorithm',
      'trainingConfig',
    ]) {
      // A budget field left out comes back as its default: no GPU-hour budget is null.
      const expected = field === 'budget' ? { maxGpuHours: null, ...(example.budget as object) } : example[field];
      assert.deepEqual(fetched[field], expected, field);
    }
    assert.equal(fetched.status, 'active');
    assert.equal(fetched.stopReason, null);
    assert.equal(fetched.evaluationCount, 0);
  });

  it('lists studies newest first, paginated and filtered by status', async () => {
    const first = await createStudy(test, userKey, quadraticStudy({ name: 'list-a' }));
    const second = await createStudy(test, userKey, quadraticStudy({ name: 'list-b' }));
    expectStatus(await test.http.post(`/v1/studies/${String(first.id)}/pause`).set(...auth(userKey)), 200);
    const page = expectStatus(await test.http.get('/v1/studies?limit=1').set(...auth(userKey)), 200).body;
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0].id, second.id);
    assert.ok(page.total >= 2);
    const paused = expectStatus(await test.http.get('/v1/studies?status=paused').set(...auth(userKey)), 200).body;
    assert.deepEqual(
      paused.items.map((study: { id: string }) => study.id),
      [first.id],
    );
  });

  it('pauses, resumes and stops, and refuses impossible transitions', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const path = `/v1/studies/${String(study.id)}`;
    assert.equal(expectStatus(await test.http.post(`${path}/pause`).set(...auth(userKey)), 200).body.status, 'paused');
    assert.equal(expectStatus(await test.http.post(`${path}/resume`).set(...auth(userKey)), 200).body.status, 'active');
    const stopped = expectStatus(await test.http.post(`${path}/stop`).set(...auth(userKey)), 200).body;
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.stopReason, 'user_stopped');
    const resumed = expectStatus(await test.http.post(`${path}/resume`).set(...auth(userKey)), 409).body;
    assert.equal(resumed.code, 'INVALID_STATUS_TRANSITION');
  });

  it('answers 404 with the error body for unknown and malformed ids', async () => {
    const unknown = expectStatus(
      await test.http.get('/v1/studies/00000000-0000-4000-8000-000000000000').set(...auth(userKey)),
      404,
    ).body;
    assert.equal(unknown.code, 'STUDY_NOT_FOUND');
    assert.equal(unknown.statusCode, 404);
    const malformed = expectStatus(await test.http.get('/v1/studies/not-a-uuid').set(...auth(userKey)), 400).body;
    assert.equal(malformed.code, 'VALIDATION_FAILED');
    assert.deepEqual(malformed.details, [{ field: 'studyId', reason: 'must be a UUID' }]);
  });

  const badStudies: [string, Record<string, unknown>, string][] = [
    [
      'bounds in the wrong order',
      quadraticStudy({ parameters: [{ name: 'x', type: 'real', lower: 5, upper: -5 }], x0: [] }),
      'parameters[0].upper',
    ],
    [
      'an unknown parameter type',
      quadraticStudy({ parameters: [{ name: 'x', type: 'complex' }] }),
      'parameters[0].type',
    ],
    [
      'a non-numeric bound',
      quadraticStudy({ parameters: [{ name: 'x', type: 'real', lower: 'a', upper: 1 }] }),
      'parameters[0].lower',
    ],
    ['an X0 outside the bounds', quadraticStudy({ x0: [{ x: 7, y: 0 }] }), 'x0[0].x'],
    ['an X0 missing a parameter', quadraticStudy({ x0: [{ x: 1 }] }), 'x0[0].y'],
    [
      'two objectives',
      quadraticStudy({
        outputs: [
          { name: 'a', type: 'objective' },
          { name: 'b', type: 'objective' },
        ],
      }),
      'outputs',
    ],
    [
      'a derived expression calling code',
      quadraticStudy({ derived: [{ name: 'z', expression: 'process.exit(1)' }] }),
      'derived[0].expression',
    ],
    [
      'a derived expression over an unknown name',
      quadraticStudy({ derived: [{ name: 'z', expression: 'x * w' }] }),
      'derived[0].expression',
    ],
    [
      'a log scale with a non-positive bound',
      quadraticStudy({ parameters: [{ name: 'x', type: 'real', lower: 0, upper: 1, log: true }], x0: [] }),
      'parameters[0].lower',
    ],
    [
      'an ordinal value repeated',
      quadraticStudy({ parameters: [{ name: 'r', type: 'ordinal', values: [4, 4, 8] }], x0: [] }),
      'parameters[0].values',
    ],
    [
      'a fixed value outside the values',
      quadraticStudy({ parameters: [{ name: 'r', type: 'ordinal', values: [4, 8], fixed: 16 }], x0: [] }),
      'parameters[0].fixed',
    ],
    ['an unknown field', quadraticStudy({ colour: 'blue' }), 'colour'],
    ['a zero budget', quadraticStudy({ budget: { maxEvaluations: 0 } }), 'budget.maxEvaluations'],
    ['an unknown algorithm', quadraticStudy({ algorithm: { name: 'tpe' } }), 'algorithm.name'],
    // Issue 13, item 11.
    [
      'a null bound (MADS searched an unbounded range)',
      quadraticStudy({ parameters: [{ name: 'x', type: 'real', lower: null, upper: 5 }], x0: [] }),
      'parameters[0].lower',
    ],
    ['an algorithm given as an array', quadraticStudy({ algorithm: [] }), 'algorithm'],
    ['a null algorithm', quadraticStudy({ algorithm: null }), 'algorithm'],
    ['a null X0 list', quadraticStudy({ x0: null }), 'x0'],
    ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'].map(
      (name): [string, Record<string, unknown>, string] => [
        `a parameter named ${name}`,
        quadraticStudy({ parameters: [{ name, type: 'real', lower: 0, upper: 1 }], x0: [] }),
        'parameters[0].name',
      ],
    ),
    [
      'an output named constructor',
      quadraticStudy({ outputs: [{ name: 'constructor', type: 'objective' }] }),
      'outputs[0].name',
    ],
    [
      'a derived parameter named __proto__',
      quadraticStudy({ derived: [{ name: '__proto__', expression: 'x * 2' }] }),
      'derived[0].name',
    ],
    [
      'a derived expression dividing by zero',
      quadraticStudy({ derived: [{ name: 'z', expression: 'x / 0' }] }),
      'derived[0].expression',
    ],
    [
      'a derived expression undefined over the box',
      quadraticStudy({ derived: [{ name: 'z', expression: 'log(x - 100)' }] }),
      'derived[0].expression',
    ],
    [
      'a derived expression infinite at a bound',
      quadraticStudy({ derived: [{ name: 'z', expression: '1 / (x + 5)' }] }),
      'derived[0].expression',
    ],
    [
      `a categorical parameter with more values than MADS polls (${STUDY_LIMITS.values + 1})`,
      quadraticStudy({
        parameters: [
          { name: 'c', type: 'categorical', values: Array.from({ length: STUDY_LIMITS.values + 1 }, (_, i) => i) },
        ],
        x0: [],
      }),
      'parameters[0].values',
    ],
  ];
  for (const [what, body, field] of badStudies) {
    it(`rejects ${what} with 400 naming ${field}, and writes nothing`, async () => {
      await assertStudyRefused(test, userKey, body, field);
    });
  }

  it('rejects a body that is not JSON with 400 and the error body', async () => {
    const response = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    expectStatus(response, 400);
    assert.equal(response.body.code, 'VALIDATION_FAILED');
  });
  it(`a categorical parameter of ${STUDY_LIMITS.values} values is accepted: the limit the OpenAPI states is the one enforced`, async () => {
    const document = expectStatus(await test.http.get('/openapi.json'), 200).body;
    assert.equal(document.components.schemas.ParameterDefinitionDto.properties.values.maxItems, STUDY_LIMITS.values);
    await createStudy(
      test,
      userKey,
      quadraticStudy({
        parameters: [
          { name: 'c', type: 'categorical', values: Array.from({ length: STUDY_LIMITS.values }, (_, i) => `v${i}`) },
        ],
        x0: [],
        algorithm: { name: 'mads' },
      }),
    );
  });

  it('null in place of any optional field, or [] in place of any object, is a 400 naming that field', async () => {
    const full = bbo3Example();
    const optional: [string, unknown][] = [];
    // Every field of the example's nested objects (description may be null: it is the response's "no description").
    const walk = (value: unknown, path: string): void => {
      if (typeof value !== 'object' || value === null) return;
      for (const [key, child] of Object.entries(value)) {
        const field = Array.isArray(value) ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
        if (field !== 'description' && !field.startsWith('trainingConfig.') && !/^x0\[\d+\]\./.test(field)) {
          optional.push([field, child]);
        }
        walk(child, field);
      }
    };
    walk(full, '');
    const setAt = (body: unknown, field: string, replacement: unknown): unknown => {
      const keys = field.split(/\.|\[|\]\.?/).filter(Boolean);
      const copy = structuredClone(body) as Record<string, unknown>;
      let current: Record<string, unknown> = copy;
      for (const key of keys.slice(0, -1)) current = current[key] as Record<string, unknown>;
      current[keys[keys.length - 1]] = replacement;
      return copy;
    };
    for (const [field, value] of optional) {
      const replacements: unknown[] = [null];
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) replacements.push([]);
      for (const replacement of replacements) {
        const response = await test.http
          .post('/v1/studies')
          .set(...auth(userKey))
          .send(setAt(full, field, replacement) as object);
        assert.equal(response.status, 400, `${field} = ${JSON.stringify(replacement)}: ${response.text.slice(0, 300)}`);
        assert.ok(
          // The field itself, a field inside it, or the list it is an item of (x0[0] → x0).
          (response.body.details as { field: string }[]).some(
            (detail) =>
              detail.field === field ||
              detail.field.startsWith(`${field}.`) ||
              detail.field.startsWith(`${field}[`) ||
              field.startsWith(`${detail.field}[`),
          ),
          `${field} = ${JSON.stringify(replacement)}: ${JSON.stringify(response.body.details)}`,
        );
      }
    }
  });

  it('GET /v1/studies lists summaries: no search space, X0, training config or engine state, whatever a study holds', async () => {
    const names = Array.from({ length: STUDY_LIMITS.parameters }, (_, index) => `p${index}`);
    const large = await createStudy(
      test,
      userKey,
      quadraticStudy({
        name: 'large',
        parameters: names.map((name) => ({ name, type: 'real', lower: 0, upper: 1 })),
        x0: Array.from({ length: STUDY_LIMITS.x0 }, () => Object.fromEntries(names.map((name) => [name, 0.5]))),
        trainingConfig: { blob: 'x'.repeat(60_000) },
      }),
    );
    const response = expectStatus(await test.http.get('/v1/studies?limit=1').set(...auth(userKey)), 200);
    const [item] = response.body.items;
    assert.equal(item.id, large.id);
    assert.ok(response.text.length < 2_000, `one summary is ${response.text.length} bytes`);
    const document = expectStatus(await test.http.get('/openapi.json'), 200).body;
    const listed = document.paths['/v1/studies'].get.responses['200'].content['application/json'].schema.$ref;
    assert.equal(listed, '#/components/schemas/StudyListResponseDto');
    const summary = document.components.schemas.StudySummaryDto;
    assert.deepEqual(Object.keys(item).sort(), Object.keys(summary.properties).sort());
    for (const field of ['parameters', 'derived', 'x0', 'trainingConfig', 'engineState'])
      assert.ok(!(field in item), field);
    assert.equal(item.parameterCount, STUDY_LIMITS.parameters);
    assert.deepEqual(item.algorithm, { name: 'random', seed: 1 });
    const full = expectStatus(await test.http.get(`/v1/studies/${String(large.id)}`).set(...auth(userKey)), 200).body;
    assert.equal(full.x0.length, STUDY_LIMITS.x0);
  });
  it('a derived parameter finite over the probes but not at an enqueued point: that enqueue is a 400, nothing written', async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({ derived: [{ name: 'z', expression: '1 / (x - 0.25)' }], x0: [] }),
    );
    const path = `/v1/studies/${String(study.id)}/trials`;
    const refused = expectStatus(await enqueuePoint(test, userKey, String(study.id), { x: 0.25, y: 0 }), 400).body;
    assert.equal(refused.details[0].field, 'parameters');
    assert.match(refused.details[0].reason, /derived parameter z .*Infinity/);
    const accepted = expectStatus(await enqueuePoint(test, userKey, String(study.id), { x: 0.75, y: 0 }), 201).body;
    assert.equal(accepted.parameters.z, 2);
    assert.equal(expectStatus(await test.http.get(path).set(...auth(userKey)), 200).body.total, 1);
  });
});
