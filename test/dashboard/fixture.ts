import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { auth, expectStatus, lease, type TestRunner } from '../support/api-client';
import type { TestServer } from '../support/test-server';

/** Debian's chromium, as `.ci/run` installs it (apt-get install -y chromium): never a downloaded browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The dashboard tests drive Debian's chromium: .ci/run installs it ` +
        '(apt-get update && apt-get install -y chromium); set CHROMIUM_PATH to use another build. No browser is downloaded.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Opens the dashboard with a fast poll and signs in through the form, as a person would. */
export async function signIn(page: Page, baseUrl: string, key: string, pollMs = 500): Promise<void> {
  await page.goto(`${baseUrl}/?poll=${pollMs}#/`);
  await page.fill('#api-key', key);
  await page.click('form.sign-in button[type=submit]');
  await page.waitForSelector('[data-page="studies"]');
}

/** Waits until an element's data-* attribute reads `expected` (charts set their point counts there). */
export async function waitForData(
  page: Page,
  selector: string,
  name: string,
  expected: string,
  timeout = 15_000,
): Promise<void> {
  // An attribute selector, not a string to evaluate: the dashboard's Content-Security-Policy forbids `eval`.
  const attribute = `data-${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
  await page.locator(`${selector}[${attribute}=${JSON.stringify(expected)}]`).waitFor({ state: 'attached', timeout });
}

export interface LeasedTrial {
  id: string;
  number: number;
  parameters: Record<string, number | string>;
}

export async function leaseTrial(test: TestServer, runner: TestRunner, studyId: string): Promise<LeasedTrial> {
  return expectStatus(await lease(test, runner, studyId), 200).body.trial as LeasedTrial;
}

export async function reportMetrics(
  test: TestServer,
  runner: TestRunner,
  trialId: string,
  name: string,
  values: number[],
): Promise<void> {
  const metrics = values.map((value, step) => ({ name, step: step * 100, value }));
  expectStatus(
    await test.http
      .post(`/v1/trials/${trialId}/heartbeat`)
      .set(...auth(runner.token))
      .send({ progress: 0.5, metrics }),
    200,
  );
}

export async function completeTrial(
  test: TestServer,
  runner: TestRunner,
  trialId: string,
  outputs: Record<string, number>,
  gpuSeconds?: number,
  /** More of the report: `effectiveConfig`, `adapter`. */
  extra: Record<string, unknown> = {},
): Promise<void> {
  if (gpuSeconds !== undefined) {
    // The simulated run lasted that long: its lease began gpuSeconds ago. A runner may claim no more
    // than its GPUs × the time since its lease began (docs/reliability.md, finding 47).
    await test.get(DataSource).query(
      `UPDATE trial_leases SET leased_at = leased_at - make_interval(secs => $2)
          WHERE trial_id = $1 AND attempt = (SELECT attempt FROM trials WHERE id = $1)`,
      [trialId, gpuSeconds],
    );
  }
  expectStatus(
    await test.http
      .post(`/v1/trials/${trialId}/complete`)
      .set(...auth(runner.token))
      .send(gpuSeconds === undefined ? { outputs, ...extra } : { outputs, gpuSeconds, ...extra }),
    200,
  );
}

export async function failTrial(test: TestServer, runner: TestRunner, trialId: string, error: string): Promise<void> {
  expectStatus(
    await test.http
      .post(`/v1/trials/${trialId}/fail`)
      .set(...auth(runner.token))
      .send({ error }),
    200,
  );
}
