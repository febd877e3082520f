/**
 * The cost of one engine call on the largest studies the API accepts (200 parameters, 100
 * outputs): every study's engine calls share the engine thread, so the slowest call of one study
 * is how long every other study may wait (docs/algorithm.md, "Cost of the models"). Each
 * configuration runs ask/tell on a smooth objective (and constraints when asked) with q points in
 * flight, for `--evaluations` evaluations or until `--cap-seconds` of CPU is spent (the cap is
 * checked between calls, so a call that never ends still hangs the run: that is the failure this
 * bench exists to show). CPU time of this process per call (user + system), so a busy machine
 * changes the figures little. Figures only.
 *
 * A second table runs small studies at the edges of what results may say: integer lattices the
 * engine exhausts (budget above the lattice's size: every iteration ends in cached points), and
 * outputs that are finite but extreme (±1e308, 5e-324, what the API's validation lets through),
 * under both presets.
 *
 *   npm run build:engine && node dist-engine/api/bench/engine/large-studies.js [--evaluations 300] [--edges-only | --categorical-only]
 */
import type { OutputType, ProblemSpec, VariableSpec } from '../../src/optimizer-contract/algorithm';
import { Mads } from '../../src/mads';

interface Config {
  /** R: continuous in [0, 1]; I: integers in [0, 1000]; M: alternating. */
  kind: 'R' | 'I' | 'M';
  n: number;
  constraints: number;
  inFlight: number;
  /** The first `count` variables are unordered categoricals of `values` categories (MADS polls each other category). */
  categorical?: { count: number; values: number };
}

const CONFIGS: Config[] = [
  { kind: 'R', n: 10, constraints: 0, inFlight: 1 },
  { kind: 'I', n: 10, constraints: 0, inFlight: 1 },
  { kind: 'R', n: 25, constraints: 0, inFlight: 1 },
  { kind: 'I', n: 25, constraints: 0, inFlight: 1 },
  { kind: 'R', n: 49, constraints: 0, inFlight: 1 },
  { kind: 'I', n: 49, constraints: 0, inFlight: 1 },
  { kind: 'M', n: 100, constraints: 0, inFlight: 1 },
  { kind: 'R', n: 200, constraints: 0, inFlight: 1 },
  { kind: 'I', n: 200, constraints: 0, inFlight: 1 },
  { kind: 'R', n: 10, constraints: 100, inFlight: 1 },
  { kind: 'I', n: 49, constraints: 100, inFlight: 1 },
  { kind: 'R', n: 49, constraints: 0, inFlight: 16 },
  { kind: 'I', n: 200, constraints: 20, inFlight: 16 },
  // At MAX_CATEGORICAL_POLL_VALUES (Σ(categories − 1) × variables ≤ 50,000; docs/reliability.md, finding 16).
  { kind: 'R', n: 22, constraints: 0, inFlight: 1, categorical: { count: 22, values: 100 } },
  { kind: 'R', n: 200, constraints: 0, inFlight: 1, categorical: { count: 200, values: 2 } },
  { kind: 'R', n: 200, constraints: 0, inFlight: 16, categorical: { count: 25, values: 11 } },
];

function value(argv: readonly string[], flag: string, fallback: number): number {
  const i = argv.indexOf(flag);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : fallback;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** CPU time of every engine call made through `timed`, in the order made. */
function callTimer(): { calls: number[]; timed: <T>(fn: () => T) => T } {
  const calls: number[] = [];
  const timed = <T>(fn: () => T): T => {
    const t = process.cpuUsage();
    const result = fn();
    calls.push(cpuMs(t));
    return result;
  };
  return { calls, timed };
}

function run(config: Config, evaluations: number, capSeconds: number): string {
  const categorical = config.categorical ?? { count: 0, values: 0 };
  const variables: VariableSpec[] = Array.from({ length: config.n }, (_, i) =>
    i < categorical.count
      ? { type: 'I', lowerBound: 0, upperBound: categorical.values - 1, granularity: 1, fixedValue: null }
      : config.kind === 'I' || (config.kind === 'M' && i % 2 === 1)
        ? { type: 'I', lowerBound: 0, upperBound: 1000, granularity: 1, fixedValue: null }
        : { type: 'R', lowerBound: 0, upperBound: 1, granularity: 0, fixedValue: null },
  );
  const unit = (x: readonly number[], i: number): number =>
    variables[i].type === 'I' ? x[i] / (variables[i].upperBound ?? 1000) : x[i];
  const objective = (x: readonly number[]): number =>
    x.reduce((s, _, i) => s + (unit(x, i) - 0.3 - 0.002 * i) ** 2 * (1 + (i % 3)), 0);
  const outputTypes: OutputType[] = ['OBJ', ...Array.from({ length: config.constraints }, (): OutputType => 'PB')];
  const problem: ProblemSpec = {
    variables,
    outputTypes,
    x0: [variables.map((v) => (v.type === 'I' ? Math.floor((v.upperBound ?? 1000) / 2) : 0.5))],
    maxEvaluations: 100_000,
    seed: 0,
  };
  const categoricalVariables = Array.from({ length: categorical.count }, (_, i) => i);
  const mads = Mads.create(problem, { categoricalVariables });
  const { calls, timed } = callTimer();
  const started = process.cpuUsage();
  const inFlight: number[][] = [];
  let told = 0;
  while (told < evaluations && cpuMs(started) < capSeconds * 1000) {
    inFlight.push(...timed(() => mads.ask(Math.max(1, config.inFlight - inFlight.length))).map((s) => s.x));
    const x = inFlight.shift();
    if (x === undefined) break;
    const f = objective(x);
    const outputs = [f, ...Array.from({ length: config.constraints }, (_, j) => Math.sin(f * (j + 1)) - 0.5)];
    timed(() => mads.tell([{ x, outputs }]));
    told++;
  }
  const sorted = [...calls].sort((a, b) => a - b);
  const t = process.cpuUsage();
  const state = JSON.stringify(mads.toJSON());
  Mads.fromJSON(JSON.parse(state) as ReturnType<Mads['toJSON']>);
  const persist = cpuMs(t);
  const cells = [
    config.categorical === undefined
      ? config.kind
      : `${config.categorical.count} C of ${config.categorical.values}${config.categorical.count < config.n ? ` + ${config.kind}` : ''}`,
    config.n,
    config.constraints,
    config.inFlight,
    told,
    sorted[Math.floor(sorted.length / 2)].toFixed(1),
    sorted[Math.floor(sorted.length * 0.99)].toFixed(0),
    sorted[sorted.length - 1].toFixed(0),
    (cpuMs(started) / 1000).toFixed(1),
    Math.round(state.length / 1024),
    persist.toFixed(0),
  ];
  return `| ${cells.join(' | ')} |`;
}

interface EdgeConfig {
  preset: 'meshtune' | 'nomad4';
  /** Integer variables in [0, upper]. */
  n: number;
  upper: number;
  constraints: number;
  inFlight: number;
  outputs: 'smooth' | 'extreme';
}

const EDGE_CONFIGS: EdgeConfig[] = (['meshtune', 'nomad4'] as const).flatMap((preset) => [
  { preset, n: 1, upper: 10, constraints: 1, inFlight: 4, outputs: 'smooth' as const },
  { preset, n: 2, upper: 5, constraints: 0, inFlight: 1, outputs: 'smooth' as const },
  { preset, n: 3, upper: 3, constraints: 1, inFlight: 16, outputs: 'smooth' as const },
  { preset, n: 1, upper: 10, constraints: 1, inFlight: 4, outputs: 'extreme' as const },
  { preset, n: 2, upper: 5, constraints: 2, inFlight: 4, outputs: 'extreme' as const },
  { preset, n: 5, upper: 5, constraints: 1, inFlight: 1, outputs: 'extreme' as const },
]);

const EXTREMES = [1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, -5e-324, 0, 1e-300, 1e300, 1e154];

function runEdge(config: EdgeConfig): string {
  const variables: VariableSpec[] = Array.from({ length: config.n }, () => ({
    type: 'I',
    lowerBound: 0,
    upperBound: config.upper,
    granularity: 1,
    fixedValue: null,
  }));
  const outputTypes: OutputType[] = ['OBJ', ...Array.from({ length: config.constraints }, (): OutputType => 'PB')];
  const mads = Mads.create(
    { variables, outputTypes, x0: [variables.map(() => Math.floor(config.upper / 2))], maxEvaluations: 400, seed: 0 },
    { preset: config.preset },
  );
  // A fixed pseudo-random sequence (LCG), so that every run of the bench tells the same values.
  let seed = 12345;
  const draw = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const extreme = (): number => EXTREMES[Math.floor(draw() * EXTREMES.length)];
  const { calls, timed } = callTimer();
  const inFlight: number[][] = [];
  let told = 0;
  while (mads.stopReason === null && told < 400) {
    inFlight.push(...timed(() => mads.ask(Math.max(0, config.inFlight - inFlight.length))).map((s) => s.x));
    const x = inFlight.splice(Math.floor(draw() * inFlight.length), 1)[0];
    if (x === undefined) break;
    const f = x.reduce((sum, v, i) => sum + (v - 1 - i) ** 2, 0);
    const outputs =
      config.outputs === 'smooth'
        ? [f, ...Array.from({ length: config.constraints }, () => x[0] - 2)]
        : [extreme(), ...Array.from({ length: config.constraints }, () => (draw() < 0.5 ? extreme() : x[0] - 2))];
    timed(() => mads.tell([{ x, outputs }]));
    told++;
  }
  const sorted = [...calls].sort((a, b) => a - b);
  const cells = [
    config.preset,
    config.n,
    config.upper + 1,
    config.constraints,
    config.inFlight,
    config.outputs,
    told,
    mads.stopReason?.kind ?? '—',
    sorted[Math.floor(sorted.length * 0.99)].toFixed(0),
    sorted[sorted.length - 1].toFixed(0),
  ];
  return `| ${cells.join(' | ')} |`;
}

function main(argv: readonly string[]): void {
  const evaluations = value(argv, '--evaluations', 300);
  const capSeconds = value(argv, '--cap-seconds', 60);
  process.stdout.write(
    `### Engine calls on large studies (CPU ms per ask or tell; ${evaluations} evaluations or ${capSeconds} CPU-s per row)\n\n` +
      '| variables | n | PB constraints | in flight | evaluations | median | p99 | slowest | total CPU s | state KB | persist + restore ms |\n' +
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n',
  );
  // --categorical-only: the categorical rows and, as their reference, the two 200-variable continuous and integer rows.
  const rows = argv.includes('--categorical-only')
    ? CONFIGS.filter((c) => c.categorical !== undefined || (c.n === 200 && c.constraints === 0 && c.inFlight === 1))
    : CONFIGS;
  if (!argv.includes('--edges-only'))
    for (const config of rows) process.stdout.write(`${run(config, evaluations, capSeconds)}\n`);
  if (argv.includes('--categorical-only')) return;
  process.stdout.write(
    '\n### Engine calls on small studies at the edges (CPU ms per ask or tell; until the engine stops or 400 evaluations)\n\n' +
      '| preset | integer variables | values each | PB constraints | in flight | outputs | evaluations | stop | p99 | slowest |\n' +
      '| --- | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: |\n',
  );
  for (const config of EDGE_CONFIGS) process.stdout.write(`${runEdge(config)}\n`);
}

main(process.argv.slice(2));
