/**
 * The MADS studies during which bench:service reads the API's event-loop delay (issue 15, item 6):
 * the engine's long calls are tells and the call that ends a study, longest on constrained and
 * integer problems, so one of each, run to their end, besides an 8-D real one.
 */
import type { Objective } from './load';

export interface EventLoopStudy {
  name: string;
  runners: number;
  study: Record<string, unknown>;
  objective: Objective;
}

function budget(maxEvaluations: number, runners: number): Record<string, unknown> {
  return { maxEvaluations, maxParallelTrials: runners, maxAttempts: 2, leaseSeconds: 600 };
}

const REAL_DIMENSION = 8;
const realNames = Array.from({ length: REAL_DIMENSION }, (_, i) => `x${i}`);

/** 8 real variables, a shifted sphere: the throughput row's study, to its budget. */
const real: EventLoopStudy = {
  name: `mads ${REAL_DIMENSION}-D real`,
  runners: 4,
  study: {
    name: 'bench-loop-real',
    parameters: realNames.map((name) => ({ name, type: 'real', lower: -5, upper: 5 })),
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [Object.fromEntries(realNames.map((name) => [name, -3]))],
    budget: budget(100 * (REAL_DIMENSION + 1), 4),
    algorithm: { name: 'mads', seed: 1 },
  },
  objective: (p) => {
    let loss = 0;
    for (let i = 0; i < REAL_DIMENSION; i += 1) loss += (Number(p[`x${i}`]) - 1 - i / 10) ** 2;
    return { loss };
  },
};

/** 5 real variables, a PB and an EB constraint (the issue's ~1 s calls on a 5-variable constrained problem). */
const constrained: EventLoopStudy = {
  name: 'mads 5-D constrained (PB + EB)',
  runners: 4,
  study: {
    name: 'bench-loop-constrained',
    parameters: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, type: 'real', lower: -5, upper: 5 })),
    outputs: [
      { name: 'loss', type: 'objective' },
      { name: 'sum', type: 'constraint_pb' },
      { name: 'disk', type: 'constraint_eb' },
    ],
    x0: [{ a: 0, b: 0, c: 0, d: 0, e: 0 }],
    budget: budget(100 * 6, 4),
    algorithm: { name: 'mads', seed: 2 },
  },
  objective: (p) => {
    const x = ['a', 'b', 'c', 'd', 'e'].map((name) => Number(p[name]));
    return {
      loss: x.reduce((sum, v, i) => sum + (v - 2 + i / 4) ** 2, 0),
      sum: x.reduce((sum, v) => sum + v, 0) - 4,
      disk: x[0] ** 2 + x[1] ** 2 - 6,
    };
  },
};

/** LoRA-like integers (rank index, alpha multiplier, dropout index): the 20–80 ms tells. */
const integer: EventLoopStudy = {
  name: 'mads 3-D integer (LoRA-like)',
  runners: 4,
  study: {
    name: 'bench-loop-integer',
    parameters: [
      { name: 'rank', type: 'integer', lower: 0, upper: 7 },
      { name: 'alpha', type: 'integer', lower: 1, upper: 8 },
      { name: 'dropout', type: 'integer', lower: 0, upper: 5 },
    ],
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [{ rank: 1, alpha: 1, dropout: 0 }],
    budget: budget(100 * 4, 4),
    algorithm: { name: 'mads', seed: 3 },
  },
  objective: (p) => {
    const rank = Number(p.rank);
    const alpha = Number(p.alpha);
    const dropout = Number(p.dropout);
    return { loss: 0.1 * (rank - 5) ** 2 + 0.05 * (alpha - 2) ** 2 + 0.2 * (dropout - 1) ** 2 + 0.03 * rank * alpha };
  },
};

export const EVENT_LOOP_STUDIES: readonly EventLoopStudy[] = [real, constrained, integer];
