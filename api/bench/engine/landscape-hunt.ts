/**
 * Landscape hunt (exploratory, not in CI): drives the MADS engine through ask/tell on classes of
 * objective/constraint landscapes and study shapes it has never seen, sequentially and with q
 * points in flight told out of order, with a JSON snapshot/restore in the middle, and reports per
 * class: throws, invalid or repeated suggestions, stalls (ask gives nothing while budget is left
 * and nothing is in flight), budget left unused at a stop, and the slowest engine call.
 * The classes and the driver are api/src/mads/testing/landscapes.ts.
 * `node dist-engine/api/bench/engine/landscape-hunt.js [--seeds 1,2] [--filter text] [--skip text] [--shapes a,b]
 *   [--landscapes a,b] [--max-budget 600]`: a fault is also a call over 1 s of CPU; the table at
 * the end gives the slowest call per shape and preset.
 */
import { LANDSCAPES, SHAPES, runOne } from '../../src/mads/testing/landscapes';

function main(): void {
  const args = process.argv.slice(2);
  const seeds = (args.includes('--seeds') ? args[args.indexOf('--seeds') + 1] : '1,2').split(',').map(Number);
  const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] : '';
  const skip = args.includes('--skip') ? args[args.indexOf('--skip') + 1] : null;
  const shapes = args.includes('--shapes') ? args[args.indexOf('--shapes') + 1].split(',') : null;
  const lands = args.includes('--landscapes') ? args[args.indexOf('--landscapes') + 1].split(',') : null;
  const maxBudget = args.includes('--max-budget') ? Number(args[args.indexOf('--max-budget') + 1]) : 600;
  /** Slowest call (CPU ms) per shape and preset, printed as a table at the end. */
  const slowest = new Map<string, { runs: number; ms: number; where: string }>();
  let faults = 0;
  for (const shape of SHAPES.filter((s) => shapes === null || shapes.includes(s.name))) {
    for (const land of LANDSCAPES.filter((l) => lands === null || lands.includes(l.name))) {
      if (filter && !`${shape.name} / ${land.name}`.includes(filter)) continue;
      if (skip !== null && `${shape.name} / ${land.name}`.includes(skip)) continue;
      for (const preset of ['meshtune', 'nomad4'] as const) {
        for (const q of [1, 4, 16]) {
          for (const seed of seeds) {
            const n = shape.variables.length;
            const budget = Math.min(shape.name.startsWith('40') ? 400 : 100 * (n + 1), maxBudget);
            const r = runOne(shape, land, preset, q, seed, budget, 7 + seed);
            const row = slowest.get(`${shape.name} | ${preset}`) ?? { runs: 0, ms: 0, where: '' };
            row.runs++;
            if (r.slowestMs > row.ms) Object.assign(row, { ms: r.slowestMs, where: `${land.name}, q=${q}` });
            slowest.set(`${shape.name} | ${preset}`, row);
            const waste =
              r.stop !== 'X0_FAIL' &&
              r.error === null &&
              !r.stall &&
              r.evaluations < r.budget &&
              (shape.size === null || shape.size > budget);
            const slow = r.slowestMs > 1000;
            if (r.error !== null || r.stall || (waste && preset === 'meshtune') || slow) {
              faults++;
              console.log(
                [
                  shape.name,
                  land.name,
                  preset,
                  `q=${q}`,
                  `seed=${seed}`,
                  r.stall ? 'STALL' : '',
                  `stop=${r.stop}`,
                  `evals=${r.evaluations}/${r.budget}`,
                  `slowest=${r.slowestMs.toFixed(0)}ms`,
                  r.error ?? '',
                ].join(' ; '),
              );
            }
          }
        }
      }
    }
  }
  console.log(`faults: ${faults}`);
  console.log('\n| shape | preset | runs | slowest call, CPU ms | in |\n| --- | --- | ---: | ---: | --- |');
  for (const [key, row] of slowest) console.log(`| ${key} | ${row.runs} | ${row.ms.toFixed(0)} | ${row.where} |`);
}

if (require.main === module) main();
