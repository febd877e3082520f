/**
 * `npm run bench:fidelity`: what early stopping saves, side by side with Optuna's pruners, on the
 * same tabulated learning curves (docs/benchmarks.md, "Early stopping (bench:fidelity)").
 *
 * For every problem and seed: tabulate every configuration's curve (curves.ts); run meshtune's
 * sequential search over a fixed sequence with the policies none / median / curve (studies.ts);
 * write the curves to a JSON file and run Optuna (optuna_pruners.py, venv by api/bench/ensure-venv.sh)
 * with the replayed sequence and with TPE, each with its Nop / Median / SuccessiveHalving / Hyperband
 * pruners; compute the same figures for all (metrics.ts). It prints figures only.
 *
 * Usage: node dist-bench/api/bench/fidelity/run-fidelity-bench.js [--seeds N] [--trials N] [--steps T]
 *        [--problems id,id] [--no-optuna] [--keep]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_CURVE_POLICY, DEFAULT_MEDIAN_POLICY, type StoppingPolicy } from '../../src/early-stopping';
import { curveProblems, tabulate, type TabulatedCurves } from './curves';
import { median, studyFigures, type StudyFigures } from './metrics';
import { runSequentialStudy, type StudySettings, type TrialLog } from './studies';

const REPO = resolve(__dirname, '../../../..');

/** Targets: the full-length study's best final value plus ε of the gap to its median final value. */
const EPSILONS = [0.05, 0];
const SECONDS_PER_STEP = 1;

interface Options {
  seeds: number;
  trials: number;
  steps: number;
  problems: string[];
  optuna: boolean;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string, fallback: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 && at + 1 < argv.length ? argv[at + 1] : fallback;
  };
  return {
    seeds: Number(value('--seeds', '10')),
    trials: Number(value('--trials', '40')),
    steps: Number(value('--steps', '40')),
    problems: value('--problems', curveProblems.map((p) => p.id).join(',')).split(','),
    optuna: !argv.includes('--no-optuna'),
    keep: argv.includes('--keep'),
  };
}

const MESHTUNE_SYSTEMS: readonly { name: string; policy: StoppingPolicy }[] = [
  { name: 'meshtune_none', policy: { kind: 'none' } },
  { name: 'meshtune_median', policy: { ...DEFAULT_MEDIAN_POLICY } },
  { name: 'meshtune_curve_c0.90', policy: { ...DEFAULT_CURVE_POLICY, confidence: 0.9 } },
  { name: 'meshtune_curve_c0.95', policy: { ...DEFAULT_CURVE_POLICY } },
  { name: 'meshtune_curve_c0.99', policy: { ...DEFAULT_CURVE_POLICY, confidence: 0.99 } },
];

interface StudyRun {
  problem: string;
  seed: number;
  system: string;
  trials: TrialLog[];
  seconds: number;
}

function runOptuna(file: string): { version: string; studies: StudyRun[] } {
  const python = execFileSync(
    'bash',
    [join(REPO, 'api/bench/ensure-venv.sh'), join(REPO, 'api/bench/fidelity/requirements.txt'), 'bench-fidelity-venv'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ).trim();
  const out = execFileSync(python, [join(REPO, 'api/bench/fidelity/optuna_pruners.py'), file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 30,
  });
  const parsed = JSON.parse(out) as { optuna: string; studies: StudyRun[] };
  return { version: parsed.optuna, studies: parsed.studies };
}

/** The run without stopping of the same sampler: meshtune's sequence, Optuna's replay of it, or TPE. */
function ownReference(system: string): string {
  return system.startsWith('optuna_tpe')
    ? 'optuna_tpe_none'
    : system.startsWith('optuna_replay')
      ? 'optuna_replay_none'
      : 'meshtune_none';
}

const fmt = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? '∞' : 'n/a');

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const settings: StudySettings = {
    totalSteps: options.steps,
    secondsPerStep: SECONDS_PER_STEP,
    // Twice the full-length study's cost, so a system slower than it still gets a figure.
    maxGpuSeconds: 2 * options.trials * options.steps * SECONDS_PER_STEP,
    maxTrials: 400,
  };
  const fullStudyGpu = options.trials * options.steps * SECONDS_PER_STEP;
  const seeds = Array.from({ length: options.seeds }, (_, i) => i + 1);
  const problems = curveProblems.filter((p) => options.problems.includes(p.id));
  const tables = new Map<string, TabulatedCurves>();
  const runs: StudyRun[] = [];
  const key = (problem: string, seed: number) => `${problem}/${seed}`;

  for (const problem of problems) {
    for (const seed of seeds) {
      const tab = tabulate(problem, seed, options.steps);
      tables.set(key(problem.id, seed), tab);
      for (const { name, policy } of MESHTUNE_SYSTEMS) {
        const t0 = performance.now();
        // The full-length reference study is the first `trials` configurations of the sequence.
        const studySettings = name === 'meshtune_none' ? { ...settings, maxGpuSeconds: fullStudyGpu } : settings;
        const trials = runSequentialStudy(tab.curves, tab.sequence, policy, studySettings);
        runs.push({ problem: problem.id, seed, system: name, trials, seconds: (performance.now() - t0) / 1000 });
      }
      process.stderr.write(`bench:fidelity: ${problem.id} seed ${seed}: meshtune done\n`);
    }
  }

  let optunaVersion = 'not run';
  if (options.optuna) {
    const work = mkdtempSync(join(os.tmpdir(), 'meshtune-bench-fidelity-'));
    const file = join(work, 'curves.json');
    writeFileSync(
      file,
      JSON.stringify({
        settings: {
          ...settings,
          samplers: ['replay', 'tpe'],
          pruners: ['none', 'median', 'successive_halving', 'hyperband'],
        },
        problems: problems.map((problem) => ({
          id: problem.id,
          levels: problem.levels,
          seeds: seeds.map((seed) => {
            const tab = tables.get(key(problem.id, seed))!;
            return { seed, sequence: tab.sequence, curves: tab.curves };
          }),
        })),
      }),
    );
    process.stderr.write(`bench:fidelity: curves in ${file}; running Optuna\n`);
    const optuna = runOptuna(file);
    optunaVersion = optuna.version;
    runs.push(...optuna.studies);
    if (!options.keep) rmSync(work, { recursive: true, force: true });
  }

  report(options, settings, fullStudyGpu, tables, runs, optunaVersion, started);
}

interface SystemRow {
  ratios: number[][];
  /** GPU-s to target ε=0.05 over the same sampler's run without stopping. */
  ownRatios: number[];
  gpu: number[][];
  reached: number[];
  bestGap: number[];
  stopped: number;
  falseStops: number;
  trials: number;
  seconds: number;
}

function report(
  options: Options,
  settings: StudySettings,
  fullStudyGpu: number,
  tables: Map<string, TabulatedCurves>,
  runs: StudyRun[],
  optunaVersion: string,
  started: Date,
): void {
  const systems = [...new Set(runs.map((r) => r.system))];
  const rows = new Map<string, SystemRow>();
  for (const system of systems) {
    rows.set(system, {
      ratios: EPSILONS.map(() => []),
      ownRatios: [],
      gpu: EPSILONS.map(() => []),
      reached: EPSILONS.map(() => 0),
      bestGap: [],
      stopped: 0,
      falseStops: 0,
      trials: 0,
      seconds: 0,
    });
  }
  // Per problem: the ε = 0 ratios; per system: stops and false stops among late-drop curves (the
  // shape no extrapolation models), so that a figure good on average cannot hide either.
  const problemRatios = new Map<string, number[]>();
  const lateDrop = new Map<string, { stopped: number; falseStops: number }>();
  let studies = 0;
  let medianAgreement = 0;
  let medianCompared = 0;
  for (const [id, tab] of tables) {
    const [problem, seedText] = id.split('/');
    const seed = Number(seedText);
    const forStudy = runs.filter((r) => r.problem === problem && r.seed === seed);
    const reference = forStudy.find((r) => r.system === 'meshtune_none')!;
    const finals = reference.trials
      .filter((t) => t.state === 'complete')
      .map((t) => tab.curves[t.config][options.steps - 1]);
    const best = Math.min(...finals);
    const spread = median(finals) - best;
    const targets = EPSILONS.map((eps) => best + eps * spread);
    const figuresOf = (run: StudyRun): StudyFigures =>
      studyFigures(run.trials, tab.curves, options.steps, SECONDS_PER_STEP, targets, fullStudyGpu);
    const referenceFigures = figuresOf(reference);
    studies++;
    for (const run of forStudy) {
      const figures = figuresOf(run);
      const row = rows.get(run.system)!;
      const own = forStudy.find((r) => r.system === ownReference(run.system));
      if (own !== undefined) {
        row.ownRatios.push((figures.gpuToTarget[0] ?? Infinity) / (figuresOf(own).gpuToTarget[0] ?? Infinity));
      }
      EPSILONS.forEach((_, i) => {
        const gpu = figures.gpuToTarget[i] ?? Infinity;
        row.gpu[i].push(gpu);
        row.ratios[i].push(gpu / referenceFigures.gpuToTarget[i]!);
        if (figures.gpuToTarget[i] !== null) row.reached[i]++;
      });
      // Best final value at the full study's GPU-seconds, in units of the reference's spread.
      row.bestGap.push((figures.bestAtEqualGpu - best) / spread);
      const ratio0 = (figures.gpuToTarget[1] ?? Infinity) / referenceFigures.gpuToTarget[1]!;
      const perProblem = `${run.system}\u0000${problem}`;
      problemRatios.set(perProblem, [...(problemRatios.get(perProblem) ?? []), ratio0]);
      const late = lateDrop.get(run.system) ?? { stopped: 0, falseStops: 0 };
      let incumbent = Infinity;
      for (const trial of run.trials) {
        const fullFinal = tab.curves[trial.config][options.steps - 1];
        if (trial.state === 'pruned' && tab.shapes[trial.config] === 'late_drop') {
          late.stopped++;
          if (fullFinal < incumbent) late.falseStops++;
        } else if (trial.state === 'complete') incumbent = Math.min(incumbent, fullFinal);
      }
      lateDrop.set(run.system, late);
      row.stopped += figures.stopped;
      row.falseStops += figures.falseStops;
      row.trials += figures.trials;
      row.seconds += run.seconds;
    }
    const ours = forStudy.find((r) => r.system === 'meshtune_median');
    const theirs = forStudy.find((r) => r.system === 'optuna_replay_median');
    if (ours !== undefined && theirs !== undefined) {
      medianCompared++;
      const n = Math.min(ours.trials.length, theirs.trials.length);
      const same = ours.trials
        .slice(0, n)
        .every((t, i) => t.steps === theirs.trials[i].steps && t.state === theirs.trials[i].state);
      if (same) medianAgreement++;
    }
  }

  const lines: string[] = [];
  lines.push(`## bench:fidelity`);
  lines.push('');
  lines.push(
    `Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; ${options.problems.length} problems × ${options.seeds} seeds = ${studies} studies per system; ` +
      `${options.steps} steps per full trial, ${SECONDS_PER_STEP} GPU-second per step; full-length study = ${options.trials} trials (${fullStudyGpu} GPU-s); ` +
      `budget per study ${settings.maxGpuSeconds} GPU-s; Optuna ${optunaVersion}; Node ${process.version}; ${os.cpus().length} cores.`,
  );
  lines.push('');
  lines.push(
    `Ratios are GPU-seconds to reach the target over those of meshtune_none (the same sequence without stopping), median over studies; ` +
      `target ε = the reference's best final value + ε × (its median final value − its best). ` +
      `"best at equal GPU-s" is (best final value found within ${fullStudyGpu} GPU-s − the reference's best) / that spread, median (lower is better, < 0 beats the reference).`,
  );
  lines.push('');
  lines.push(
    '| system | GPU-s ratio to target ε=0.05 | vs own sampler without stopping | reached | GPU-s ratio to target ε=0 | reached | best at equal GPU-s | trials | stopped | false stops | solver s |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const system of systems) {
    const row = rows.get(system)!;
    const falseRate =
      row.stopped > 0 ? `${row.falseStops} (${((100 * row.falseStops) / row.stopped).toFixed(1)} %)` : '0';
    lines.push(
      `| ${system} | ${fmt(median(row.ratios[0]), 2)} | ${fmt(median(row.ownRatios), 2)} | ${row.reached[0]}/${studies} | ${fmt(median(row.ratios[1]), 2)} | ${row.reached[1]}/${studies} | ` +
        `${fmt(median(row.bestGap), 3)} | ${row.trials} | ${row.stopped} | ${falseRate} | ${row.seconds.toFixed(1)} |`,
    );
  }
  lines.push('');
  const problemIds = [...new Set([...tables.keys()].map((id) => id.split('/')[0]))];
  lines.push(
    `Per problem: GPU-s ratio to target ε=0, median over its seeds; late-drop curves: stopped, of which false stops.`,
  );
  lines.push('');
  lines.push(`| system | ${problemIds.join(' | ')} | late-drop stopped | late-drop false stops |`);
  lines.push(`| --- | ${problemIds.map(() => '---:').join(' | ')} | ---: | ---: |`);
  for (const system of systems) {
    const late = lateDrop.get(system) ?? { stopped: 0, falseStops: 0 };
    const cells = problemIds.map((id) => fmt(median(problemRatios.get(`${system}\u0000${id}`) ?? []), 2));
    const lateRate =
      late.stopped > 0 ? `${late.falseStops} (${((100 * late.falseStops) / late.stopped).toFixed(1)} %)` : '0';
    lines.push(`| ${system} | ${cells.join(' | ')} | ${late.stopped} | ${lateRate} |`);
  }
  lines.push('');
  if (medianCompared > 0) {
    lines.push(
      `Check: meshtune_median and optuna_replay_median (same sequence, Optuna MedianPruner) took identical decisions in ${medianAgreement}/${medianCompared} studies.`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
