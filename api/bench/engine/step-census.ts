/**
 * Which step of the engine produced each evaluation (issue 15 diagnosis): runs MADS like
 * parallel.ts (q runners in simulated time) and labels every handed-out point with the kind of
 * the step whose queue it came from (x0, global, speculative, surrogate, quad, nm, poll1, poll2)
 * or idle filling (`idle-poll`: extra poll points; `idle-search`: quadratic-model or surrogate
 * points for idle runners).
 * Prints, per problem and kind, the evaluations and the improving ones (a new best feasible f)
 * within a budget, plus the iterations and restarts reached. Reads engine internals, so it is a
 * development tool, not part of bench:engine.
 *
 *   node dist-engine/api/bench/engine/step-census.js --problem-set unseen --problems hartmann_6 \
 *     --seeds 0,1 --q 1 --budget 20 --variants '{"default":{},"nomad4":{"preset":"nomad4"}}'
 *   --trace: also one line per evaluation (step kind, point, f, best so far, frame sizes).
 *   --nomad (with --trace, q = 1): also NOMAD's own line per evaluation for the same problem, seed
 *   and budget (nomad_steps.py: the step that generated each point, GEN_STEP, and its frame and
 *   mesh sizes) and the first evaluation where the two runs' points differ.
 */
import { Mads, type MadsOptions } from '../../src/mads';
import type { EngineState } from '../../src/mads/state';
import { evaluateBenchFunction } from './functions';
import { evaluationDurations, problemSpecOf } from './parallel';
import { budgetOf, dimensionOf, type BenchProblem } from './problems';
import { toTraceEvaluation } from './traces';
import { pollCentres } from '../../src/mads/poll';
import { frameSizes } from '../../src/mads/mesh';
import { parseDevLoopArgs } from './dev-loop-args';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchSourceDir, nomadJobProblem, nomadPython } from './nomad';

/** NOMAD's lines for one run (nomad_steps.py): BBE, point, f, frame, mesh, step. */
function nomadSteps(problem: BenchProblem, seed: number, budget: number): { x: number[]; line: string }[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'step-census-'));
  try {
    const file = path.join(dir, 'problem.json');
    fs.writeFileSync(file, JSON.stringify(nomadJobProblem(problem)));
    const source = benchSourceDir();
    const out = execFileSync(nomadPython(), [path.join(source, 'nomad_steps.py'), file, String(seed), String(budget)], {
      cwd: source,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    return out
      .split('\n')
      .filter((line) => /^\d+\t\(/.test(line))
      .map((line) => ({
        x: (/\(([^)]*)\)/.exec(line) as RegExpExecArray)[1].trim().split(/\s+/).map(Number),
        line: line.replace(/\s+/g, ' ').trim(),
      }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Census {
  kinds: Map<string, { evaluations: number; improving: number }>;
  /** Surrogate points farther than a quarter of a variable's range from the poll centre (∞-norm). */
  farSurrogate: number;
  iterations: number;
  restarts: number;
  best: number;
  /** Per evaluation (with --trace): step kind, point, f, best so far, frame sizes when handed out. */
  trace: { kind: string; x: number[]; f: number; best: number; frame: number[] }[];
}

function census(problem: BenchProblem, seed: number, q: number, options: Partial<MadsOptions>, limit: number): Census {
  const mads = Mads.create(problemSpecOf(problem, seed), options);
  // The engine's state, for the step kinds (not part of the public API).
  const state = (mads as unknown as { s: EngineState }).s;
  const durations = evaluationDurations(problem.id, seed, budgetOf(problem));
  const kindOf = new Map<string, string>();
  const running: { x: number[]; outputs: number[] | null; finish: number; order: number }[] = [];
  const result: Census = { kinds: new Map(), farSurrogate: 0, iterations: 0, restarts: 0, best: Infinity, trace: [] };
  const frameOf = new Map<string, number[]>();
  const ranges = problem.variables.map((v) =>
    v.lowerBound !== null && v.upperBound !== null ? v.upperBound - v.lowerBound : Infinity,
  );
  let handedOut = 0;
  let told = 0;
  let now = 0;
  while (told < limit) {
    if (running.length < q && mads.stopReason === null) {
      for (const s of mads.ask(q - running.length)) {
        const rec = state.cache.find(s.x);
        const step = state.step;
        const fromStep = rec !== undefined && step !== null && step.dispatched.includes(rec.id);
        // Idle filling: `idle-search` (quadratic-model or surrogate points), `idle-poll` (extra polls).
        kindOf.set(JSON.stringify(s.x), fromStep ? step.kind : `idle-${s.origin}`);
        frameOf.set(JSON.stringify(s.x), frameSizes(state.mesh));
        const centre = pollCentres(state).primary;
        if (fromStep && step.kind === 'surrogate' && centre !== null) {
          const c = state.cache.get(centre).x;
          if (s.x.some((v, i) => Math.abs(v - c[i]) > 0.25 * ranges[i])) result.farSurrogate++;
        }
        const outputs = evaluateBenchFunction(problem.function, s.x, problem.params);
        running.push({
          x: s.x,
          outputs: outputs.every(Number.isFinite) ? outputs : null,
          finish: now + durations[handedOut],
          order: handedOut,
        });
        handedOut++;
      }
    }
    if (running.length === 0) break;
    running.sort((a, b) => a.finish - b.finish || a.order - b.order);
    const done = running.shift()!;
    now = done.finish;
    mads.tell([{ x: done.x, outputs: done.outputs }]);
    told++;
    const kind = kindOf.get(JSON.stringify(done.x)) ?? 'other';
    const entry = result.kinds.get(kind) ?? { evaluations: 0, improving: 0 };
    entry.evaluations++;
    const e = toTraceEvaluation(problem.outputTypes, done.outputs);
    if (e.feasible && e.f < result.best) {
      if (result.best !== Infinity) entry.improving++;
      result.best = e.f;
    }
    result.kinds.set(kind, entry);
    result.trace.push({
      kind,
      x: done.x,
      f: e.feasible ? e.f : NaN,
      best: result.best,
      frame: frameOf.get(JSON.stringify(done.x)) ?? [],
    });
  }
  result.iterations = state.iteration;
  result.restarts = state.restart.count;
  return result;
}

function main(argv: readonly string[]): void {
  const { variants, problems, seeds, qs, extra } = parseDevLoopArgs(
    argv,
    { seeds: '0', q: '1', defaultProblems: 'set' },
    {
      budget: { type: 'string', default: '20' },
      trace: { type: 'boolean', default: false },
      nomad: { type: 'boolean', default: false },
    },
  );
  const budget = Number(extra.budget);
  for (const problem of problems) {
    const limit = budget * (dimensionOf(problem) + 1);
    for (const q of qs) {
      for (const [name, options] of Object.entries(variants)) {
        for (const seed of seeds) {
          const c = census(problem, seed, q, options, limit);
          const kinds = [...c.kinds]
            .sort((a, b) => b[1].evaluations - a[1].evaluations)
            .map(([k, v]) => `${k} ${v.evaluations}/${v.improving}`)
            .join(', ');
          process.stdout.write(
            `${problem.id} q=${q} ${name} seed ${seed} (first ${limit}): best ${c.best.toPrecision(6)}, ` +
              `iterations ${c.iterations}, restarts ${c.restarts}; evaluations/improving: ${kinds}; ` +
              `surrogate points > ¼ range from the centre: ${c.farSurrogate}\n`,
          );
          // --trace: one line per evaluation (kind, point, f, best so far, frame sizes at hand-out).
          if (extra.trace === true) {
            c.trace.forEach((t, i) => {
              const g = (v: number): string => Number(v.toPrecision(4)).toString();
              process.stdout.write(
                `  ${i + 1} ${t.kind} x=(${t.x.map(g).join(', ')}) f=${g(t.f)} best=${g(t.best)} frame=(${t.frame.map(g).join(', ')})\n`,
              );
            });
          }
          // --nomad: NOMAD's run beside it; NOMAD prints 6 significant digits, hence the tolerance.
          if (extra.trace === true && extra.nomad === true && q === 1) {
            const nomad = nomadSteps(problem, seed, limit);
            nomad.forEach((n) => process.stdout.write(`  NOMAD ${n.line}\n`));
            const same = (a: readonly number[], b: readonly number[]): boolean =>
              a.length === b.length && a.every((v, j) => Math.abs(v - b[j]) <= 1e-5 * Math.max(1, Math.abs(v)));
            const k = c.trace.findIndex((t, i) => i < nomad.length && !same(t.x, nomad[i].x));
            process.stdout.write(
              k < 0
                ? `  same points as NOMAD for all ${Math.min(nomad.length, c.trace.length)} evaluations\n`
                : `  first evaluation where the points differ: ${k + 1} (${c.trace[k].kind} here; NOMAD: ${nomad[k].line})\n`,
            );
          }
        }
      }
    }
  }
}

main(process.argv.slice(2));
