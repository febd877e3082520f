import { ValidateIf, type ValidationOptions } from 'class-validator';

/**
 * An optional field that may be left out but not set to null. class-validator's IsOptional skips
 * the checks of null as well, so `"lower": null` passed them all and MADS searched an unbounded
 * range; with this, null meets the field's checks (and fails them) like any other value.
 */
export function IsOmittable(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined, options);
}
