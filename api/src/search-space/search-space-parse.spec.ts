/**
 * The one parse of a search space (search-space-parse.ts): one case per class of error, each with
 * the user's field path; the engine validates the problem it returns as it starts, and its errors
 * (problem or options), carried across the engine host thread as data, name user fields from their
 * location or option, without reading the path text.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProblemSpec } from '../optimizer-contract/algorithm';
import { createAlgorithm } from '../algorithms/algorithm-registry';
import {
  AlgorithmError,
  algorithmErrorData,
  InvalidProblemError,
  InvalidStateError,
  rebuildAlgorithmError,
} from '../optimizer-contract/algorithm-errors';
import { Mads } from '../mads';
import { engineStart } from '../studies/study-engine';
import type { ParameterDefinition } from './search-space';
import { engineFieldError, parseSearchSpace, type SearchSpaceParse } from './search-space-parse';
import type { StudyDefinition } from './search-space-validator';

const RUN = { maxEvaluations: 50, seed: 0 };

function definition(patch: Partial<StudyDefinition> = {}): StudyDefinition {
  return {
    parameters: [
      { name: 'lr', type: 'real', lower: 1e-5, upper: 1, log: true },
      { name: 'rank', type: 'integer', lower: 4, upper: 64, granularity: 4 },
      { name: 'optimizer', type: 'categorical', values: ['adam', 'sgd', 'lion'] },
      { name: 'dropout', type: 'real', lower: 0, upper: 0.5, granularity: 0.05 },
    ],
    derived: [{ name: 'alpha', expression: 'rank * 2' }],
    outputs: [{ name: 'loss', type: 'objective', goal: 'minimize' }],
    x0: [],
    ...patch,
  };
}

function withParameter(index: number, patch: Partial<ParameterDefinition>): StudyDefinition {
  const base = definition();
  base.parameters[index] = { ...base.parameters[index], ...patch } as ParameterDefinition;
  return base;
}

function fields(parse: SearchSpaceParse): string[] {
  assert.equal(parse.ok, false, 'the definition was accepted');
  return parse.ok ? [] : parse.errors.map((error) => error.field);
}

describe('parseSearchSpace', () => {
  test('a valid definition gives the space and its engine problem, variable i being parameter i', () => {
    const parse = parseSearchSpace(definition(), RUN);
    assert.ok(parse.ok);
    assert.equal(parse.problem.variables.length, 4);
    assert.deepEqual(
      parse.problem.variables.map((_variable, index) => parse.space.parameterName(index)),
      ['lr', 'rank', 'optimizer', 'dropout'],
    );
    assert.deepEqual(parse.space.categoricalVariables(), [2]);
    assert.deepEqual(parse.problem.outputTypes, ['OBJ']);
    assert.equal(parse.problem.maxEvaluations, 50);
  });

  // One case per class of error; each names the user's field.
  const cases: [string, StudyDefinition, string][] = [
    ['bounds: lower above upper', withParameter(1, { lower: 64, upper: 4 }), 'parameters[1].upper'],
    ['bounds: a log scale from 0', withParameter(0, { lower: 0 }), 'parameters[0].lower'],
    ['granularity: not an integer on an integer', withParameter(1, { granularity: 1.5 }), 'parameters[1].granularity'],
    ['granularity: a lower bound off the grid', withParameter(3, { lower: 0.01 }), 'parameters[3].lower'],
    [
      'x0: a value off the grid',
      definition({ x0: [{ lr: 0.01, rank: 6, optimizer: 'adam', dropout: 0 }] }),
      'x0[0].rank',
    ],
    [
      'x0: an unknown category',
      definition({ x0: [{ lr: 0.01, rank: 8, optimizer: 'rmsprop', dropout: 0 }] }),
      'x0[0].optimizer',
    ],
    ['x0: a missing parameter', definition({ x0: [{ lr: 0.01, rank: 8, optimizer: 'adam' }] }), 'x0[0].dropout'],
    [
      'derived: a name that is no parameter',
      definition({ derived: [{ name: 'alpha', expression: 'ranks * 2' }] }),
      'derived[0].expression',
    ],
    [
      'derived: not finite over the space',
      definition({ derived: [{ name: 'alpha', expression: '1 / (rank - 4)' }] }),
      'derived[0].expression',
    ],
    [
      'derived: an expression that does not parse',
      definition({ derived: [{ name: 'alpha', expression: 'rank *' }] }),
      'derived[0].expression',
    ],
    ['fixed: outside the bounds', withParameter(1, { fixed: 100 }), 'parameters[1].fixed'],
    [
      'fixed: every parameter fixed',
      definition({ parameters: [{ name: 'a', type: 'real', lower: 0, upper: 1, fixed: 0.5 }] }),
      'parameters',
    ],
    ['categorical: a repeated value', withParameter(2, { values: ['adam', 'adam'] }), 'parameters[2].values'],
    ['categorical: bounds on a categorical', withParameter(2, { lower: 0 }), 'parameters[2].lower'],
    ['outputs: no objective', definition({ outputs: [{ name: 'c', type: 'constraint_pb' }] }), 'outputs'],
  ];
  for (const [name, given, field] of cases) {
    test(`${name}: ${field}`, () => {
      assert.ok(fields(parseSearchSpace(given, RUN)).includes(field), JSON.stringify(parseSearchSpace(given, RUN)));
    });
  }

  test('an engine error names the user field from its location (no path text is read)', () => {
    const parse = parseSearchSpace(definition({ x0: [{ lr: 0.01, rank: 8, optimizer: 'adam', dropout: 0 }] }), RUN);
    assert.ok(parse.ok);
    const { space } = parse;
    assert.equal(space.fieldOf({ part: 'variables', variable: 1, key: 'lowerBound' }), 'parameters[1].lower');
    assert.equal(space.fieldOf({ part: 'variables', variable: 3, key: 'fixedValue' }), 'parameters[3].fixed');
    assert.equal(space.fieldOf({ part: 'x0', point: 0, variable: 2 }), 'x0[0].optimizer');
    assert.equal(space.fieldOf({ part: 'outputTypes', output: 0 }), 'outputs[0].type');
    assert.equal(space.fieldOf({ part: 'maxEvaluations' }), 'budget.maxEvaluations');
    // The default X0 is the centre of the box: its coordinates are the parameters themselves.
    const centre = parseSearchSpace(definition(), RUN);
    assert.ok(centre.ok);
    assert.equal(centre.space.fieldOf({ part: 'x0', point: 0, variable: 1 }), 'parameters[1]');
  });

  test('options the engine refuses are fields under algorithm, named from the option', () => {
    const parse = parseSearchSpace(definition(), RUN);
    assert.ok(parse.ok);
    const refused = (name: 'mads' | 'random', options: Record<string, unknown>): string[] => {
      const start = engineStart(parse.space, parse.problem, name, options);
      try {
        createAlgorithm(start.algorithm, start.problem, start.options);
      } catch (error) {
        assert.ok(error instanceof AlgorithmError);
        // As the API sees it: the error crosses the engine host thread as data.
        const field = engineFieldError(parse.space, rebuildAlgorithmError(algorithmErrorData(error)));
        return field === null ? [] : [field.field];
      }
      return [];
    };
    assert.deepEqual(refused('mads', { directionType: 'ORTHO 3N' }), ['algorithm.directionType']);
    assert.deepEqual(refused('mads', { preset: 'nomad5' }), ['algorithm.preset']);
    assert.deepEqual(refused('mads', { minMeshSize: [null, -1, null, null] }), ['algorithm.minMeshSize[1]']);
    assert.deepEqual(refused('random', { preset: 'nomad4' }), ['algorithm.preset']);
    assert.deepEqual(refused('mads', { preset: 'nomad4' }), []);
  });

  test('the engine validates the parsed problem as it starts; its errors cross threads as data and name user fields', () => {
    const parse = parseSearchSpace(definition({ x0: [{ lr: 0.01, rank: 8, optimizer: 'adam', dropout: 0 }] }), RUN);
    assert.ok(parse.ok);
    assert.doesNotThrow(() => Mads.create(parse.problem));
    // A problem off its own rules (an X0 coordinate above lr's log10 upper bound 0) is refused with its location.
    const broken: ProblemSpec = { ...parse.problem, x0: [[2, 8, 0, 0]] };
    let caught: unknown = null;
    try {
      Mads.create(broken);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof InvalidProblemError);
    assert.equal(caught.path, 'x0[0][0]');
    const rebuilt = rebuildAlgorithmError(algorithmErrorData(caught));
    assert.ok(rebuilt instanceof InvalidProblemError);
    assert.deepEqual(engineFieldError(parse.space, rebuilt), { field: 'x0[0].lr', reason: caught.reason });
    const state = rebuildAlgorithmError(algorithmErrorData(new InvalidStateError('state', 'unreadable')));
    assert.ok(state instanceof InvalidStateError);
    assert.equal(engineFieldError(parse.space, state), null);
  });
});

describe('SearchSpace.coordinateReason (points a user gives in engine space: NOMAD cache files)', () => {
  const parse = parseSearchSpace(withParameter(3, { fixed: 0.25 }), RUN);
  assert.ok(parse.ok);
  const { space } = parse;
  const cases: [number, number, RegExp | null][] = [
    [1, 8, null],
    [1, 68, /outside the bounds/],
    [1, 6, /multiple of the granularity 4/],
    [2, 1.5, /must be an integer/],
    [3, 0.3, /fixed value 0.25/],
    [0, -3, null],
  ];
  for (const [variable, value, reason] of cases) {
    test(`variable ${variable} = ${value}: ${reason ?? 'a coordinate'}`, () => {
      const found = space.coordinateReason(variable, value);
      if (reason === null) assert.equal(found, null);
      else assert.match(found ?? '', reason);
    });
  }
});
