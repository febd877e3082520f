import type { FieldError } from '../common/errors/domain-error';
import { DerivedExpression, ExpressionError } from './derived-expression';
import { EngineMapping } from './engine-mapping';
import type {
  DerivedParameter,
  OutputDefinition,
  ParameterDefinition,
  ParameterValue,
  UserPoint,
} from './search-space';

export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Names every JavaScript object already has (constructor, toString, __proto__…): as a parameter
 * or output name they would read the prototype where a point or a report lacks them.
 */
const RESERVED_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

function nameReason(name: string): string | null {
  if (!NAME_PATTERN.test(name)) return 'must start with a letter or _ and hold only letters, digits and _ (at most 64)';
  if (RESERVED_NAMES.has(name)) return `"${name}" is reserved (a property of every JavaScript object)`;
  return null;
}

/** A name at `path` (a parameter, derived parameter or output): well formed, and not one already in `taken`. */
function checkName(name: string, path: string, taken: Set<string>, errors: FieldError[]): void {
  const reason = nameReason(name);
  if (reason !== null) errors.push({ field: `${path}.name`, reason });
  if (taken.has(name)) errors.push({ field: `${path}.name`, reason: `"${name}" is used twice` });
  taken.add(name);
}

const EPSILON = 1e-9;

export interface StudyDefinition {
  parameters: ParameterDefinition[];
  derived: DerivedParameter[];
  outputs: OutputDefinition[];
  x0: UserPoint[];
}

/**
 * Whether a value is a multiple of a granularity, to within 1e-9 of the step: the tolerance of
 * every user-given value (X0, fixed values, enqueued points, NOMAD cache coordinates), which the
 * engine mapping then rounds exactly onto the engine's grid (engine-mapping.ts, toEngineValue).
 */
export function isMultiple(value: number, step: number): boolean {
  const ratio = value / step;
  return Math.abs(ratio - Math.round(ratio)) <= EPSILON * Math.max(1, Math.abs(ratio));
}

/** Checks one user value of a parameter; returns the reason it is invalid, or null. */
export function checkParameterValue(parameter: ParameterDefinition, value: unknown): string | null {
  switch (parameter.type) {
    case 'real':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
      if (parameter.type === 'integer' && !Number.isInteger(value)) return 'must be an integer';
      const { lower, upper } = parameter;
      if (lower !== undefined && upper !== undefined && (value < lower || value > upper)) {
        return `must be between ${lower} and ${upper}`;
      }
      const granularity = parameter.granularity ?? 0;
      if (granularity > 0) {
        const scaled = parameter.log ? Math.log10(value) : value;
        if (!isMultiple(scaled, granularity)) {
          return `must be a multiple of the granularity ${granularity}${parameter.log ? ' on the log10 scale' : ''}`;
        }
      }
      return null;
    }
    case 'ordinal':
    case 'categorical':
      return (parameter.values ?? []).some((allowed) => allowed === value)
        ? null
        : `must be one of ${JSON.stringify(parameter.values ?? [])}`;
  }
}

function validateParameter(parameter: ParameterDefinition, path: string, errors: FieldError[]): void {
  const error = (field: string, reason: string): void => void errors.push({ field: `${path}.${field}`, reason });
  const hasBounds = parameter.lower !== undefined || parameter.upper !== undefined;
  if (parameter.type === 'real' || parameter.type === 'integer') {
    if (parameter.values !== undefined) error('values', `is only for ordinal and categorical parameters`);
    if (parameter.lower === undefined) error('lower', 'is required for a real or integer parameter');
    if (parameter.upper === undefined) error('upper', 'is required for a real or integer parameter');
    if (parameter.lower === undefined || parameter.upper === undefined) return;
    if (parameter.type === 'integer') {
      if (!Number.isInteger(parameter.lower)) error('lower', 'must be an integer');
      if (!Number.isInteger(parameter.upper)) error('upper', 'must be an integer');
    }
    if (parameter.lower >= parameter.upper) {
      error(
        'upper',
        parameter.lower === parameter.upper
          ? 'must be greater than lower (use "fixed" for a constant parameter)'
          : 'must be greater than lower',
      );
    }
    if (parameter.log) {
      if (parameter.type !== 'real') error('log', 'is only for real parameters');
      else if (parameter.lower <= 0) error('lower', 'must be positive for a log-scale parameter');
    }
    if (parameter.granularity !== undefined) {
      if (parameter.type === 'integer' && !Number.isInteger(parameter.granularity)) {
        error('granularity', 'must be an integer for an integer parameter');
      }
      if (parameter.granularity > 0 && !parameter.log && !(parameter.type === 'integer')) {
        if (!isMultiple(parameter.lower, parameter.granularity)) {
          error('lower', `must be a multiple of the granularity ${parameter.granularity}`);
        }
      }
    }
  } else {
    if (hasBounds) error(parameter.lower !== undefined ? 'lower' : 'upper', 'is only for real and integer parameters');
    if (parameter.log) error('log', 'is only for real parameters');
    if (parameter.granularity !== undefined) error('granularity', 'is only for real and integer parameters');
    const values = parameter.values;
    if (values === undefined || values.length === 0) {
      error('values', `is required for an ${parameter.type} parameter`);
      return;
    }
    if (values.length < 2 && parameter.fixed === undefined) {
      error('values', 'needs at least two values (use "fixed" for a constant parameter)');
    }
    if (new Set(values).size !== values.length) error('values', 'must not repeat a value');
    if (values.some((value) => typeof value === 'number' && !Number.isFinite(value))) {
      error('values', 'must hold finite numbers or strings');
    }
  }
  if (parameter.fixed !== undefined) {
    const reason = checkParameterValue(parameter, parameter.fixed);
    if (reason !== null) error('fixed', reason);
  }
}

function numericParameter(parameter: ParameterDefinition): boolean {
  return (
    parameter.type === 'real' ||
    parameter.type === 'integer' ||
    (parameter.values ?? []).every((v) => typeof v === 'number')
  );
}

/**
 * Semantic checks that class-validator cannot express: bounds order, values of X0, names used by
 * derived expressions… Returns every problem found, each with its field path.
 */
export function validateStudyDefinition(definition: StudyDefinition): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  definition.parameters.forEach((parameter, index) => {
    const path = `parameters[${index}]`;
    checkName(parameter.name, path, names, errors);
    validateParameter(parameter, path, errors);
  });
  if (definition.parameters.every((parameter) => parameter.fixed !== undefined) && definition.parameters.length > 0) {
    errors.push({ field: 'parameters', reason: 'at least one parameter must be free (not fixed)' });
  }

  const numeric = new Set(definition.parameters.filter(numericParameter).map((parameter) => parameter.name));
  definition.derived.forEach((derived, index) => {
    const path = `derived[${index}]`;
    checkName(derived.name, path, names, errors);
    try {
      const expression = DerivedExpression.parse(derived.expression);
      for (const variable of expression.variables) {
        if (!numeric.has(variable)) {
          errors.push({
            field: `${path}.expression`,
            reason: `"${variable}" is not a numeric parameter or an earlier derived parameter`,
          });
        }
      }
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      errors.push({ field: `${path}.expression`, reason: error.message });
    }
    numeric.add(derived.name);
  });

  const outputNames = new Set<string>();
  definition.outputs.forEach((output, index) => {
    const path = `outputs[${index}]`;
    checkName(output.name, path, outputNames, errors);
    if (output.goal !== undefined && output.type !== 'objective') {
      errors.push({ field: `${path}.goal`, reason: 'is only for the objective' });
    }
  });
  const objectives = definition.outputs.filter((output) => output.type === 'objective').length;
  if (objectives !== 1) {
    errors.push({ field: 'outputs', reason: `must hold exactly one objective, found ${objectives}` });
  }

  definition.x0.forEach((point, index) => validatePoint(definition.parameters, point, `x0[${index}]`, errors));
  if (errors.length === 0 && definition.derived.length > 0) checkDerivedFinite(definition, errors);
  return errors;
}

/**
 * Derived parameters must be numbers a runner can use: each is evaluated at the centre of the
 * box, at its two extreme corners, at every parameter's bounds with the others at the centre, and
 * at every X0, and must be finite there (`x / 0` or `log(x - 100)` over x in [0, 10] are refused
 * here instead of reaching runners as null). A point inside the box that divides by zero exactly
 * is not found this way.
 */
function checkDerivedFinite(definition: StudyDefinition, errors: FieldError[]): void {
  const mapping = new EngineMapping(definition.parameters, definition.derived, definition.outputs);
  const variables = mapping.variables();
  const centre = mapping.centre();
  const lower = variables.map((variable) => variable.fixedValue ?? variable.lowerBound!);
  const upper = variables.map((variable) => variable.fixedValue ?? variable.upperBound!);
  const probes: number[][] = [centre, lower, upper];
  variables.forEach((_variable, index) => {
    probes.push(centre.map((value, other) => (other === index ? lower[index] : value)));
    probes.push(centre.map((value, other) => (other === index ? upper[index] : value)));
  });
  for (const point of definition.x0) probes.push(mapping.toEngine(point));
  const failing = new Set<number>();
  for (const probe of probes) {
    let point: UserPoint;
    try {
      point = mapping.toUser(probe);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      errors.push({ field: 'derived', reason: error.message });
      return;
    }
    if (mapping.nonFiniteDerived(point) === null) continue;
    definition.derived.forEach((derived, index) => {
      const value = point[derived.name];
      if (failing.has(index) || (typeof value === 'number' && Number.isFinite(value))) return;
      failing.add(index);
      const at = Object.fromEntries(definition.parameters.map((parameter) => [parameter.name, point[parameter.name]]));
      errors.push({
        field: `derived[${index}].expression`,
        reason: `is ${String(value)} at ${JSON.stringify(at).slice(0, 300)}: it must be a finite number over the whole search space`,
      });
    });
  }
}

/** A user-given point (X0 or an enqueued trial): every free parameter, each valid, nothing else. */
export function validatePoint(
  parameters: readonly ParameterDefinition[],
  point: UserPoint,
  path: string,
  errors: FieldError[],
): void {
  const known = new Set(parameters.map((parameter) => parameter.name));
  for (const key of Object.keys(point)) {
    if (!known.has(key)) errors.push({ field: `${path}.${key}`, reason: 'is not a parameter of the study' });
  }
  for (const parameter of parameters) {
    const value: ParameterValue | undefined = Object.hasOwn(point, parameter.name) ? point[parameter.name] : undefined;
    if (value === undefined) {
      if (parameter.fixed === undefined) errors.push({ field: `${path}.${parameter.name}`, reason: 'is required' });
      continue;
    }
    if (parameter.fixed !== undefined && value !== parameter.fixed) {
      errors.push({
        field: `${path}.${parameter.name}`,
        reason: `must equal the fixed value ${JSON.stringify(parameter.fixed)}`,
      });
      continue;
    }
    const reason = checkParameterValue(parameter, value);
    if (reason !== null) errors.push({ field: `${path}.${parameter.name}`, reason });
  }
}
