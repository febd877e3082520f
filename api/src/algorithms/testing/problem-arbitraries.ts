/**
 * Random problems for the property suites of the ask/tell contract (algorithm-property.spec.ts,
 * algorithm-invariants.spec.ts): R/I/B variables, granularity, open bounds, fixed variables,
 * categorical integers, several X0, OBJ/PB/EB/EXTRA_O outputs in any order, a budget or none.
 * Engine space only: log scales and categorical labels are the API's (search-space), the engine
 * sees their log10 and index.
 */
import fc from 'fast-check';
import type { OutputType, ProblemSpec, VariableSpec } from '../../optimizer-contract/algorithm';

export interface RandomProblem {
  problem: ProblemSpec;
  /** Indices of I variables that encode unordered categories (MADS's `categoricalVariables`). */
  categorical: number[];
}

interface VariableDraw {
  type: 'R' | 'I' | 'B' | 'C';
  lower: number;
  width: number;
  granularity: number;
  boundedLower: boolean;
  boundedUpper: boolean;
  fixed: boolean;
}

const variableDrawArb: fc.Arbitrary<VariableDraw> = fc.record({
  type: fc.constantFrom<VariableDraw['type']>('R', 'R', 'I', 'B', 'C'),
  lower: fc.integer({ min: -20, max: 10 }),
  width: fc.integer({ min: 1, max: 30 }),
  granularity: fc.constantFrom(0, 0, 0.5, 0.1, 2),
  boundedLower: fc.boolean(),
  boundedUpper: fc.boolean(),
  // One variable in five fixed: more make many problems finite spaces of a few points.
  fixed: fc.noBias(fc.integer({ min: 0, max: 4 })).map((u) => u === 0),
});

function toVariable(d: VariableDraw): VariableSpec {
  if (d.type === 'B') return { type: 'B', lowerBound: 0, upperBound: 1, granularity: 0, fixedValue: null };
  // A categorical variable: 2–6 category indices, never fixed (its alternatives are the point).
  if (d.type === 'C')
    return { type: 'I', lowerBound: 0, upperBound: 1 + (d.width % 5), granularity: 0, fixedValue: null };
  const g = d.type === 'I' ? Math.max(1, Math.round(d.granularity)) : d.granularity;
  const lower = g > 0 ? Math.ceil(d.lower / g) * g : d.lower;
  // At least two multiples of g inside the bounds.
  const width = g > 0 ? Math.max(2 * g, Math.ceil(d.width / g) * g) : d.width;
  return {
    type: d.type,
    lowerBound: d.boundedLower ? Number(lower.toFixed(10)) : null,
    upperBound: d.boundedUpper ? Number((lower + width).toFixed(10)) : null,
    granularity: g,
    fixedValue: null,
  };
}

/** A valid coordinate for u ∈ [0, 1]: on the granularity, inside the bounds (open sides: 20 wide). */
export function valueAt(v: VariableSpec, u: number): number {
  if (v.type === 'B') return u < 0.5 ? 0 : 1;
  const g = v.type === 'I' ? Math.max(1, v.granularity) : v.granularity;
  const lb = v.lowerBound ?? (v.upperBound === null ? -10 : v.upperBound - 20);
  const ub = v.upperBound ?? lb + 20;
  let x = lb + u * (ub - lb);
  if (g > 0) {
    x = Math.round(x / g) * g;
    if (x > ub) x -= g;
    if (x < lb) x += g;
    x = Number(x.toFixed(10));
  }
  return x;
}

const outputTypesArb: fc.Arbitrary<OutputType[]> = fc
  .tuple(fc.array(fc.constantFrom<OutputType>('PB', 'EB', 'EXTRA_O'), { maxLength: 3 }), fc.nat())
  .map(([others, at]) => {
    const types = [...others];
    types.splice(at % (others.length + 1), 0, 'OBJ');
    return types;
  });

/** Problems of up to `maxVariables` variables and budgets up to `maxBudget` (or none). */
export function randomProblemArb(maxVariables = 5, maxBudget = 60): fc.Arbitrary<RandomProblem> {
  return fc
    .record({
      draws: fc.array(variableDrawArb, { minLength: 1, maxLength: maxVariables }),
      us: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 16, maxLength: 16 }),
      x0Count: fc.integer({ min: 1, max: 3 }),
      outputTypes: outputTypesArb,
      maxEvaluations: fc.option(fc.integer({ min: 1, max: maxBudget }), { freq: 6 }),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map((r) => {
      const categorical: number[] = [];
      const variables = r.draws.map((d, i) => {
        const v = toVariable(d);
        if (d.type === 'C') categorical.push(i);
        else if (d.fixed) v.fixedValue = valueAt(v, r.us[i]);
        return v;
      });
      const x0 = Array.from({ length: r.x0Count }, (_, k) =>
        variables.map((v, i) => v.fixedValue ?? valueAt(v, r.us[(i + 5 * k + 1) % r.us.length])),
      );
      const problem: ProblemSpec = {
        variables,
        outputTypes: r.outputTypes,
        x0,
        maxEvaluations: r.maxEvaluations,
        seed: r.seed,
      };
      return { problem, categorical };
    });
}
