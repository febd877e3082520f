import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createAlgorithm } from '../../api/src/algorithms/algorithm-registry';
import type { FieldError } from '../../api/src/common/errors/domain-error';
import { EngineMapping, roundNoise } from '../../api/src/search-space/engine-mapping';
import type { ParameterDefinition, UserPoint } from '../../api/src/search-space/search-space';
import {
  type StudyDefinition,
  validatePoint,
  validateStudyDefinition,
} from '../../api/src/search-space/search-space-validator';

/**
 * Property tests of the search space (fast-check): validation of study definitions and the
 * user ↔ engine translation of points (EngineMapping), for every parameter type, log scale,
 * granularity, fixed and derived parameters.
 */

const RUNS = Number(process.env.MESHTUNE_PROPERTY_RUNS ?? 300);

/** A decimal with at most 6 significant digits: what people write in a study definition. */
const decimal = (min: number, max: number): fc.Arbitrary<number> =>
  fc.integer({ min: min * 100, max: max * 100 }).map((value) => value / 100);

const twelveDigits = (value: number): number => Number(value.toPrecision(12));

interface Generated {
  parameter: ParameterDefinition;
  /** Valid user values of this (free or fixed) parameter. */
  value: fc.Arbitrary<number | string>;
}

const realParameter: fc.Arbitrary<Generated> = fc
  .record({
    lower: decimal(-1000, 1000),
    span: decimal(0.01, 1000).filter((span) => span > 0),
    granularity: fc.constantFrom(undefined, 0.01, 0.1, 0.5, 1, 2.5),
  })
  .map(({ lower, span, granularity }) => {
    if (granularity === undefined) {
      const upper = roundNoise(lower + span);
      return {
        parameter: { name: '', type: 'real', lower, upper },
        value: fc.double({ min: lower, max: upper, noNaN: true }).map((value) => roundNoise(value)),
      } as Generated;
    }
    const first = Math.ceil(lower / granularity - 1e-9);
    const steps = Math.max(1, Math.floor(span / granularity));
    const onGrid = roundNoise(first * granularity);
    const upper = roundNoise(onGrid + steps * granularity);
    return {
      parameter: { name: '', type: 'real', lower: onGrid, upper, granularity },
      value: fc.integer({ min: 0, max: steps }).map((k) => roundNoise((first + k) * granularity)),
    } as Generated;
  });

const logParameter: fc.Arbitrary<Generated> = fc
  .record({
    lowerExponent: fc.integer({ min: -8, max: 2 }),
    decades: fc.integer({ min: 1, max: 6 }),
    granularity: fc.constantFrom(undefined, 0.5, 0.25, 1),
  })
  .map(({ lowerExponent, decades, granularity }) => {
    const lower = roundNoise(10 ** lowerExponent);
    const upper = roundNoise(10 ** (lowerExponent + decades));
    const steps = decades / (granularity ?? 0.5);
    // 12 significant digits: log10 then 10^x cannot promise more (see docs/reliability.md).
    const value =
      granularity === undefined
        ? fc
            .double({ min: lower, max: upper, noNaN: true })
            .map((v) => Math.min(upper, Math.max(lower, twelveDigits(v))))
        : fc
            .integer({ min: 0, max: steps })
            .map((k) => Math.min(upper, Math.max(lower, roundNoise(10 ** (lowerExponent + k * granularity)))));
    return {
      parameter: {
        name: '',
        type: 'real',
        lower,
        upper,
        log: true,
        ...(granularity === undefined ? {} : { granularity }),
      },
      value,
    } as Generated;
  });

const integerParameter: fc.Arbitrary<Generated> = fc
  .record({
    lower: fc.integer({ min: -1000, max: 1000 }),
    span: fc.integer({ min: 1, max: 500 }),
    granularity: fc.constantFrom(undefined, 1, 2, 5),
  })
  .map(({ lower, span, granularity }) => {
    const step = granularity ?? 1;
    const first = Math.ceil(lower / step) * step;
    const upper = Math.max(lower + span, first + step);
    const count = Math.floor((upper - first) / step);
    return {
      parameter: { name: '', type: 'integer', lower, upper, ...(granularity === undefined ? {} : { granularity }) },
      value: fc.integer({ min: 0, max: count }).map((k) => first + k * step),
    } as Generated;
  });

const ordinalParameter: fc.Arbitrary<Generated> = fc
  .uniqueArray(decimal(-100, 100), { minLength: 2, maxLength: 6 })
  .map((values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { parameter: { name: '', type: 'ordinal', values: sorted }, value: fc.constantFrom(...sorted) } as Generated;
  });

const categoricalParameter: fc.Arbitrary<Generated> = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 6 })
  .map(
    (values) =>
      ({ parameter: { name: '', type: 'categorical', values }, value: fc.constantFrom(...values) }) as Generated,
  );

const anyParameter = fc.oneof(realParameter, logParameter, integerParameter, ordinalParameter, categoricalParameter);

interface Space {
  definition: StudyDefinition;
  point: UserPoint;
}

/** A valid definition (some parameters fixed, a derived product of two numeric ones) and a valid point. */
const space: fc.Arbitrary<Space> = fc
  .array(fc.record({ generated: anyParameter, fix: fc.boolean() }), { minLength: 1, maxLength: 6 })
  .chain((entries) =>
    fc
      .tuple(...entries.map((entry) => entry.generated.value), ...entries.map((entry) => entry.generated.value))
      .map((values) => {
        const parameters: ParameterDefinition[] = entries.map((entry, index) => ({
          ...entry.generated.parameter,
          name: `p${index}`,
          // Never fix them all: at least the first stays free.
          ...(entry.fix && index > 0 ? { fixed: values[entries.length + index] } : {}),
        }));
        const point: UserPoint = {};
        parameters.forEach((parameter, index) => {
          point[parameter.name] = parameter.fixed ?? values[index];
        });
        const numeric = parameters.filter(
          (parameter) =>
            parameter.type !== 'categorical' && parameter.values?.every((v) => typeof v === 'number') !== false,
        );
        const derived =
          numeric.length >= 2 ? [{ name: 'product', expression: `${numeric[0].name} * ${numeric[1].name}` }] : [];
        return {
          definition: { parameters, derived, outputs: [{ name: 'loss', type: 'objective' }], x0: [point] },
          point,
        } as Space;
      }),
  );

function onlyParameters(definition: StudyDefinition, point: UserPoint): UserPoint {
  return Object.fromEntries(definition.parameters.map((parameter) => [parameter.name, point[parameter.name]]));
}

describe('search-space validation and engine mapping (fast-check)', () => {
  it('every generated definition with its X0 is valid', () => {
    fc.assert(
      fc.property(space, ({ definition }) => {
        assert.deepEqual(validateStudyDefinition(definition), []);
      }),
      { numRuns: RUNS },
    );
  });

  it('toUser(toEngine(p)) restores every parameter value of a valid user point', () => {
    fc.assert(
      fc.property(space, ({ definition, point }) => {
        const mapping = new EngineMapping(definition.parameters, definition.derived, definition.outputs);
        const x = mapping.toEngine(point);
        assert.equal(x.length, definition.parameters.length);
        assert.ok(x.every(Number.isFinite));
        const back = onlyParameters(definition, mapping.toUser(x));
        for (const parameter of definition.parameters) {
          const [got, want] = [back[parameter.name], point[parameter.name]];
          if (parameter.log && parameter.fixed === undefined) {
            // log10 then 10^x: equal to 1e-12 (relative), not to the last digit (docs/reliability.md).
            assert.ok(
              Math.abs((got as number) - (want as number)) <= 1e-12 * (want as number),
              `${parameter.name}: ${want} → ${got}`,
            );
          } else {
            assert.equal(got, want, parameter.name);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('log-scale reals with any number of digits come back within 1e-14 (relative)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -8, max: 2 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        (exponent, mantissa) => {
          const value = mantissa * 10 ** exponent;
          const parameter: ParameterDefinition = {
            name: 'lr',
            type: 'real',
            lower: 10 ** (exponent - 1),
            upper: 10 ** (exponent + 2),
            log: true,
          };
          const mapping = new EngineMapping([parameter], [], [{ name: 'loss', type: 'objective' }]);
          const back = mapping.toUser(mapping.toEngine({ lr: value })).lr as number;
          assert.ok(Math.abs(back - value) <= 1e-14 * value, `${value} came back as ${back}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('toEngine(p) lies inside the engine bounds, on the granularity', () => {
    fc.assert(
      fc.property(space, ({ definition, point }) => {
        const mapping = new EngineMapping(definition.parameters, definition.derived, definition.outputs);
        const x = mapping.toEngine(point);
        mapping.variables().forEach((variable, index) => {
          if (variable.fixedValue !== null) {
            assert.equal(x[index], variable.fixedValue);
            return;
          }
          assert.ok(x[index] >= variable.lowerBound! - 1e-9 && x[index] <= variable.upperBound! + 1e-9, `x${index}`);
          if (variable.granularity > 0) {
            const ratio = x[index] / variable.granularity;
            assert.ok(
              Math.abs(ratio - Math.round(ratio)) < 1e-6,
              `x${index}=${x[index]} not on ${variable.granularity}`,
            );
          }
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('any engine point inside the bounds, on the granularity, maps to a user point validatePoint accepts', () => {
    const withEnginePoint = space.chain(({ definition }) => {
      const mapping = new EngineMapping(definition.parameters, definition.derived, definition.outputs);
      const coordinates = mapping.variables().map((variable) => {
        if (variable.fixedValue !== null) return fc.constant(variable.fixedValue);
        const lower = variable.lowerBound!;
        const upper = variable.upperBound!;
        if (variable.granularity > 0) {
          const g = variable.granularity;
          const first = Math.ceil(lower / g - 1e-9);
          const last = Math.floor(upper / g + 1e-9);
          return fc.integer({ min: first, max: last }).map((k) => k * g);
        }
        return fc.double({ min: lower, max: upper, noNaN: true });
      });
      return fc.tuple(fc.constant(definition), fc.tuple(...coordinates));
    });
    fc.assert(
      fc.property(withEnginePoint, ([definition, x]) => {
        const mapping = new EngineMapping(definition.parameters, definition.derived, definition.outputs);
        const user = mapping.toUser(x);
        const errors: FieldError[] = [];
        validatePoint(definition.parameters, onlyParameters(definition, user), 'point', errors);
        assert.deepEqual(errors, [], `engine ${JSON.stringify(x)} → user ${JSON.stringify(user)}`);
        for (const derived of definition.derived) assert.ok(Number.isFinite(user[derived.name]), derived.name);
      }),
      { numRuns: RUNS },
    );
  });

  it('points the engines actually suggest (random search and MADS) map to valid user points', () => {
    fc.assert(
      fc.property(space, fc.constantFrom('random' as const, 'mads' as const), ({ definition }, name) => {
        const mapping = new EngineMapping(definition.parameters, definition.derived, definition.outputs);
        const algorithm = createAlgorithm(name, mapping.problem(definition.x0, 30, 1), {});
        for (let round = 0; round < 4; round += 1) {
          const suggestions = algorithm.ask(4);
          for (const suggestion of suggestions) {
            const errors: FieldError[] = [];
            const user = mapping.toUser(suggestion.x);
            validatePoint(definition.parameters, onlyParameters(definition, user), 'point', errors);
            assert.deepEqual(errors, [], `${name} suggested ${JSON.stringify(suggestion.x)} → ${JSON.stringify(user)}`);
          }
          algorithm.tell(suggestions.map((suggestion, index) => ({ x: suggestion.x, outputs: [index + round] })));
        }
      }),
      { numRuns: Math.max(20, Math.floor(RUNS / 5)) },
    );
  });

  it('every definition validateStudyDefinition accepts is accepted by the engines (log-scale X0 written to 12 digits)', () => {
    // A user writes 10^0.5 as 3.16227766017: the validator accepts it (1e-9 tolerance on log10),
    // so the engine must too, instead of failing study creation at an engine-space path.
    const written = space.map(({ definition }) => {
      const x0 = { ...definition.x0[0] };
      for (const parameter of definition.parameters) {
        if (parameter.log && parameter.fixed === undefined)
          x0[parameter.name] = twelveDigits(x0[parameter.name] as number);
      }
      return { ...definition, x0: [x0] };
    });
    fc.assert(
      fc.property(written, fc.constantFrom('random' as const, 'mads' as const), (definition, name) => {
        assert.deepEqual(validateStudyDefinition(definition), []);
        const mapping = new EngineMapping(definition.parameters, definition.derived, definition.outputs);
        assert.doesNotThrow(() => createAlgorithm(name, mapping.problem(definition.x0, 30, 1), {}));
      }),
      { numRuns: RUNS },
    );
  });

  it('a definition with swapped bounds, a repeated name, or a non-finite value is rejected at the right field', () => {
    fc.assert(
      fc.property(
        space,
        fc.constantFrom('swap', 'duplicate', 'nonFinite'),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        ({ definition }, mutation, bad) => {
          const parameters = definition.parameters.map((parameter) => ({ ...parameter }));
          const target = parameters[0];
          let field: string;
          if (mutation === 'swap' && target.lower !== undefined) {
            [target.lower, target.upper] = [target.upper, target.lower];
            field = 'parameters[0].upper';
          } else if (mutation === 'duplicate' && parameters.length > 1) {
            parameters[1].name = target.name;
            field = 'parameters[1].name';
          } else {
            const x0 = { ...definition.x0[0], [target.name]: target.type === 'categorical' ? bad : bad };
            const errors = validateStudyDefinition({ ...definition, parameters, x0: [x0] });
            assert.ok(
              errors.some((error) => error.field === `x0[0].${target.name}`),
              JSON.stringify(errors),
            );
            return;
          }
          const errors = validateStudyDefinition({ ...definition, parameters });
          assert.ok(
            errors.some((error) => error.field === field),
            `${mutation}: ${JSON.stringify(errors)}`,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('validateStudyDefinition never throws on loosely typed definitions (numbers may be NaN/±Infinity)', () => {
    const looseNumber = fc.oneof(fc.double(), fc.integer(), fc.constant(undefined));
    const looseParameter = fc.record(
      {
        name: fc.oneof(fc.constantFrom('a', 'b', 'lr', ''), fc.string({ maxLength: 70 })),
        type: fc.constantFrom('real', 'integer', 'ordinal', 'categorical'),
        lower: looseNumber,
        upper: looseNumber,
        log: fc.option(fc.boolean(), { nil: undefined }),
        granularity: looseNumber,
        values: fc.option(fc.array(fc.oneof(fc.double(), fc.string({ maxLength: 5 })), { maxLength: 5 }), {
          nil: undefined,
        }),
        fixed: fc.option(fc.oneof(fc.double(), fc.string({ maxLength: 5 })), { nil: undefined }),
      },
      { requiredKeys: ['name', 'type'] },
    );
    const definition = fc.record({
      parameters: fc.array(looseParameter, { maxLength: 5 }),
      derived: fc.array(
        fc.record({
          name: fc.string({ maxLength: 10 }),
          expression: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('a * b', 'a / 0', 'log(a)', 'a ** 1e308')),
        }),
        { maxLength: 2 },
      ),
      outputs: fc.array(
        fc.record({ name: fc.string({ maxLength: 10 }), type: fc.constantFrom('objective', 'constraint_pb', 'extra') }),
        { maxLength: 3 },
      ),
      x0: fc.array(fc.dictionary(fc.constantFrom('a', 'b', 'lr'), fc.oneof(fc.double(), fc.string({ maxLength: 3 }))), {
        maxLength: 2,
      }),
    });
    fc.assert(
      fc.property(definition, (candidate) => {
        const errors = validateStudyDefinition(candidate as unknown as StudyDefinition);
        for (const error of errors) {
          assert.equal(typeof error.field, 'string');
          assert.equal(typeof error.reason, 'string');
        }
      }),
      { numRuns: RUNS },
    );
  });
});
