import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidatorOptions } from 'class-validator';
import { type FieldError, ValidationFailedError } from '../errors/domain-error';
import { childField, itemField } from '../errors/field-path';

function flatten(errors: readonly ValidationError[], prefix: string, out: FieldError[]): FieldError[] {
  for (const error of errors) {
    const isIndex = prefix !== '' && /^\d+$/.test(error.property);
    const field = isIndex ? itemField(prefix, error.property) : childField(prefix, error.property);
    if (error.value === undefined && error.constraints !== undefined) {
      // A field left out fails every check it has ("must be a string", "must not be longer than
      // 200 characters", …); what the client must do is send it, so that is the one reason.
      out.push({ field, reason: 'is required' });
      continue;
    }
    for (const reason of Object.values(error.constraints ?? {})) {
      // class-validator messages start with the property name; the field already says it.
      out.push({
        field,
        reason: reason.startsWith(`${error.property} `) ? reason.slice(error.property.length + 1) : reason,
      });
    }
    flatten(error.children ?? [], field, out);
  }
  return out;
}

const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // `value` is kept on the error (never sent: flatten reads it only to tell a missing field).
  validationError: { target: false, value: true },
};

/**
 * Global validation at the edge: unknown fields are rejected, every problem is reported with its
 * field.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    exceptionFactory: (errors) => new ValidationFailedError(flatten(errors, '', [])),
  });
}

/**
 * The validation pipe's checks on a body built by the server itself (a study read from a NOMAD
 * parameter file), so that it meets exactly the limits of the route that takes it from clients.
 */
export function validateAsBody<T extends object>(type: new () => T, plain: object): T {
  const instance = plainToInstance(type, plain);
  const errors = validateSync(instance, VALIDATOR_OPTIONS);
  if (errors.length > 0) throw new ValidationFailedError(flatten(errors, '', []));
  return instance;
}
