/**
 * The problem set of `npm run bench:engine`: smooth, bound-constrained, integer, granular and
 * PB-constrained problems. Both solvers get exactly these variables, bounds, granularities, X0
 * and the budget 100·(n+1) evaluations; the NOMAD driver receives them as JSON.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OutputType, VariableSpec, VariableType } from '../../src/optimizer-contract/algorithm';
import type { FunctionParams } from './functions';

export type ProblemCategory =
  | 'smooth'
  | 'bound'
  | 'integer'
  | 'granular'
  | 'pb'
  | 'hpo'
  // The unseen set's own families (unseen-problems.ts).
  | 'multimodal'
  | 'plateau';

/** Families in the order the reports print them. */
export const PROBLEM_CATEGORIES: readonly ProblemCategory[] = [
  'smooth',
  'bound',
  'integer',
  'granular',
  'pb',
  'hpo',
  'multimodal',
  'plateau',
];

export interface BenchProblem {
  id: string;
  category: ProblemCategory;
  /** Name in functions.ts / functions.py. */
  function: string;
  params: FunctionParams;
  variables: VariableSpec[];
  outputTypes: OutputType[];
  x0: number[];
  /** The known solution, for the reader; the profiles use the best value any run found. */
  optimum: string;
}

interface VariableOptions {
  type?: VariableType;
  lower?: number | null;
  upper?: number | null;
  granularity?: number;
}

export function variables(n: number, options: VariableOptions = {}): VariableSpec[] {
  return Array.from({ length: n }, () => ({
    type: options.type ?? 'R',
    lowerBound: options.lower ?? null,
    upperBound: options.upper ?? null,
    granularity: options.granularity ?? 0,
    fixedValue: null,
  }));
}

/** (−1.2, 1, −1.2, 1, …): the classical Rosenbrock start. */
function alternating(n: number, even: number, odd: number): number[] {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? even : odd));
}

const ones = (n: number): number[] => Array.from({ length: n }, () => 1);

const analyticProblems: readonly BenchProblem[] = [
  // Smooth, unconstrained or loosely bounded.
  {
    id: 'rosenbrock_2',
    category: 'smooth',
    function: 'rosenbrock',
    params: {},
    variables: variables(2, { lower: -5, upper: 5 }),
    outputTypes: ['OBJ'],
    x0: [-1.2, 1],
    optimum: 'f* = 0 at (1, 1)',
  },
  {
    id: 'rosenbrock_5',
    category: 'smooth',
    function: 'rosenbrock',
    params: {},
    variables: variables(5),
    outputTypes: ['OBJ'],
    x0: alternating(5, -1.2, 1),
    optimum: 'f* = 0 at 1 (unbounded)',
  },
  {
    id: 'rosenbrock_10',
    category: 'smooth',
    function: 'rosenbrock',
    params: {},
    variables: variables(10, { lower: -5, upper: 5 }),
    outputTypes: ['OBJ'],
    x0: alternating(10, -1.2, 1),
    optimum: 'f* = 0 at 1',
  },
  {
    id: 'beale_2',
    category: 'smooth',
    function: 'beale',
    params: {},
    variables: variables(2, { lower: -4.5, upper: 4.5 }),
    outputTypes: ['OBJ'],
    x0: [1, 1],
    optimum: 'f* = 0 at (3, 0.5)',
  },
  {
    id: 'powell_singular_4',
    category: 'smooth',
    function: 'powell_singular',
    params: {},
    variables: variables(4),
    outputTypes: ['OBJ'],
    x0: [3, -1, 0, 1],
    optimum: 'f* = 0 at 0 (unbounded, singular Hessian)',
  },
  {
    id: 'shifted_sphere_8',
    category: 'smooth',
    function: 'weighted_quadratic',
    params: { weights: ones(8), shift: [-3.2, -2.3, -1.4, -0.5, 0.4, 1.3, 2.2, 3.1] },
    variables: variables(8, { lower: -10, upper: 10 }),
    outputTypes: ['OBJ'],
    x0: Array.from({ length: 8 }, () => 0),
    optimum: 'f* = 0 at the shift',
  },
  // Bound-constrained: the optimum sits on bounds.
  {
    id: 'rosenbrock_box_4',
    category: 'bound',
    function: 'rosenbrock',
    params: {},
    variables: variables(4, { lower: -2, upper: 0.5 }),
    outputTypes: ['OBJ'],
    x0: alternating(4, -1.2, 0.25),
    optimum: 'unconstrained optimum 1 is outside [−2, 0.5]⁴',
  },
  {
    id: 'quadratic_on_bounds_5',
    category: 'bound',
    function: 'weighted_quadratic',
    params: { weights: [1, 2, 3, 4, 5], shift: [2, -3, 0.5, 1.5, -0.2] },
    variables: variables(5, { lower: -1, upper: 1 }),
    outputTypes: ['OBJ'],
    x0: [0, 0, 0, 0, 0],
    optimum: 'f* = 10 at (1, −1, 0.5, 1, −0.2), three bounds active',
  },
  // Integer and mixed-integer (BB_INPUT_TYPE I).
  {
    id: 'integer_quadratic_5',
    category: 'integer',
    function: 'weighted_quadratic',
    params: { weights: [1, 2, 3, 4, 5], shift: [2.3, -1.6, 0.4, 3.7, -4.2] },
    variables: variables(5, { type: 'I', lower: -10, upper: 10 }),
    outputTypes: ['OBJ'],
    x0: [8, -8, 8, -8, 8],
    optimum: 'f* = 1.45 at (2, −2, 0, 4, −4)',
  },
  {
    id: 'integer_rosenbrock_3',
    category: 'integer',
    function: 'rosenbrock',
    params: {},
    variables: variables(3, { type: 'I', lower: -10, upper: 10 }),
    outputTypes: ['OBJ'],
    x0: [-5, 6, 3],
    optimum: 'f* = 0 at (1, 1, 1)',
  },
  {
    id: 'mixed_rosenbrock_4',
    category: 'integer',
    function: 'rosenbrock',
    params: {},
    variables: [
      ...variables(1, { type: 'I', lower: -5, upper: 5 }),
      ...variables(1, { lower: -5, upper: 5 }),
      ...variables(1, { type: 'I', lower: -5, upper: 5 }),
      ...variables(1, { lower: -5, upper: 5 }),
    ],
    outputTypes: ['OBJ'],
    x0: [-2, 1, -2, 1],
    optimum: 'f* = 0 at 1 (x1, x3 integer)',
  },
  // Granular reals (GRANULARITY > 0).
  {
    id: 'granular_beale_2',
    category: 'granular',
    function: 'beale',
    params: {},
    variables: variables(2, { lower: -4.5, upper: 4.5, granularity: 0.01 }),
    outputTypes: ['OBJ'],
    x0: [1, 1],
    optimum: 'f* = 0 at (3, 0.5), on the 0.01 grid',
  },
  {
    id: 'granular_sphere_6',
    category: 'granular',
    function: 'weighted_quadratic',
    params: { weights: ones(6), shift: [1.23, -2.07, 0.51, 3.33, -0.77, 2.49] },
    variables: variables(6, { lower: -5, upper: 5, granularity: 0.05 }),
    outputTypes: ['OBJ'],
    x0: [0, 0, 0, 0, 0, 0],
    optimum: 'f* = 0.0018 on the 0.05 grid',
  },
  // Constrained with the progressive barrier (BB_OUTPUT_TYPE … PB).
  {
    id: 'nomad_single_obj_5',
    category: 'pb',
    function: 'nomad_single_obj',
    params: {},
    variables: [...[5, 6, 7].map((upper) => variables(1, { lower: -6, upper })[0]), ...variables(2, { lower: -6 })],
    outputTypes: ['OBJ', 'PB', 'PB'],
    x0: [0, 0, 0, 0, 0],
    optimum: 'f* = −4 at (1, 1, 1, 1, −4); X0 infeasible',
  },
  {
    id: 'rosen_suzuki_4',
    category: 'pb',
    function: 'rosen_suzuki',
    params: {},
    variables: variables(4, { lower: -5, upper: 5 }),
    outputTypes: ['OBJ', 'PB', 'PB', 'PB'],
    x0: [2, 2, 2, 2],
    optimum: 'f* = −44 at (0, 1, 2, −1); X0 infeasible',
  },
  {
    id: 'g06_2',
    category: 'pb',
    function: 'g06',
    params: {},
    variables: [...variables(1, { lower: 13, upper: 100 }), ...variables(1, { lower: 0, upper: 100 })],
    outputTypes: ['OBJ', 'PB', 'PB'],
    x0: [20, 10],
    optimum: 'f* ≈ −6961.81 at (14.095, 0.843); thin feasible set, X0 infeasible',
  },
  {
    id: 'sphere_halfspace_5',
    category: 'pb',
    function: 'sphere_halfspace',
    params: {},
    variables: variables(5, { lower: -5, upper: 5 }),
    outputTypes: ['OBJ', 'PB'],
    x0: [-1, -1, -1, -1, -1],
    optimum: 'f* = 0.2 at 0.2·1 (constraint active); X0 infeasible',
  },
  {
    id: 'integer_capacity_4',
    category: 'pb',
    function: 'quadratic_capacity',
    params: { weights: [1, 1, 2, 2], shift: [3.3, 4.6, 2.2, 5.7], capacity: [10] },
    variables: variables(4, { type: 'I', lower: 0, upper: 10 }),
    outputTypes: ['OBJ', 'PB'],
    x0: [0, 0, 0, 0],
    optimum: 'f* = 11.71 at (1, 3, 1, 5), Σx ≤ 10 active',
  },
];

interface HpoAxis {
  name: string;
  kind: 'log10' | 'int' | 'ordinal';
  lower: number;
  step: number;
  count: number;
  levels: (number | string)[] | null;
}

interface HpoTable {
  id: string;
  dataset: string;
  model: string;
  objective: string;
  axes: HpoAxis[];
  values: number[];
}

/** X0 of each tabulated problem: scikit-learn's defaults where they are on the grid, else the middle. */
const HPO_X0: Readonly<Record<string, number[]>> = {
  hpo_svm_digits: [0, -3], // C = 1, gamma = 1e-3
  hpo_gb_breast_cancer: [-1, 3, 2], // learning_rate 0.1, max_depth 3, min_samples_leaf 20 (sklearn's)
  hpo_mlp_wine: [3, -4, -3], // 32 units, alpha 1e-4, learning_rate_init 1e-3 (sklearn's but 100 units → 32)
};

/** hpo-tables.json, committed beside the sources (tabulate_hpo.py wrote it once). */
function readHpoTables(): HpoTable[] {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'api', 'bench', 'engine', 'hpo-tables.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { problems: HpoTable[] }).problems;
    if (path.dirname(dir) === dir) throw new Error(`hpo-tables.json not found above ${__dirname}`);
  }
}

function hpoProblem(table: HpoTable): BenchProblem {
  const x0 = HPO_X0[table.id];
  if (x0 === undefined) throw new Error(`no X0 for ${table.id}`);
  const names = table.axes.map((a) => `${a.name}${a.levels === null ? '' : ` ∈ {${a.levels.join(', ')}} (index)`}`);
  return {
    id: table.id,
    category: 'hpo',
    function: 'hpo_table',
    params: {
      shape: table.axes.map((a) => a.count),
      lower: table.axes.map((a) => a.lower),
      step: table.axes.map((a) => a.step),
      values: table.values,
    },
    variables: table.axes.map((a) => ({
      type: a.kind === 'log10' ? ('R' as const) : ('I' as const),
      lowerBound: a.lower,
      upperBound: a.lower + (a.count - 1) * a.step,
      granularity: 0,
      fixedValue: null,
    })),
    outputTypes: ['OBJ'],
    x0,
    optimum: `${table.model} on ${table.dataset}: ${names.join(', ')}; best ${table.objective.split(' of ')[0]} ${Math.min(...table.values).toFixed(4)} on the grid`,
  };
}

/** Hyperparameter problems on real data (issue 15, item 5), tabulated once. */
export const hpoProblems: readonly BenchProblem[] = readHpoTables().map(hpoProblem);

/** The whole set: the analytic problems, then the tabulated HPO ones. */
export const benchProblems: readonly BenchProblem[] = [...analyticProblems, ...hpoProblems];

export function dimensionOf(problem: BenchProblem): number {
  return problem.variables.length;
}

/** The issue's budget: 100 simplex gradients, 100·(n+1) evaluations. */
export function budgetOf(problem: BenchProblem): number {
  return 100 * (dimensionOf(problem) + 1);
}
