/**
 * Which basin each run ends in (issue 15, item 1: why 16 runners never solved
 * hpo_gb_breast_cancer): per run, when a given point (a lattice local minimum) was first told,
 * when f first fell below a given value (another basin), the best f, the stop reason, and how
 * many evaluations refined a continuous axis to within 1e−3 of a grid line of the tabulated
 * problem (`step` of the axis; the table is linear between grid lines, so nothing is gained
 * there). Development tool, not part of bench:engine.
 *
 *   node dist-engine/api/bench/engine/trap-trace.js --problems hpo_gb_breast_cancer \
 *     --seeds 0,1,2,3,4,5,6,7,8,9,10,11 --q 1,4,16 --point=-1,4,2 --below 0.11004
 */
import { runMadsParallel } from './parallel';
import { parseDevLoopArgs } from './dev-loop-args';

const key = (x: readonly number[]): string => x.map((v) => Number(v.toFixed(6))).join(',');

function main(argv: readonly string[]): void {
  const { variants, problems, seeds, qs, extra } = parseDevLoopArgs(
    argv,
    { seeds: '0,1,2,3,4,5,6,7,8,9,10,11', q: '1,4,16' },
    { point: { type: 'string' }, below: { type: 'string' } },
  );
  if (extra.point === undefined || extra.below === undefined) throw new Error('--point and --below are required');
  const trap = key((extra.point as string).split(',').map(Number));
  const below = Number(extra.below);
  console.log(
    `| variant | problem | q | seed | ${trap} first told | first f < ${below} | best f | stop | evaluations within 1e−3 of a grid line |`,
  );
  console.log('|:--|:--|--:|--:|--:|:--|--:|:--|--:|');
  for (const problem of problems) {
    const step = problem.params.step as number[] | undefined;
    const lower = problem.params.lower as number[] | undefined;
    for (const [name, variant] of Object.entries(variants)) {
      const { q: variantQs, ...options } = variant;
      for (const q of variantQs ?? qs) {
        for (const seed of seeds) {
          const run = runMadsParallel(problem, seed, q, options);
          let trapAt = '–';
          let belowAt = '–';
          let best = Infinity;
          let fine = 0;
          run.x.forEach((x, i) => {
            const f = run.outputs[i]?.[0] ?? Infinity;
            if (trapAt === '–' && key(x) === trap) trapAt = String(i + 1);
            if (belowAt === '–' && f < below) belowAt = `${i + 1} (${key(x)})`;
            best = Math.min(best, f);
            if (step === undefined || lower === undefined) return;
            // Continuous axes only (type R): distance to the nearest grid line of the table.
            const nearLine = problem.variables.some((v, k) => {
              if (v.type !== 'R') return false;
              const t = (x[k] - lower[k]) / step[k];
              const d = Math.abs(t - Math.round(t)) * step[k];
              return d > 0 && d < 1e-3;
            });
            if (nearLine) fine++;
          });
          console.log(
            `| ${name} | ${problem.id} | ${q} | ${seed} | ${trapAt} | ${belowAt} | ${best.toFixed(4)} | ${run.stopReason} | ${fine} |`,
          );
        }
      }
    }
  }
}

main(process.argv.slice(2));
