/** Runs meshtune's MADS sequentially (ask(1) then tell, like NOMAD with one worker). */
import { runMadsParallel } from './parallel';
import type { BenchProblem } from './problems';
import type { RunTrace } from './traces';

export { problemSpecOf } from './parallel';

export function runMads(problem: BenchProblem, seed: number): RunTrace {
  return runMadsParallel(problem, seed, 1);
}
