import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiKeysService } from '../auth/api-keys.service';
import { loadConfig } from '../config/app-config';
import { startServer } from '../main';

/**
 * `npm run demo`: the API on the embedded PostgreSQL, the seed's BBO3 study pointed at a tiny
 * Llama and synthetic instruction data, one local runner on CPU with its progress shown, and
 * the best configuration at the end. The runner's Python environment is made on first use.
 */
const root = process.cwd();
const budget = Number(process.env.MESHTUNE_DEMO_BUDGET ?? 6);

function step(message: string): void {
  process.stdout.write(`\n\u001b[1mdemo:\u001b[0m ${message}\n`);
}

async function main(): Promise<void> {
  step('preparing the runner environment (first use downloads torch; several minutes)');
  const venv = execFileSync('bash', [join(root, 'python-runner/scripts/ensure-venv.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const assetsDir = resolve(process.env.MESHTUNE_DEMO_DIR ?? '.meshtune/demo-assets');
  step(`building the tiny demo model and data in ${assetsDir}`);
  execFileSync(join(venv, 'bin/python'), ['-m', 'meshtune_runner.demo_assets', assetsDir], { stdio: 'inherit' });
  const trainingConfig = JSON.parse(readFileSync(join(assetsDir, 'training-config.json'), 'utf8')) as Record<
    string,
    unknown
  >;

  const config = loadConfig();
  const adminKey = config.adminKey ?? `mt_admin_demo_${randomBytes(24).toString('base64url')}`;
  step('starting the API on the embedded PostgreSQL');
  const server = await startServer({ ...config, adminKey, logLevel: 'warn' });
  const keys = server.app.get(ApiKeysService);
  const { key: userKey } = await keys.create('demo user', 'user');
  const { key: runnerKey } = await keys.create('demo runner', 'runner');

  const example = JSON.parse(readFileSync(join(root, 'docs/examples/bbo3.json'), 'utf8')) as Record<string, unknown>;
  const body = {
    ...example,
    name: `bbo3 demo (tiny Llama, ${budget} evaluations)`,
    budget: { ...(example.budget as object), maxEvaluations: budget, maxParallelTrials: 1, leaseSeconds: 300 },
    trainingConfig,
  };
  const created = await fetch(`${server.url}/v1/studies`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${userKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (created.status !== 201) throw new Error(`creating the study failed: ${created.status} ${await created.text()}`);
  const study = (await created.json()) as { id: string };
  step(`study ${study.id} created; dashboard: ${server.url}/#/studies/${study.id} (sign in with ${userKey})`);

  step('running one local runner on CPU');
  const runner = spawn(
    join(venv, 'bin/meshtune-runner'),
    ['--url', server.url, '--study', study.id, '--gpus', 'none', '--state-dir', join(assetsDir, 'runner-state')],
    { stdio: 'inherit', env: { ...process.env, MESHTUNE_API_KEY: runnerKey } },
  );
  const runnerExit = new Promise<number | null>((resolveExit) => runner.on('exit', resolveExit));
  const interrupt = (): void => {
    runner.kill('SIGTERM');
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const get = async (path: string): Promise<Record<string, unknown>> =>
    (await (await fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${userKey}` } })).json()) as Record<
      string,
      unknown
    >;
  let status = 'active';
  while (status === 'active' && runner.exitCode === null) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
    status = String((await get(`/v1/studies/${study.id}`)).status);
  }
  runner.kill('SIGTERM');
  await runnerExit;

  const finished = await get(`/v1/studies/${study.id}`);
  const best = await get(`/v1/studies/${study.id}/best`);
  step(
    `study ${String(finished.status)} (${String(finished.stopReason)}) after ${String(finished.evaluationCount)} evaluations`,
  );
  process.stdout.write(
    `  best val_loss: ${JSON.stringify((best.outputs as Record<string, number> | undefined)?.val_loss)}\n`,
  );
  process.stdout.write(`  best configuration: ${JSON.stringify(best.parameters)}\n`);
  process.stdout.write(`  API: ${server.url}/docs   dashboard: ${server.url}/#/studies/${study.id}\n`);
  process.stdout.write(`  user key for the dashboard (this run only): ${userKey}\n`);
  // On a terminal, keep the API and dashboard up so the URLs above work; scripts get a clean exit.
  const keepServing = process.env.MESHTUNE_DEMO_KEEP_SERVING ?? (process.stdout.isTTY ? '1' : '0');
  if (keepServing === '1') {
    step(
      `serving the API and dashboard until Ctrl-C (the study stays in ${config.dataDir}; \`npm start\` serves it again)`,
    );
    await new Promise<void>((resolveStop) => process.once('SIGINT', () => resolveStop()));
  }
  await server.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
