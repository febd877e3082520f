import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, type ValidationOptions } from 'class-validator';

/**
 * Documents a whole-number property as `type: integer` in the OpenAPI document. The swagger
 * plugin writes every TypeScript `number` as `number`, so clients generated from the document
 * (the runner's models, other languages' SDKs) would take counts and sizes for floats. Whether
 * the property is required or nullable, and its description, still come from the plugin.
 */
export function IntegerProperty(): PropertyDecorator {
  return ApiProperty({ type: 'integer', required: undefined });
}

/** A whole number in a request: checked (class-validator's IsInt) and documented as `integer`. */
export function IsInteger(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(IsInt(options), IntegerProperty());
}

/** A whole number as a query string writes it: digits, a minus for a negative, no leading zero. */
const DECIMAL_INTEGER = /^(0|-?[1-9][0-9]{0,15})$/;

/**
 * A whole number in a query string (text): read only when written as a plain decimal integer, and
 * checked and documented as IsInteger. `Number()` (class-transformer's `@Type(() => Number)`)
 * also reads `0x10` as 16, `0b11` as 3, `1e2` as 100, ` 5` and `5.0` as 5, so a filter in front
 * and the API could read one query two ways (docs/reliability.md, finding 37); any other text is
 * left as it came and fails IsInt, a 400 naming the parameter.
 */
export function QueryInteger(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && DECIMAL_INTEGER.test(value) ? Number(value) : value,
    ),
    IsInteger(options),
  );
}
