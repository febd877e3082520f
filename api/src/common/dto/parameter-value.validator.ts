import { type ValidationArguments, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';

/** Characters of a string parameter value (STUDY_LIMITS.valueLength). */
export const MAX_STRING = 200;

function isParameterValue(value: unknown): boolean {
  return (
    (typeof value === 'number' && Number.isFinite(value)) ||
    (typeof value === 'string' && value.length > 0 && value.length <= MAX_STRING)
  );
}

@ValidatorConstraint({ name: 'isParameterValue' })
export class IsParameterValue implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return isParameterValue(value);
  }
  defaultMessage(): string {
    return `$property must be a finite number or a non-empty string of at most ${MAX_STRING} characters`;
  }
}

@ValidatorConstraint({ name: 'isParameterValueList' })
export class IsParameterValueList implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return Array.isArray(value) && value.every(isParameterValue);
  }
  defaultMessage(): string {
    return `$property must be an array of finite numbers or non-empty strings of at most ${MAX_STRING} characters`;
  }
}

/** A user point: an object whose values are parameter values. */
@ValidatorConstraint({ name: 'isUserPoint' })
export class IsUserPoint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const entries = Object.entries(value);
    return entries.length <= 200 && entries.every(([key, entry]) => key.length <= 64 && isParameterValue(entry));
  }
  defaultMessage(): string {
    return '$property must be an object mapping parameter names to finite numbers or strings';
  }
}

@ValidatorConstraint({ name: 'isUserPointList' })
export class IsUserPointList implements ValidatorConstraintInterface {
  private readonly point = new IsUserPoint();
  validate(value: unknown): boolean {
    return Array.isArray(value) && value.every((entry) => this.point.validate(entry));
  }
  defaultMessage(): string {
    return '$property must be an array of objects mapping parameter names to finite numbers or strings';
  }
}

/** Output values by name: finite numbers (a non-finite objective is reported through /fail). */
@ValidatorConstraint({ name: 'isOutputValues' })
export class IsOutputValues implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const entries = Object.entries(value);
    return (
      entries.length <= 100 &&
      entries.every(([key, entry]) => key.length <= 64 && typeof entry === 'number' && Number.isFinite(entry))
    );
  }
  defaultMessage(): string {
    return '$property must be an object mapping output names to finite numbers (report a failed evaluation with /fail)';
  }
}

/**
 * Opaque JSON object, bounded in size: 64 KiB unless the decorator names another bound
 * (`@Validate(IsBoundedJsonObject, [16 * 1024])`).
 */
@ValidatorConstraint({ name: 'isBoundedJsonObject' })
export class IsBoundedJsonObject implements ValidatorConstraintInterface {
  static readonly MAX_BYTES = 64 * 1024;
  validate(value: unknown, args?: ValidationArguments): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    return JSON.stringify(value).length <= IsBoundedJsonObject.maxBytes(args);
  }
  defaultMessage(args?: ValidationArguments): string {
    return `$property must be a JSON object of at most ${IsBoundedJsonObject.maxBytes(args)} bytes`;
  }
  private static maxBytes(args?: ValidationArguments): number {
    const bound: unknown = args?.constraints?.[0];
    return typeof bound === 'number' ? bound : IsBoundedJsonObject.MAX_BYTES;
  }
}
