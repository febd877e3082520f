/** Runs meshtune's MADS sequentially (ask(1) then tell, like NOMAD with one worker). */
import type { ProblemSpec } from '../../src/algorithms/algorithm';
import { Mads } from '../../src/mads';
import { evaluateBenchFunction } from './functions';
import { budgetOf, type BenchProblem } from './problems';
import type { RunTrace } from './traces';

export function problemSpecOf(problem: BenchProblem, seed: number): ProblemSpec {
  return {
    variables: problem.variables.map((v) => ({ ...v })),
    outputTypes: [...problem.outputTypes],
    x0: [[...problem.x0]],
    maxEvaluations: budgetOf(problem),
    seed,
  };
}

export function runMads(problem: BenchProblem, seed: number): RunTrace {
  const budget = budgetOf(problem);
  const mads = Mads.create(problemSpecOf(problem, seed));
  const trace: RunTrace = { problemId: problem.id, seed, x: [], outputs: [], seconds: 0, stopReason: '' };
  let engineNs = 0n;
  while (trace.x.length < budget && mads.stopReason === null) {
    const askStarted = process.hrtime.bigint();
    const suggestions = mads.ask(1);
    engineNs += process.hrtime.bigint() - askStarted;
    if (suggestions.length === 0) {
      trace.stopReason = 'ask(1) returned no point';
      break;
    }
    const x = suggestions[0].x;
    const outputs = evaluateBenchFunction(problem.function, x, problem.params);
    const valid = outputs.every(Number.isFinite);
    const tellStarted = process.hrtime.bigint();
    mads.tell([{ x, outputs: valid ? outputs : null }]);
    engineNs += process.hrtime.bigint() - tellStarted;
    trace.x.push(x);
    trace.outputs.push(valid ? outputs : null);
  }
  trace.seconds = Number(engineNs) / 1e9;
  const stop = mads.stopReason;
  if (stop !== null) trace.stopReason = stop.kind;
  else if (trace.stopReason === '') trace.stopReason = 'budget';
  return trace;
}
