/**
 * q runners in simulated wall-clock time (issue 15 item 1). Evaluation k of a run (in the order
 * points are handed out) takes a duration drawn uniformly from [0.5, 1.5] by a generator seeded
 * with the problem and seed, so time is in units of the mean evaluation time and every solver
 * sees the same durations. meshtune's MADS is driven asynchronously: a runner that finishes tells
 * its result and asks for one point at once. NOMAD's block evaluation is synchronous: a block
 * takes as long as its slowest point.
 */
import type { ProblemSpec } from '../../src/optimizer-contract/algorithm';
import { Mads, type MadsOptions } from '../../src/mads';
import { evaluateBenchFunction } from './functions';
import { budgetOf, type BenchProblem } from './problems';
import type { RunTrace } from './traces';

/** mulberry32 (public domain): small, seedable, good enough for durations. */
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

function hashString(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Durations of the evaluations of one (problem, seed), in the order points are handed out. */
export function evaluationDurations(problemId: string, seed: number, count: number): number[] {
  const next = mulberry32(hashString(`${problemId}/${seed}`));
  return Array.from({ length: count }, () => 0.5 + next());
}

export function problemSpecOf(problem: BenchProblem, seed: number): ProblemSpec {
  return {
    variables: problem.variables.map((v) => ({ ...v })),
    outputTypes: [...problem.outputTypes],
    x0: [[...problem.x0]],
    maxEvaluations: budgetOf(problem),
    seed,
  };
}

interface Running {
  x: number[];
  outputs: number[] | null;
  finish: number;
  order: number;
}

/**
 * One MADS run with q runners. q = 1 is the sequential ask(1)/tell loop (NOMAD with one worker).
 * Evaluations are recorded in the order they finish.
 */
export function runMadsParallel(
  problem: BenchProblem,
  seed: number,
  q: number,
  options: Partial<MadsOptions> = {},
): RunTrace {
  const budget = budgetOf(problem);
  const durations = evaluationDurations(problem.id, seed, budget);
  const mads = Mads.create(problemSpecOf(problem, seed), options);
  const trace: RunTrace = {
    problemId: problem.id,
    seed,
    blockSize: q,
    x: [],
    outputs: [],
    times: [],
    seconds: 0,
    stopReason: '',
  };
  const running: Running[] = [];
  let handedOut = 0;
  let now = 0;
  let engineNs = 0n;
  const timed = <T>(call: () => T): T => {
    const started = process.hrtime.bigint();
    const result = call();
    engineNs += process.hrtime.bigint() - started;
    return result;
  };
  for (;;) {
    if (running.length < q && mads.stopReason === null) {
      for (const s of timed(() => mads.ask(q - running.length))) {
        const outputs = evaluateBenchFunction(problem.function, s.x, problem.params);
        const valid = outputs.every(Number.isFinite);
        running.push({ x: s.x, outputs: valid ? outputs : null, finish: now + durations[handedOut], order: handedOut });
        handedOut++;
      }
    }
    if (running.length === 0) break;
    // The earliest finish (ties: the earlier hand-out) is told first.
    running.sort((a, b) => a.finish - b.finish || a.order - b.order);
    const done = running.shift() as Running;
    now = done.finish;
    timed(() => mads.tell([{ x: done.x, outputs: done.outputs }]));
    trace.x.push(done.x);
    trace.outputs.push(done.outputs);
    trace.times?.push(now);
  }
  trace.seconds = Number(engineNs) / 1e9;
  const stop = mads.stopReason;
  trace.stopReason = stop === null ? (trace.x.length >= budget ? 'budget' : 'no point asked') : stop.kind;
  return trace;
}

/** Wall-clock times of a NOMAD block run: a block finishes with its slowest point. */
export function nomadBlockTimes(run: RunTrace): number[] {
  const durations = evaluationDurations(run.problemId, run.seed, run.x.length);
  const blocks = run.blocks ?? run.x.map((_, i) => i);
  const times: number[] = [];
  let start = 0;
  let i = 0;
  while (i < blocks.length) {
    let j = i;
    let longest = 0;
    while (j < blocks.length && blocks[j] === blocks[i]) longest = Math.max(longest, durations[j++]);
    for (let k = i; k < j; k++) times.push(start + longest);
    start += longest;
    i = j;
  }
  return times;
}
