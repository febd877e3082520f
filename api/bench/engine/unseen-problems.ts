/**
 * The unseen problem set (`--problem-set unseen` of run-engine-bench and mads-variants): problems
 * of classes the bench's own set (problems.ts) lacks, for judging the engine's defaults on
 * problems they were not tuned on — badly scaled narrow valleys, multimodal low-dimensional
 * functions, a plateau function, integer and mixed versions, two constrained problems (one with a
 * feasible X0) and a LoRA-shaped ordinal landscape. Functions in unseen-functions.ts and
 * unseen_functions.py; the same protocol as the bench (budget 100·(n+1), NOMAD's defaults).
 */
import { benchProblems, variables, type BenchProblem } from './problems';
import { heldoutProblems } from './heldout-problems';

const constant = (n: number, value: number): number[] => Array.from({ length: n }, () => value);

export const unseenProblems: readonly BenchProblem[] = [
  // Badly scaled, narrow valleys.
  {
    id: 'wood_4',
    category: 'smooth',
    function: 'wood',
    params: {},
    variables: variables(4, { lower: -10, upper: 10 }),
    outputTypes: ['OBJ'],
    x0: [-3, -1, -3, -1],
    optimum: 'f* = 0 at 1 (MGH #14)',
  },
  {
    id: 'helical_valley_3',
    category: 'smooth',
    function: 'helical_valley',
    params: {},
    variables: variables(3),
    outputTypes: ['OBJ'],
    x0: [-1, 0, 0],
    optimum: 'f* = 0 at (1, 0, 0) (MGH #7, unbounded)',
  },
  {
    id: 'brown_badly_scaled_2',
    category: 'smooth',
    function: 'brown_badly_scaled',
    params: {},
    variables: variables(2),
    outputTypes: ['OBJ'],
    x0: [1, 1],
    optimum: 'f* = 0 at (1e6, 2e-6) (MGH #4, unbounded)',
  },
  // Multimodal, low-dimensional, bounded.
  {
    id: 'branin_2',
    category: 'multimodal',
    function: 'branin',
    params: {},
    variables: [...variables(1, { lower: -5, upper: 10 }), ...variables(1, { lower: 0, upper: 15 })],
    outputTypes: ['OBJ'],
    x0: [2.5, 7.5],
    optimum: 'f* ≈ 0.397887 at three points',
  },
  {
    id: 'six_hump_camel_2',
    category: 'multimodal',
    function: 'six_hump_camel',
    params: {},
    variables: [...variables(1, { lower: -3, upper: 3 }), ...variables(1, { lower: -2, upper: 2 })],
    outputTypes: ['OBJ'],
    x0: [-1.5, 1],
    optimum: 'f* ≈ −1.031628 at ±(0.0898, −0.7126)',
  },
  {
    id: 'hartmann_3',
    category: 'multimodal',
    function: 'hartmann3',
    params: {},
    variables: variables(3, { lower: 0, upper: 1 }),
    outputTypes: ['OBJ'],
    x0: constant(3, 0.5),
    optimum: 'f* ≈ −3.86278 at (0.1146, 0.5556, 0.8525)',
  },
  {
    id: 'hartmann_6',
    category: 'multimodal',
    function: 'hartmann6',
    params: {},
    variables: variables(6, { lower: 0, upper: 1 }),
    outputTypes: ['OBJ'],
    x0: constant(6, 0.5),
    optimum: 'f* ≈ −3.32237 at (0.2017, 0.1500, 0.4769, 0.2753, 0.3117, 0.6573)',
  },
  {
    id: 'styblinski_tang_4',
    category: 'multimodal',
    function: 'styblinski_tang',
    params: {},
    variables: variables(4, { lower: -5, upper: 5 }),
    outputTypes: ['OBJ'],
    x0: constant(4, 1),
    optimum: 'f* ≈ −156.66 at −2.9035·1; X0 drains to the local minimum near 2.75·1',
  },
  {
    id: 'ackley_3',
    category: 'multimodal',
    function: 'ackley',
    params: {},
    variables: variables(3, { lower: -5, upper: 5 }),
    outputTypes: ['OBJ'],
    x0: [2.5, -1.5, 3.2],
    optimum: 'f* = 0 at 0',
  },
  // Plateaus (piecewise constant).
  {
    id: 'floored_quadratic_4',
    category: 'plateau',
    function: 'floored_quadratic',
    params: { weights: [1, 2, 5, 10], shift: [1.3, -0.7, 2.1, -1.6] },
    variables: variables(4, { lower: -5, upper: 5 }),
    outputTypes: ['OBJ'],
    x0: [-3, 3, -3, 3],
    optimum: 'f* = 0 on an ellipsoid around the shift (f(X0) = 387)',
  },
  // Integer, mixed and ordinal.
  {
    id: 'integer_styblinski_3',
    category: 'integer',
    function: 'styblinski_tang',
    params: {},
    variables: variables(3, { type: 'I', lower: -5, upper: 5 }),
    outputTypes: ['OBJ'],
    x0: [2, 2, 2],
    optimum: 'f* = −117 at −3·1; X0 drains to the lattice local minimum 3·1 (f = −72)',
  },
  {
    id: 'mixed_branin_2',
    category: 'integer',
    function: 'branin',
    params: {},
    variables: [...variables(1, { type: 'I', lower: -5, upper: 10 }), ...variables(1, { lower: 0, upper: 15 })],
    outputTypes: ['OBJ'],
    x0: [0, 7.5],
    optimum: 'x1 integer: f* ≈ 0.49398 at (3, 2.388); near-ties at x1 = −3 and 9',
  },
  {
    id: 'lora_grid_4',
    category: 'integer',
    function: 'lora_grid',
    params: {},
    variables: [
      ...variables(1, { type: 'I', lower: 0, upper: 5 }),
      ...variables(1, { type: 'I', lower: 0, upper: 4 }),
      ...variables(1, { type: 'I', lower: 0, upper: 12 }),
      ...variables(1, { type: 'I', lower: 0, upper: 4 }),
    ],
    outputTypes: ['OBJ'],
    x0: [1, 3, 5, 2],
    optimum:
      'ordinal indices (rank 4·2^r, alpha/rank 2^(a−2), lr 10^(−5+l/4), dropout level k); f* ≈ 1.0992 at (5, 0, 6, 3); 420 of 1,950 points diverge (f = 4)',
  },
  // Constrained (progressive barrier).
  {
    id: 'g08_2',
    category: 'pb',
    function: 'g08',
    params: {},
    variables: variables(2, { lower: 0.1, upper: 10 }),
    outputTypes: ['OBJ', 'PB', 'PB'],
    x0: [5, 5],
    optimum: 'f* ≈ −0.095825 at (1.22797, 4.24537); multimodal objective, X0 infeasible',
  },
  {
    id: 'spring_3',
    category: 'pb',
    function: 'spring',
    params: {},
    variables: [
      ...variables(1, { lower: 0.05, upper: 2 }),
      ...variables(1, { lower: 0.25, upper: 1.3 }),
      ...variables(1, { lower: 2, upper: 15 }),
    ],
    outputTypes: ['OBJ', 'PB', 'PB', 'PB', 'PB'],
    x0: [0.06, 0.5, 10],
    optimum: 'f* ≈ 0.0126652 at (0.05169, 0.35675, 11.2871); badly scaled constraints, X0 feasible (f = 0.0216)',
  },
];

/**
 * A named problem set: 'bench' (problems.ts, bench:engine's default), 'unseen' (above), 'all'
 * (both), or 'heldout' (heldout-problems.ts: MADS-only development problems, in neither).
 */
export function problemSet(name: string): readonly BenchProblem[] {
  if (name === 'bench') return benchProblems;
  if (name === 'unseen') return unseenProblems;
  if (name === 'all') return [...benchProblems, ...unseenProblems];
  if (name === 'heldout') return heldoutProblems;
  throw new Error(`unknown problem set "${name}" (bench, unseen, all or heldout)`);
}
