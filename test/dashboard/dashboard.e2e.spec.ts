import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { dashboardDirectory } from '../../api/src/dashboard/dashboard.module';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  quadraticStudy,
  registerRunner,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';
import { completeTrial, failTrial, launchChromium, leaseTrial, reportMetrics, signIn, waitForData } from './fixture';

/**
 * The dashboard in a real browser (Debian's chromium via playwright-core) against the real API
 * and PostgreSQL. The study: 6 completed trials (#3 and #6 infeasible: constraint c > 0), #7
 * failed, #8 running; losses chosen so the best feasible is #4 (2.5) until the live test
 * completes #9 with 2.
 */
const LOSSES: Record<number, number> = { 1: 4, 2: 3, 3: 1, 4: 2.5, 5: 3.5, 6: 0.5 };
const INFEASIBLE = new Set([3, 6]);

describe('dashboard', () => {
  let test: TestServer;
  let browser: Browser;
  let userKey: string;
  let runner: TestRunner;
  let studyId: string;

  before(async () => {
    assert.ok(
      existsSync(join(dashboardDirectory(), 'index.html')),
      `the dashboard is not built in ${dashboardDirectory()}: run npm run build:dashboard (npm run build does it first)`,
    );
    browser = await launchChromium();
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runner = await registerRunner(test, await createKey(test, 'runner'), 'gpu-node-1');
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({
        name: 'dashboard-e2e',
        algorithm: { name: 'mads', seed: 1 },
        description: 'Two parameters, one constraint: what the dashboard test draws.',
        outputs: [
          { name: 'loss', type: 'objective', goal: 'minimize' },
          { name: 'c', type: 'constraint_pb' },
          { name: 'runtime', type: 'extra' },
        ],
      }),
    );
    studyId = String(study.id);
    for (let number = 1; number <= 8; number += 1) {
      const trial = await leaseTrial(test, runner, studyId);
      assert.equal(trial.number, number);
      if (number === 7) {
        await failTrial(test, runner, trial.id, 'CUDA out of memory');
        continue;
      }
      await reportMetrics(
        test,
        runner,
        trial.id,
        'eval_loss',
        [5, 4, 3.5, 3].map((value) => value + number / 10),
      );
      if (number === 8) continue; // stays running
      await completeTrial(
        test,
        runner,
        trial.id,
        { loss: LOSSES[number], c: INFEASIBLE.has(number) ? 1 : -1, runtime: 60 * number },
        // Half a GPU-hour each: the study page shows 3 GPU-hours used.
        1800,
        {
          effectiveConfig: { regimeHash: 'sha256:0123456789abcdef', gpuCount: 1, precision: 'bf16' },
          adapter: { location: `/adapters/dashboard-e2e/trial-${number}` },
        },
      );
    }
  });

  after(async () => {
    await browser?.close();
    await test?.close();
  });

  interface OpenPage {
    page: Page;
    /** Asserts the page threw nothing uncaught, then closes it. */
    close(): Promise<void>;
  }

  async function openPage(): Promise<OpenPage> {
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Everything the pages draw must fit the Content-Security-Policy (Chromium logs each refusal),
    // and no file the page loads may be missing (an asset, or the /favicon.ico a page without an
    // icon makes the browser ask for). A 404 from /v1 is an answer the page reads (no best trial yet).
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const missingFile = /status of 404/.test(message.text()) && !message.location().url.includes('/v1/');
      if (/Content Security Policy/i.test(message.text()) || missingFile)
        errors.push(`${message.text()} ${message.location().url}`);
    });
    await signIn(page, test.url, userKey);
    return {
      page,
      close: async () => {
        await context.close();
        assert.deepEqual(errors, [], 'no uncaught errors in the page');
      },
    };
  }

  it('serves the app at / without a key and leaves the API routes alone', async () => {
    const index = expectStatus(await test.http.get('/'), 200);
    assert.match(String(index.headers['content-type']), /text\/html/);
    assert.match(index.text, /<div id="app">/);
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(index.text);
    assert.ok(asset, 'index.html loads a script from assets/');
    assert.match(String(expectStatus(await test.http.get(`/${asset[1]}`), 200).headers['content-type']), /javascript/);
    const unknown = expectStatus(await test.http.get('/v1/no-such-route').set(...auth(userKey)), 404);
    assert.equal(unknown.body.statusCode, 404);
    assert.equal(typeof unknown.body.code, 'string');
    assert.equal(expectStatus(await test.http.get('/v1/studies'), 401).body.code, 'UNAUTHENTICATED');
    expectStatus(await test.http.get('/health'), 200);
    assert.match(expectStatus(await test.http.get('/docs'), 200).text, /swagger/i);
    assert.equal(expectStatus(await test.http.get('/openapi.json'), 200).body.info.title, 'meshtune');
  });

  it('is served under a Content-Security-Policy: markup that got into the page runs no script, and no site may frame it', async () => {
    for (const path of ['/', '/index.html']) {
      const index = expectStatus(await test.http.get(path), 200);
      const policy = String(index.headers['content-security-policy']);
      assert.match(policy, /(^|; )script-src 'self'(;|$)/, `${path}: ${policy}`);
      assert.match(policy, /frame-ancestors 'none'/, `${path}: ${policy}`);
      assert.match(policy, /object-src 'none'/, `${path}: ${policy}`);
      assert.equal(index.headers['x-frame-options'], 'DENY');
      assert.equal(index.headers['x-content-type-options'], 'nosniff');
    }
    // The second wall: were a hostile name ever written as HTML, its handlers and scripts stay inert.
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, test.url, userKey);
    type Page = { __injected?: number; document: { body: { insertAdjacentHTML(where: string, html: string): void } } };
    await page.evaluate((hostile) => {
      (globalThis as unknown as Page).document.body.insertAdjacentHTML('beforeend', hostile);
    }, '<img src="x" onerror="window.__injected = 1"><svg onload="window.__injected = 2"></svg>');
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => (globalThis as unknown as Page).__injected), undefined);
    // These refusals are the point here; every other page must draw without one (openPage's check).
    await context.close();
  });

  it('refuses a bad key with a clear message and keeps nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${test.url}/#/`);
    await page.fill('#api-key', 'mt_user_not_a_real_key');
    await page.click('form.sign-in button[type=submit]');
    const message = page.locator('#sign-in-error');
    await message.waitFor({ state: 'visible' });
    assert.match(await message.innerText(), /API key was not accepted \(401/);
    assert.equal(await page.evaluate("sessionStorage.getItem('meshtune.apiKey')"), null);
    assert.equal(await page.locator('[data-page="studies"]').count(), 0);
    assert.equal(await page.locator('nav').isVisible(), false, 'no navigation before signing in');
    await context.close();
  });

  it('keeps the key in sessionStorage only, and lists the study with status, progress, best value and activity', async () => {
    const { page, close } = await openPage();
    assert.equal(await page.evaluate("sessionStorage.getItem('meshtune.apiKey')"), userKey);
    assert.equal(await page.evaluate('localStorage.length'), 0);
    const row = page.locator(`tr[data-study-id="${studyId}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[0], 'dashboard-e2e');
    assert.match(cells[1], /^active/);
    assert.equal(cells[2], '7 / 20');
    assert.equal(cells[3], '1', 'running');
    assert.equal(cells[4], '1', 'failed');
    assert.equal(cells[5], '2.5 #4', 'best feasible value and its trial');
    assert.match(cells[7], /just now|ago/);
    await close();
  });

  it('draws the study: convergence, parallel coordinates, metric curves, trial table, engine and downloads', async () => {
    const { page, close } = await openPage();
    await page.click(`a[href="#/studies/${studyId}"]`);
    await waitForData(page, '#convergence-chart', 'pointCount', '6');
    const convergence = page.locator('#convergence-chart');
    assert.equal(await convergence.getAttribute('data-feasible-count'), '4');
    assert.equal(await convergence.getAttribute('data-infeasible-count'), '2');
    assert.equal(await convergence.getAttribute('data-failed-count'), '1');
    assert.equal(
      await convergence.getAttribute('data-best-count'),
      '7',
      'best-so-far from the first (feasible) evaluation on',
    );
    assert.equal(
      await page
        .locator('#best-value')
        .innerText()
        .then((text) => text.split(' ')[0]),
      '2.5',
    );

    await waitForData(page, '#parallel-chart', 'pointCount', '6');
    await page.selectOption('#best-fraction', '0.5');
    await waitForData(page, '#parallel-chart', 'pointCount', '3');
    await page.selectOption('#best-fraction', '0.1');
    await waitForData(page, '#parallel-chart', 'pointCount', '1');

    // Six completed trials and the running one reported eval_loss (4 points each); the failed one did not.
    await waitForData(page, '#metrics-chart', 'seriesCount', '7');
    assert.equal(await page.locator('#metrics-chart').getAttribute('data-point-count'), '28');
    assert.equal(await page.locator('#metrics-chart').getAttribute('data-stopped-count'), '0');
    assert.match(await page.locator('#gpu-hours').innerText(), /^3 used, 0 saved by early stopping/);

    const rows = page.locator('[data-page="study"] table.data tbody tr');
    assert.equal(await rows.count(), 8);
    assert.equal(await rows.first().getAttribute('data-trial-number'), '8', 'newest first');
    const headers = await page.locator('[data-page="study"] table.data th').allInnerTexts();
    assert.deepEqual(
      headers.map((text) => text.replace(/ [▲▼]$/, '')),
      [
        '#',
        'Status',
        'Origin',
        'x',
        'y',
        'loss',
        'c',
        'runtime',
        'Runner',
        'Regime',
        'Adapter',
        'Duration',
        'Finished',
      ],
    );
    // What each completed trial was trained with (the regime hash, short) and where its adapter lies.
    const fourth = page.locator('tr[data-trial-number="4"]');
    assert.match(await fourth.innerText(), /0123456789ab\s+trial-4/);
    assert.equal(await fourth.locator('[data-adapter]').getAttribute('title'), '/adapters/dashboard-e2e/trial-4');
    assert.equal(await page.locator('#best-adapter').innerText(), '/adapters/dashboard-e2e/trial-4');
    await page.click('th:text-is("loss")');
    assert.equal(await rows.first().getAttribute('data-trial-number'), '6', 'sorted by loss, smallest first');
    assert.match(await page.locator('tr[data-trial-number="7"]').innerText(), /failed/);
    assert.match(await page.locator('tr[data-trial-number="8"]').innerText(), /running[\s\S]*gpu-node-1/);

    // The engine's frame size, one per parameter, and its stop reason.
    const frame = await page.locator('#frame-size .size').allInnerTexts();
    assert.equal(frame.length, 2);
    assert.match(frame[0], /^x /);
    assert.match(await page.locator('#engine-stop-reason').innerText(), /none|running/);

    for (const [format, pattern] of [
      ['csv', /loss/],
      ['nomad', /\d/],
    ] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#download-${format}`)]);
      assert.equal(download.suggestedFilename(), `dashboard-e2e-history.${format === 'csv' ? 'csv' : 'txt'}`);
      const text = readFileSync(await download.path(), 'utf8');
      assert.match(text, pattern, `${format} history`);
    }
    await close();
  });

  it('lists runners: online, what each runs, last heartbeat, GPUs', async () => {
    const { page, close } = await openPage();
    await page.click('nav a[href="#/runners"]');
    const row = page.locator(`tr[data-runner-id="${runner.id}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[0], 'gpu-node-1');
    assert.equal(cells[1], 'online');
    assert.equal(cells[2], 'healthy');
    assert.equal(cells[3], 'dashboard-e2e #8');
    assert.match(cells[4], /just now|ago/);
    assert.equal(cells[5], '1 × 80 GiB');
    assert.equal(cells[6], 'a100');
    assert.equal(await row.locator(`a[href="#/studies/${studyId}"]`).count(), 1);
    await close();
  });

  it('shows a trial completed while the page is open, without reload', async () => {
    const { page, close } = await openPage();
    await page.click(`a[href="#/studies/${studyId}"]`);
    await waitForData(page, '#convergence-chart', 'pointCount', '6');
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));

    const trial = await leaseTrial(test, runner, studyId);
    await completeTrial(test, runner, trial.id, { loss: 2, c: -1, runtime: 30 });

    await waitForData(page, '#convergence-chart', 'pointCount', '7');
    await waitForData(page, '#convergence-chart', 'feasibleCount', '5');
    await page.locator(`tr[data-trial-number="${trial.number}"][data-status="completed"]`).waitFor();
    await page.locator('#best-value').filter({ hasText: /^2 / }).waitFor();
    assert.equal(await page.locator('#parallel-chart').getAttribute('data-point-count'), '7');
    assert.deepEqual(navigations, [], 'no reload');
    assert.match(await page.locator('tr[data-trial-number="8"]').innerText(), /running/, 'the other trial still runs');
    await close();
  });

  it('shows a study whose X0 failed in red with its reason, and a quarantined runner with why', async () => {
    const failing = await createStudy(test, userKey, quadraticStudy({ name: 'x0-fails', algorithm: { name: 'mads' } }));
    const failingId = String(failing.id);
    const x0 = await leaseTrial(test, runner, failingId);
    await failTrial(test, runner, x0.id, 'loss is NaN');
    const broken = await registerRunner(test, await createKey(test, 'runner'), 'no-data-node');
    const other = await createStudy(test, userKey, quadraticStudy({ name: 'for-the-broken-runner' }));
    for (let failure = 0; failure < 3; failure += 1) {
      const trial = await leaseTrial(test, broken, String(other.id));
      expectStatus(
        await test.http
          .post(`/v1/trials/${trial.id}/fail`)
          .set(...auth(broken.token))
          .send({ error: 'missing /data/instructions/train.json', kind: 'runner' }),
        200,
      );
    }
    const { page, close } = await openPage();
    const studyStatus = page.locator(`a[href="#/studies/${failingId}"]`).locator('xpath=ancestor::tr');
    await studyStatus.locator('[data-status="failed"]').waitFor();
    const reason = studyStatus.locator('[data-stop-reason="x0_failed"]');
    assert.match(await reason.innerText(), /every starting point \(X0\) failed/);
    assert.match(String(await reason.getAttribute('class')), /error/);
    assert.equal(
      await page.evaluate(`getComputedStyle(document.querySelector('[data-stop-reason="x0_failed"]')).color`),
      'rgb(185, 28, 28)',
      'the reason is red',
    );
    assert.match(
      await studyStatus.locator('[data-warning="evaluations-mostly-failed"]').innerText(),
      /1 of 1 evaluations failed/,
    );
    await page.click('nav a[href="#/runners"]');
    const row = page.locator(`tr[data-runner-id="${broken.id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-health'), 'quarantined');
    assert.match(await row.locator('[data-health-reason]').innerText(), /3 runner failures in a row.*train\.json/);
    assert.match(await page.locator('[data-page="runners"] header').innerText(), /1 quarantined/);
    await close();
  });
  it('the project switch: an admin key sees every project or one, a user key its own only', async () => {
    const team = expectStatus(
      await test.http
        .post('/v1/projects')
        .set(...auth(test.adminKey))
        .send({ name: 'team-b' }),
      201,
    ).body.id as string;
    const other = await createStudy(test, test.adminKey, quadraticStudy({ name: 'team-b-study', projectId: team }));
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await signIn(page, test.url, test.adminKey);
    const switcher = page.locator('select#project');
    await page.locator(`tr[data-study-id="${String(other.id)}"]`).waitFor();
    assert.deepEqual(await switcher.locator('option').allInnerTexts(), ['All projects', 'default', 'team-b']);
    await switcher.selectOption({ label: 'team-b' });
    await page.locator(`tr[data-study-id="${studyId}"]`).waitFor({ state: 'detached' });
    // The table may be emptied before team B's list arrives: wait for its row, then count it.
    await page.locator(`tr[data-study-id="${String(other.id)}"]`).waitFor();
    assert.equal(await page.locator(`tr[data-study-id="${String(other.id)}"]`).count(), 1);
    assert.equal(await page.locator(`tr[data-study-id="${studyId}"]`).count(), 0);
    await context.close();
    // A user key of the default project: its project only, the switch fixed, team B's study absent.
    const { page: userPage, close } = await openPage();
    await userPage.locator(`tr[data-study-id="${studyId}"]`).waitFor();
    assert.deepEqual(await userPage.locator('select#project option').allInnerTexts(), ['default']);
    assert.equal(await userPage.locator('select#project').isDisabled(), true);
    assert.equal(await userPage.locator(`tr[data-study-id="${String(other.id)}"]`).count(), 0);
    await close();
  });
});
