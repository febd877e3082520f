/**
 * What no final-stop rule can beat on bench:fidelity's fixed sequences (docs/benchmarks.md, "A
 * learned curve-shape prior and rung-wise decisions"): perfect stops. The first k trials of the
 * sequence run to the end (the rule's protected calibration trials), every later trial runs to the
 * end exactly when its final value improves the incumbent, and every other one is stopped after
 * ⌈f · steps⌉ steps. Prints the median GPU-seconds ratio to the ε = 0 target (the first completed
 * trial at or below the best final value of the full-length study, over that study's GPU-seconds
 * to it), per family and seed set, for k ∈ {1, 2, 3} and f ∈ {0.1, 0.2} — the same figure
 * run-fidelity-bench.ts prints for a stopping rule.
 *
 *   tsc -p api/bench/fidelity/tsconfig.json && node dist-bench/api/bench/fidelity/stop-oracle.js [--seeds 5] [--seed-offset 5]
 */
import { curveProblems, tabulate, type TabulatedCurves } from './curves';
import { loadRealCurveTable, realCurveProblems, realCurveSteps, tabulateReal } from './llama-curves';
import { median } from './metrics';

interface Study {
  tab: TabulatedCurves;
  steps: number;
  fullStudyTrials: number;
}

/** The ε = 0 ratio of one study under perfect stops; Infinity when the sequence never reaches it. */
export function oracleRatio(study: Study, protectedTrials: number, fraction: number): number {
  const { curves, sequence } = study.tab;
  const final = (config: number) => curves[config][study.steps - 1];
  const reference = sequence.slice(0, study.fullStudyTrials).map(final);
  const best = Math.min(...reference);
  const referenceGpu = (reference.indexOf(best) + 1) * study.steps;
  let spent = 0;
  let incumbent = Infinity;
  for (let i = 0; i < sequence.length; i++) {
    const value = final(sequence[i]);
    if (i < protectedTrials || value < incumbent) {
      spent += study.steps;
      incumbent = Math.min(incumbent, value);
      if (value <= best) return spent / referenceGpu;
    } else {
      spent += Math.max(1, Math.ceil(fraction * study.steps));
    }
  }
  return Infinity;
}

function main(): void {
  const argv = process.argv.slice(2);
  const value = (flag: string, fallback: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 && at + 1 < argv.length ? argv[at + 1] : fallback;
  };
  const count = Number(value('--seeds', '5'));
  const offset = Number(value('--seed-offset', '0'));
  const seeds = Array.from({ length: count }, (_, i) => offset + i + 1);
  const simulated: Study[] = curveProblems.flatMap((problem) =>
    seeds.map((seed) => ({ tab: tabulate(problem, seed, 40), steps: 40, fullStudyTrials: 40 })),
  );
  const table = loadRealCurveTable();
  const steps = realCurveSteps(table);
  const real: Study[] = realCurveProblems(table).flatMap((problem) =>
    seeds.map((seed) => ({ tab: tabulateReal(table, problem, seed), steps, fullStudyTrials: 24 })),
  );
  console.log(`perfect stops, seeds ${offset + 1}..${offset + count}: median GPU-s ratio to target ε=0`);
  console.log('| family | k1 f0.1 | k1 f0.2 | k2 f0.1 | k2 f0.2 | k3 f0.1 | k3 f0.2 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, studies] of [
    ['simulated', simulated],
    ['real', real],
  ] as const) {
    const cells: string[] = [];
    for (const k of [1, 2, 3]) {
      for (const f of [0.1, 0.2]) cells.push(median(studies.map((study) => oracleRatio(study, k, f))).toFixed(2));
    }
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
}

if (require.main === module) main();
