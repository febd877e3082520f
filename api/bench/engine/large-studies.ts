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
 *   npm run build:engine && node dist-engine/api/bench/engine/large-studies.js [--evaluations 300]
 */
import type { OutputType, ProblemSpec, VariableSpec } from '../../src/optimizer-contract/algorithm';
import { Mads } from '../../src/mads';

interface Config {
  /** R: continuous in [0, 1]; I: integers in [0, 1000]; M: alternating. */
  kind: 'R' | 'I' | 'M';
  n: number;
  constraints: number;
  inFlight: number;
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
];

function value(argv: readonly string[], flag: string, fallback: number): number {
  const i = argv.indexOf(flag);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : fallback;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

function run(config: Config, evaluations: number, capSeconds: number): string {
  const variables: VariableSpec[] = Array.from({ length: config.n }, (_, i) =>
    config.kind === 'I' || (config.kind === 'M' && i % 2 === 1)
      ? { type: 'I', lowerBound: 0, upperBound: 1000, granularity: 1, fixedValue: null }
      : { type: 'R', lowerBound: 0, upperBound: 1, granularity: 0, fixedValue: null },
  );
  const unit = (x: readonly number[], i: number): number => (variables[i].type === 'I' ? x[i] / 1000 : x[i]);
  const objective = (x: readonly number[]): number =>
    x.reduce((s, _, i) => s + (unit(x, i) - 0.3 - 0.002 * i) ** 2 * (1 + (i % 3)), 0);
  const outputTypes: OutputType[] = ['OBJ', ...Array.from({ length: config.constraints }, (): OutputType => 'PB')];
  const problem: ProblemSpec = {
    variables,
    outputTypes,
    x0: [variables.map((v) => (v.type === 'I' ? 500 : 0.5))],
    maxEvaluations: 100_000,
    seed: 0,
  };
  const mads = Mads.create(problem);
  const calls: number[] = [];
  const started = process.cpuUsage();
  const timed = <T>(fn: () => T): T => {
    const t = process.cpuUsage();
    const result = fn();
    calls.push(cpuMs(t));
    return result;
  };
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
    config.kind,
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

function main(argv: readonly string[]): void {
  const evaluations = value(argv, '--evaluations', 300);
  const capSeconds = value(argv, '--cap-seconds', 60);
  process.stdout.write(
    `### Engine calls on large studies (CPU ms per ask or tell; ${evaluations} evaluations or ${capSeconds} CPU-s per row)\n\n` +
      '| variables | n | PB constraints | in flight | evaluations | median | p99 | slowest | total CPU s | state KB | persist + restore ms |\n' +
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n',
  );
  for (const config of CONFIGS) process.stdout.write(`${run(config, evaluations, capSeconds)}\n`);
}

main(process.argv.slice(2));
