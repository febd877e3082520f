import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { type FieldError, ValidationFailedError } from '../errors/domain-error';

function flatten(errors: readonly ValidationError[], prefix: string, out: FieldError[]): FieldError[] {
  for (const error of errors) {
    const isIndex = /^\d+$/.test(error.property);
    const field =
      prefix === '' ? error.property : isIndex ? `${prefix}[${error.property}]` : `${prefix}.${error.property}`;
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

/** Global validation at the edge (STYLE.md §4): unknown fields are rejected, every problem is reported with its field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationFailedError(flatten(errors, '', [])),
  });
}
