/**
 * Engine overhead: median ask(1)+tell time per point once the cache holds many points, and
 * the cost of persisting and restoring the state (the service does both on every call).
 */
import type { ProblemSpec } from '../../src/optimizer-contract/algorithm';
import { Mads } from '../../src/mads';

export interface TimingOptions {
  dimensions: readonly number[];
  cachedPoints: number;
  cycles: number;
  persistCycles: number;
}

export interface TimingRow {
  dimension: number;
  cachedPoints: number;
  prefillSeconds: number;
  cycles: number;
  askTellMedianMs: number;
  askTellP90Ms: number;
  /** The mean shows what the median hides: the occasional expensive step (model search, NM). */
  askTellMeanMs: number;
  /** CPU time of this process (user + system) for the same cycles: robust to a busy machine. */
  askTellCpuMedianMs: number;
  persistCycles: number;
  persistMedianMs: number;
  persistCpuMedianMs: number;
  stateBytes: number;
  /** Why the measured cycles ended early (ask(1) returned nothing), else null. */
  stopReason: string | null;
}

/** A small seeded generator for the prefill points (the engine's own RNG is not ours to use). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shifted, ill-conditioned quadratic: cheap, smooth, optimum inside [−5, 5]ⁿ. */
function objective(x: readonly number[]): number {
  let f = 0;
  for (let i = 0; i < x.length; i++) f += (1 + i) * (x[i] - 0.3 * Math.sin(i + 1)) ** 2;
  return f;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** Wall-clock and CPU time of `work`, in milliseconds. */
function measure<T>(work: () => T): { result: T; wallMs: number; cpuMs: number } {
  const cpuStarted = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = work();
  const wallMs = elapsedMs(started);
  const cpu = process.cpuUsage(cpuStarted);
  return { result, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

export function measureTiming(dimension: number, options: TimingOptions): TimingRow {
  const problem: ProblemSpec = {
    variables: Array.from({ length: dimension }, () => ({
      type: 'R' as const,
      lowerBound: -5,
      upperBound: 5,
      granularity: 0,
      fixedValue: null,
    })),
    outputTypes: ['OBJ'],
    x0: [Array.from({ length: dimension }, () => 0)],
    maxEvaluations: null,
    seed: 0,
  };
  let mads = Mads.create(problem);

  // Prefill through the public API: tell points the engine never suggested, in chunks.
  const random = mulberry32(dimension);
  const prefillStarted = process.hrtime.bigint();
  const chunk = 500;
  for (let told = 0; told < options.cachedPoints; told += chunk) {
    const results = Array.from({ length: Math.min(chunk, options.cachedPoints - told) }, () => {
      const x = Array.from({ length: dimension }, () => Math.round((random() * 10 - 5) * 1e6) / 1e6);
      return { x, outputs: [objective(x)] };
    });
    mads.tell(results);
  }
  const prefillSeconds = elapsedMs(prefillStarted) / 1000;

  const askTell: number[] = [];
  const askTellCpu: number[] = [];
  let stopReason: string | null = null;
  for (let cycle = 0; cycle < options.cycles + 10; cycle++) {
    const ask = measure(() => mads.ask(1));
    const [suggestion] = ask.result;
    if (suggestion === undefined) {
      stopReason = mads.stopReason?.kind ?? 'ask(1) returned no point';
      break;
    }
    const outputs = [objective(suggestion.x)];
    const tell = measure(() => mads.tell([{ x: suggestion.x, outputs }]));
    // The first 10 cycles warm the JIT up and are not counted.
    if (cycle >= 10) {
      askTell.push(ask.wallMs + tell.wallMs);
      askTellCpu.push(ask.cpuMs + tell.cpuMs);
    }
  }

  const persist: number[] = [];
  const persistCpu: number[] = [];
  let stateBytes = 0;
  for (let cycle = 0; cycle < options.persistCycles; cycle++) {
    const roundTrip = measure(() => {
      const json = JSON.stringify(mads.toJSON());
      mads = Mads.fromJSON(JSON.parse(json));
      return json;
    });
    persist.push(roundTrip.wallMs);
    persistCpu.push(roundTrip.cpuMs);
    stateBytes = Buffer.byteLength(roundTrip.result);
    const [suggestion] = mads.ask(1);
    if (suggestion !== undefined) mads.tell([{ x: suggestion.x, outputs: [objective(suggestion.x)] }]);
  }

  const sorted = (values: number[]): number[] => values.sort((a, b) => a - b);
  sorted(askTell);
  sorted(askTellCpu);
  sorted(persist);
  sorted(persistCpu);
  return {
    dimension,
    cachedPoints: options.cachedPoints,
    prefillSeconds,
    cycles: askTell.length,
    askTellMedianMs: quantile(askTell, 0.5),
    askTellP90Ms: quantile(askTell, 0.9),
    askTellMeanMs: askTell.length === 0 ? NaN : askTell.reduce((a, b) => a + b, 0) / askTell.length,
    askTellCpuMedianMs: quantile(askTellCpu, 0.5),
    persistCycles: persist.length,
    persistMedianMs: quantile(persist, 0.5),
    persistCpuMedianMs: quantile(persistCpu, 0.5),
    stateBytes,
    stopReason,
  };
}
