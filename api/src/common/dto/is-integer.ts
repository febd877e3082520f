import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
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
