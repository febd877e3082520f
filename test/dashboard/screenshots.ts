/**
 * Writes docs/screenshots/*.png: the dashboard's pages on a seeded BBO3-like study, in Debian's
 * chromium. Not a test; run after a build (the dashboard module registered, the web app built):
 *   node dist/test/dashboard/screenshots.js
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bbo3Example, createKey, createStudy, registerRunner } from '../support/api-client';
import { startTestServer } from '../support/test-server';
import { completeTrial, launchChromium, leaseTrial, reportMetrics, signIn, waitForData } from './fixture';

/** A smooth made-up validation loss over the BBO3 space, lowest near rank 16, alpha 256, dropout 1e-3. */
function syntheticLoss(parameters: Record<string, number | string>): number {
  const rank = Number(parameters.lora_rank);
  const alpha = Number(parameters.lora_alpha);
  const dropout = Number(parameters.lora_dropout);
  const jitter = Math.sin(rank * 7.1 + alpha * 0.37) * 0.004;
  return (
    1.02 +
    0.012 * (Math.log2(rank) - 4) ** 2 +
    0.006 * (Math.log2(alpha) - 8) ** 2 +
    0.25 * Math.abs(dropout - 1e-3) +
    jitter
  );
}

async function main(): Promise<void> {
  const outDir = join(process.cwd(), 'docs/screenshots');
  mkdirSync(outDir, { recursive: true });
  const browser = await launchChromium();
  const test = await startTestServer();
  try {
    const userKey = await createKey(test, 'user');
    const runnerKey = await createKey(test, 'runner');
    const runners = [
      await registerRunner(test, runnerKey, 'gpu-node-1'),
      await registerRunner(test, runnerKey, 'gpu-node-2'),
    ];
    const example = bbo3Example();
    const study = await createStudy(test, userKey, example);
    await createStudy(test, userKey, {
      ...example,
      name: 'bbo3-mmlu',
      description: 'Same space, MMLU maximised.',
      outputs: [{ name: 'mmlu', type: 'objective', goal: 'maximize' }],
    });
    const studyId = String(study.id);
    for (let index = 0; index < 24; index += 1) {
      const runner = runners[index % 2];
      const trial = await leaseTrial(test, runner, studyId);
      const loss = syntheticLoss(trial.parameters);
      const curve = [0, 1, 2, 3, 4, 5].map((step) => loss + 0.9 * Math.exp(-step / 1.6));
      await reportMetrics(test, runner, trial.id, 'eval_loss', curve);
      if (index >= 22) continue; // the last two stay running, one per runner
      await completeTrial(test, runner, trial.id, {
        val_loss: loss,
        eval_runtime: 410 + index,
        train_loss: loss - 0.08,
        train_runtime: 4300 + 17 * index,
      });
    }

    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${test.url}/#/`);
    await page.fill('#api-key', 'mt_user_wrong');
    await page.click('form.sign-in button[type=submit]');
    await page.locator('#sign-in-error').waitFor({ state: 'visible' });
    await page.screenshot({ path: join(outDir, 'sign-in.png') });

    await signIn(page, test.url, userKey, 1000);
    await page.locator(`tr[data-study-id="${studyId}"]`).waitFor();
    await page.screenshot({ path: join(outDir, 'studies.png') });

    await page.click(`a[href="#/studies/${studyId}"]`);
    await waitForData(page, '#convergence-chart', 'pointCount', '22');
    await waitForData(page, '#metrics-chart', 'seriesCount', '24');
    await page.screenshot({ path: join(outDir, 'study.png'), fullPage: true });

    await page.click('nav a[href="#/runners"]');
    await page.locator('[data-page="runners"] tbody tr').first().waitFor();
    await page.screenshot({ path: join(outDir, 'runners.png') });
    await context.close();
    process.stdout.write(`screenshots written to ${outDir}\n`);
  } finally {
    await browser.close();
    await test.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
