/**
 * Runs NOMAD 4 (PyNomadBBO, through nomad_driver.py) on the problem set in a child process.
 *
 * The venv comes from api/bench/ensure-venv.sh (outside the repository). A NOMAD trace is a pure
 * function of the problem, the seed, the Python functions (functions.py; for the unseen set also
 * unseen_functions.py) and the pinned PyNomadBBO version, so each run's trace is kept under
 * ~/.cache/meshtune/nomad-traces/ keyed by a hash of these; `--fresh-nomad` ignores that cache.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { budgetOf, type BenchProblem } from './problems';
import type { RunTrace } from './traces';
import { unseenFunctions } from './unseen-functions';

/** Bump when nomad_driver.py changes what it records, so cached traces are not reused. */
const TRACE_FORMAT = 2;

export interface CheckPoint {
  problemId: string;
  x: number[];
}

export interface NomadResult {
  pynomadVersion: string;
  /** SMAC3's version when the BO anchor ran ('' otherwise). */
  smacVersion: string;
  runs: RunTrace[];
  checks: (CheckPoint & { outputs: number[] })[];
  /** Runs read from the trace cache instead of being run. */
  cachedRuns: number;
}

export interface NomadOptions {
  seeds: readonly number[];
  /** BB_MAX_BLOCK_SIZE of each run set (1 = sequential). */
  blockSizes: readonly number[];
  /** Also run Optuna's TPE (sequential, up to 20·(n+1) evaluations) on each (problem, seed). */
  tpe?: boolean;
  /** Also run SMAC3's black-box facade (sequential, up to 20·(n+1) evaluations), in its own venv. */
  bo?: boolean;
  /** SMAC3's budget in simplex gradients (default 20: 20·(n+1) evaluations). */
  boFactor?: number;
  workers: number;
  fresh: boolean;
  checkPoints: readonly CheckPoint[];
}

/** The source folder of this benchmark (the scripts are not copied into dist-engine/). */
export function benchSourceDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'api', 'bench', 'engine');
    if (fs.existsSync(path.join(candidate, 'nomad_driver.py'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`nomad_driver.py not found above ${__dirname}`);
  }
}

function cacheRoot(): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'meshtune');
}

type NomadJobProblem = ReturnType<typeof nomadJobProblem>;

/** The benchmark's Python (the venv with the pinned PyNomadBBO), for tools that run NOMAD alone. */
export function nomadPython(): string {
  return ensureVenv(benchSourceDir(), 'requirements.txt', 'bench-venv');
}
type Solver = 'nomad' | 'tpe' | 'smac';

function ensureVenv(sourceDir: string, requirements: string, name: string): string {
  return execFileSync(
    'bash',
    [path.join(sourceDir, '..', 'ensure-venv.sh'), path.join(sourceDir, requirements), name],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ).trim();
}

interface MissingRun {
  problem: NomadJobProblem;
  seed: number;
  blockSize: number;
  solver: Solver;
  file: string;
}

interface DriverOutput {
  pynomadVersion: string;
  smacVersion: string;
  runs: RunTrace[];
  checks: (CheckPoint & { outputs: number[] })[];
}

/** One nomad_driver.py process on `runs` (and the check points) with the given venv's python. */
async function runDriver(
  python: string,
  sourceDir: string,
  jobProblems: readonly NomadJobProblem[],
  runs: readonly MissingRun[],
  workers: number,
  checkPoints: readonly CheckPoint[],
  label: string,
  boFactor = 20,
): Promise<DriverOutput> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshtune-bench-'));
  const jobFile = path.join(workDir, 'job.json');
  const outFile = path.join(workDir, 'traces.json');
  const logFile = path.join(workDir, 'driver.log');
  fs.writeFileSync(
    jobFile,
    JSON.stringify({
      problems: jobProblems,
      runs: runs.map(({ problem, seed, blockSize, solver, file }) => ({
        problemId: problem.id,
        seed,
        blockSize,
        solver,
        cacheFile: file,
      })),
      workers,
      checkPoints,
      boBudgetFactor: boFactor,
    }),
  );
  // The log takes the solvers' console output: a pipe could fill up while the main thread runs MADS.
  const log = fs.openSync(logFile, 'w');
  // One BLAS thread per process: on a loaded machine, spinning BLAS threads slowed SMAC's GP fits.
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const child = spawn(python, [path.join(sourceDir, 'nomad_driver.py'), jobFile, outFile], {
    cwd: sourceDir,
    stdio: ['ignore', log, log],
    env,
  });
  if (runs.length > 0) {
    process.stderr.write(`bench:engine: ${label} running ${runs.length} runs in the background (log: ${logFile})\n`);
  }
  // Ctrl-C on the benchmark also stops the driver (finished runs stay cached).
  const stopChild = (): void => {
    child.kill('SIGTERM');
    process.exit(130);
  };
  process.once('SIGINT', stopChild).once('SIGTERM', stopChild);
  const code = await waitForExit(child);
  process.off('SIGINT', stopChild).off('SIGTERM', stopChild);
  fs.closeSync(log);
  if (code !== 0) {
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`nomad_driver.py (${label}) exited with ${code}:\n${tail}`);
  }
  const result = JSON.parse(fs.readFileSync(outFile, 'utf8')) as DriverOutput;
  fs.rmSync(workDir, { recursive: true, force: true });
  return result;
}

export function nomadJobProblem(p: BenchProblem) {
  return {
    id: p.id,
    function: p.function,
    params: p.params,
    types: p.variables.map((v) => v.type),
    lower: p.variables.map((v) => v.lowerBound),
    upper: p.variables.map((v) => v.upperBound),
    granularity: p.variables.map((v) => v.granularity),
    x0: p.x0,
    outputTypes: p.outputTypes,
    budget: budgetOf(p),
  };
}

/**
 * Where the trace of one NOMAD run is cached: keyed by what changes it (the problem as NOMAD
 * sees it, the seed, the Python functions, the pinned version, the driver's trace format).
 */
export function runCacheFile(
  sourceDir: string,
  problem: NomadJobProblem,
  seed: number,
  blockSize: number,
  solver: Solver = 'nomad',
  boFactor = 20,
): string {
  const key =
    solver === 'nomad'
      ? { problem, seed, blockSize, TRACE_FORMAT }
      : solver === 'smac'
        ? { problem, seed, solver, boFactor, TRACE_FORMAT }
        : { problem, seed, solver, TRACE_FORMAT };
  const hash = createHash('sha256').update(JSON.stringify(key));
  for (const file of ['functions.py', 'requirements.txt']) {
    hash.update(fs.readFileSync(path.join(sourceDir, file)));
  }
  // The unseen set's functions live in their own file, hashed only for its problems, so that the
  // keys of the bench's own runs stay valid.
  if (unseenFunctions[problem.function] !== undefined) {
    hash.update(fs.readFileSync(path.join(sourceDir, 'unseen_functions.py')));
  }
  // Added only for the new solver, so that the keys of the runs cached before it stay valid.
  if (solver === 'smac') hash.update(fs.readFileSync(path.join(sourceDir, 'requirements-bo.txt')));
  const kind = solver === 'nomad' ? `block${blockSize}` : solver;
  const name = `${problem.id}-seed${seed}-${kind}-${hash.digest('hex').slice(0, 16)}.json`;
  return path.join(cacheRoot(), 'nomad-traces', name);
}

function waitForExit(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

export async function runNomad(problems: readonly BenchProblem[], options: NomadOptions): Promise<NomadResult> {
  const sourceDir = benchSourceDir();
  const python = ensureVenv(sourceDir, 'requirements.txt', 'bench-venv');

  const jobProblems = problems.map(nomadJobProblem);
  const cached: RunTrace[] = [];
  const missing: MissingRun[] = [];
  const sets: { blockSize: number; solver: Solver }[] = [
    ...options.blockSizes.map((blockSize) => ({ blockSize, solver: 'nomad' as const })),
    ...(options.tpe === true ? [{ blockSize: 1, solver: 'tpe' as const }] : []),
    ...(options.bo === true ? [{ blockSize: 1, solver: 'smac' as const }] : []),
  ];
  // Seed-major order: if a long run is interrupted, the cached runs cover whole seeds.
  for (const { blockSize, solver } of sets) {
    for (const seed of options.seeds) {
      for (const problem of jobProblems) {
        const file = runCacheFile(sourceDir, problem, seed, blockSize, solver, options.boFactor ?? 20);
        if (!options.fresh && fs.existsSync(file)) cached.push(JSON.parse(fs.readFileSync(file, 'utf8')) as RunTrace);
        else missing.push({ problem, seed, blockSize, solver, file });
      }
    }
  }
  const boRuns = missing.filter((m) => m.solver === 'smac');
  // The driver also evaluates the check points, so it runs even when every trace is cached.
  const [main, bo] = await Promise.all([
    runDriver(
      python,
      sourceDir,
      jobProblems,
      missing.filter((m) => m.solver !== 'smac'),
      options.workers,
      options.checkPoints,
      'NOMAD/TPE',
    ),
    boRuns.length > 0
      ? runDriver(
          ensureVenv(sourceDir, 'requirements-bo.txt', 'bench-bo-venv'),
          sourceDir,
          jobProblems,
          boRuns,
          options.workers,
          [],
          'SMAC3',
          options.boFactor ?? 20,
        )
      : null,
  ]);
  const solverRank: Record<string, number> = { nomad: 0, tpe: 1, smac: 2 };
  const order = (run: RunTrace): number =>
    solverRank[run.solver ?? 'nomad'] * 1e12 +
    (run.blockSize ?? 1) * 1e9 +
    jobProblems.findIndex((p) => p.id === run.problemId) * 1e6 +
    run.seed;
  const runs = [...cached, ...main.runs, ...(bo?.runs ?? [])].sort((a, b) => order(a) - order(b));
  const smacVersion = bo?.smacVersion ?? (runs.some((r) => r.solver === 'smac') ? readSmacVersion(sourceDir) : '');
  return { pynomadVersion: main.pynomadVersion, smacVersion, runs, checks: main.checks, cachedRuns: cached.length };
}

/** The pinned SMAC version (when every SMAC trace came from the cache). */
function readSmacVersion(sourceDir: string): string {
  const line = fs
    .readFileSync(path.join(sourceDir, 'requirements-bo.txt'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('smac=='));
  return line === undefined ? '' : line.slice('smac=='.length);
}
