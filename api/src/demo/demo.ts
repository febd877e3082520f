import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiKeysService } from '../auth/api-keys.service';
import { DomainError } from '../common/errors/domain-error';
import { loadConfig } from '../config/app-config';
import { startServer } from '../main';

/**
 * `npm run demo`: the API on the embedded PostgreSQL, the seed's BBO3 study pointed at a tiny
 * Llama and synthetic instruction data, one local runner on CPU with its progress shown, and a
 * short report at the end (X0 against the best trial, evaluations, wall and CPU time).
 * The runner's Python environment is made on first use. Every key the demo makes is revoked when
 * it ends, so repeated runs leave no valid keys behind in the data folder.
 */
const root = process.cwd();
const budget = Number(process.env.MESHTUNE_DEMO_BUDGET ?? 6);
/** The runner reports progress itself; the Hugging Face libraries' progress bars would interleave with it. */
const QUIET_HUGGING_FACE = {
  HF_HUB_DISABLE_PROGRESS_BARS: '1',
  HF_DATASETS_DISABLE_PROGRESS_BARS: '1',
  TRANSFORMERS_NO_ADVISORY_WARNINGS: '1',
};
/** The runner leaves once it has had nothing to lease for this long (the study is over by then). */
const RUNNER_IDLE_EXIT_SECONDS = 5;

interface Trial {
  number: number;
  origin: string;
  status: string;
  parameters: Record<string, number | string>;
  outputs: Record<string, number> | null;
  runnerId: string | null;
}

/** What the demo made in the database, to revoke when it ends. */
interface MadeByDemo {
  keyIds: string[];
  /** Runners that worked on the demo's study: their runner tokens are keys bound to them. */
  runnerIds: Set<string>;
}

function step(message: string): void {
  const bold = process.stdout.isTTY ? (text: string) => `\u001b[1m${text}\u001b[0m` : (text: string) => text;
  process.stdout.write(`\n${bold('demo:')} ${message}\n`);
}

/** Four significant digits: what a person compares, not what a float holds. */
function round(value: number): string {
  return Number(value.toPrecision(4)).toString();
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/**
 * CPU seconds of this process's children that have exited and been waited for (Linux
 * /proc/self/stat cutime + cstime): the runner and the training processes it waited for.
 */
function childCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command name start at field 3 (state); cutime and cstime are fields 16 and 17.
  const ticks = Number(fields[16 - 3]) + Number(fields[17 - 3]);
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return ticks / ticksPerSecond;
}

async function main(): Promise<void> {
  step('preparing the runner environment (first use downloads torch; several minutes)');
  const venv = execFileSync('bash', [join(root, 'python-runner/scripts/ensure-venv.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const assetsDir = resolve(process.env.MESHTUNE_DEMO_DIR ?? '.meshtune/demo-assets');
  step(`building the tiny demo model and data in ${assetsDir}`);
  // Its stdout (the paths, read back below) and the Hugging Face save bars are not for the reader.
  execFileSync(join(venv, 'bin/python'), ['-m', 'meshtune_runner.demo_assets', assetsDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...QUIET_HUGGING_FACE },
  });
  const trainingConfig = JSON.parse(readFileSync(join(assetsDir, 'training-config.json'), 'utf8')) as Record<
    string,
    unknown
  >;

  const config = loadConfig();
  // Loopback unless HOST says otherwise: the demo's keys are printed in clear.
  const host = process.env.HOST?.trim() || '127.0.0.1';
  const adminKey = config.adminKey ?? `mt_admin_demo_${randomBytes(24).toString('base64url')}`;
  step('starting the API on the embedded PostgreSQL');
  const server = await startServer({
    ...config,
    host,
    adminKey,
    logLevel: 'warn',
    // The runner asks again after 1 s when idle, so it notices the end of the study quickly.
    leaseRetryAfterSeconds: 1,
  });
  const keys = server.app.get(ApiKeysService);
  const made: MadeByDemo = { keyIds: [], runnerIds: new Set() };
  if (config.adminKey === null) made.keyIds.push((await keys.authenticate(adminKey))!.id);
  try {
    await runStudy(server.url, keys, made, venv, assetsDir, trainingConfig, config.dataDir);
  } finally {
    await revokeDemoKeys(keys, made);
    await server.close();
  }
}

async function runStudy(
  url: string,
  keys: ApiKeysService,
  made: MadeByDemo,
  venv: string,
  assetsDir: string,
  trainingConfig: Record<string, unknown>,
  dataDir: string,
): Promise<void> {
  const { key: userKey, entity: userEntity } = await keys.create('demo user', 'user');
  const { key: runnerKey, entity: runnerEntity } = await keys.create('demo runner', 'runner');
  made.keyIds.push(userEntity.id, runnerEntity.id);

  const example = JSON.parse(readFileSync(join(root, 'docs/examples/bbo3.json'), 'utf8')) as Record<string, unknown>;
  const objective = (example.outputs as { name: string; type: string }[]).find((o) => o.type === 'objective')!.name;
  const body = {
    ...example,
    name: `bbo3 demo (tiny Llama, ${budget} evaluations)`,
    // The example's own description is of LLaMA-2-7B in 50 evaluations: not what this study runs.
    description: `BBO3's search space (docs/examples/bbo3.json) on a tiny randomly initialised Llama and synthetic instruction data, ${budget} evaluations on one CPU runner (npm run demo).`,
    budget: { ...(example.budget as object), maxEvaluations: budget, maxParallelTrials: 1, leaseSeconds: 300 },
    trainingConfig,
  };
  const created = await fetch(`${url}/v1/studies`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${userKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (created.status !== 201) throw new Error(`creating the study failed: ${created.status} ${await created.text()}`);
  const study = (await created.json()) as { id: string };
  const keepServing = process.env.MESHTUNE_DEMO_KEEP_SERVING ?? (process.stdout.isTTY ? '1' : '0');
  step(
    keepServing === '1'
      ? `study ${study.id} created; dashboard: ${url}/#/studies/${study.id} (sign in with ${userKey})`
      : `study ${study.id} created`,
  );

  step('running one local runner on CPU');
  const cpuBefore = childCpuSeconds();
  const startedAt = performance.now();
  // A fresh runner state each run: the previous run's runner token was revoked with the other keys.
  const stateDir = join(assetsDir, 'runner-state');
  rmSync(stateDir, { recursive: true, force: true });
  const runner = spawn(
    join(venv, 'bin/meshtune-runner'),
    [
      ...['--url', url, '--study', study.id, '--gpus', 'none', '--state-dir', stateDir],
      // The study's model and data lie there: a runner reads a study's paths only under its
      // data root (docs/runner.md, "What a study may ask of a runner").
      ...['--data-root', assetsDir],
      ...['--exit-when-idle', String(RUNNER_IDLE_EXIT_SECONDS)],
    ],
    {
      stdio: 'inherit',
      env: {
        ...process.env,
        MESHTUNE_API_KEY: runnerKey,
        ...QUIET_HUGGING_FACE,
      },
    },
  );
  const runnerExit = new Promise<number | null>((resolveExit) => runner.on('exit', resolveExit));
  const interrupt = (): void => {
    runner.kill('SIGTERM');
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${userKey}` } });
    return (await response.json()) as T;
  };
  let status = 'active';
  while (status === 'active' && runner.exitCode === null) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
    status = (await get<{ status: string }>(`/v1/studies/${study.id}`)).status;
  }
  // Normally the runner leaves by itself (--exit-when-idle) once the study is over; SIGTERM (the
  // runner then logs that it drains) only if it has not after a while.
  const leftAlone = await Promise.race([
    runnerExit.then(() => true),
    new Promise<boolean>((resolveWait) => setTimeout(() => resolveWait(false), (RUNNER_IDLE_EXIT_SECONDS + 30) * 1000)),
  ]);
  if (!leftAlone) runner.kill('SIGTERM');
  await runnerExit;
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const cpuSeconds = childCpuSeconds() - cpuBefore;

  const finished = await get<{ status: string; stopReason: string | null; evaluationCount: number }>(
    `/v1/studies/${study.id}`,
  );
  const trials = (await get<{ items: Trial[] }>(`/v1/studies/${study.id}/trials?limit=200`)).items;
  for (const trial of trials) if (trial.runnerId !== null) made.runnerIds.add(trial.runnerId);
  const x0 = trials.find((trial) => trial.origin === 'x0' && trial.outputs?.[objective] !== undefined);
  const best = trials.length > 0 ? await get<Trial>(`/v1/studies/${study.id}/best`) : null;
  const bestValue = best?.outputs?.[objective];

  step(`study ${finished.status} (${finished.stopReason ?? 'no stop reason'})`);
  const lines = [`evaluations: ${finished.evaluationCount}`];
  if (x0?.outputs)
    lines.push(`X0 (trial ${x0.number}, the study's starting point): ${objective} ${round(x0.outputs[objective])}`);
  if (best && bestValue !== undefined) {
    lines.push(`best: trial ${best.number}, ${objective} ${round(bestValue)}`);
    if (x0?.outputs) {
      const start = x0.outputs[objective];
      const change = start - bestValue;
      lines.push(
        change > 0
          ? `improvement over X0: ${round(change)} (${round((100 * change) / Math.abs(start))}% lower)`
          : 'improvement over X0: none yet (X0 is still the best; a larger MESHTUNE_DEMO_BUDGET explores more)',
      );
    }
    const shown = Object.entries(best.parameters).map(
      ([name, value]) => `${name}=${typeof value === 'number' ? round(value) : value}`,
    );
    lines.push(`best configuration: ${shown.join(', ')}`);
  }
  lines.push(`wall time: ${duration(wallSeconds)}; CPU time (runner and training, no GPU): ${duration(cpuSeconds)}`);
  process.stdout.write(lines.map((line) => `  ${line}\n`).join(''));

  // On a terminal, keep the API and dashboard up so the URLs work; scripts get a clean exit.
  if (keepServing === '1') {
    process.stdout.write(`  API: ${url}/docs   dashboard: ${url}/#/studies/${study.id}\n`);
    process.stdout.write(`  user key for the dashboard (revoked when the demo ends): ${userKey}\n`);
    step(`serving the API and dashboard until Ctrl-C (the study stays in ${dataDir}; \`npm start\` serves it again)`);
    await new Promise<void>((resolveStop) => process.once('SIGINT', () => resolveStop()));
  } else {
    process.stdout.write(`  the study stays in ${dataDir}; \`npm start\` serves it and the dashboard again\n`);
  }
}

/**
 * Revokes the keys the demo made (its user and runner keys, the admin key it generated, and the
 * tokens of the runners that worked on its study); a configured MESHTUNE_ADMIN_KEY stays valid.
 */
async function revokeDemoKeys(keys: ApiKeysService, made: MadeByDemo): Promise<void> {
  const [active] = await keys.list(10_000, 0);
  for (const key of active) {
    if (!made.keyIds.includes(key.id) && (key.runnerId === null || !made.runnerIds.has(key.runnerId))) continue;
    try {
      // The demo revokes as itself, not as an API caller: there is no caller key to keep from revoking itself.
      await keys.revoke(key.id, '');
    } catch (error) {
      // Revoking the runner key revokes the runner tokens it minted: listed above, already gone.
      if (!(error instanceof DomainError && error.code === 'API_KEY_NOT_FOUND')) throw error;
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
