import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { getMetadataStorage } from 'class-validator';

type DtoClass = abstract new (...args: never[]) => unknown;

/** Every compiled DTO module under dist/api/src (this file's own tree), loaded for its classes. */
async function dtoClasses(): Promise<DtoClass[]> {
  const root = resolve(__dirname, '../..');
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(dto|params)\.js$/.test(entry.name)) files.push(path);
    }
  };
  walk(root);
  const modules = await Promise.all(files.map(async (file) => (await import(file)) as Record<string, unknown>));
  return modules.flatMap((exported) =>
    Object.values(exported).filter(
      (value): value is DtoClass => typeof value === 'function' && /Dto$/.test(value.name),
    ),
  );
}

describe('integers in the OpenAPI document', () => {
  const document = JSON.parse(readFileSync(resolve(process.cwd(), 'api/openapi.json'), 'utf8')) as {
    components: { schemas: Record<string, { properties?: Record<string, { type?: string }> }> };
  };

  it('every request field the API checks as an integer is `type: integer` in api/openapi.json', async () => {
    const checked: string[] = [];
    for (const dto of await dtoClasses()) {
      const schema = document.components.schemas[dto.name];
      if (schema?.properties === undefined) continue;
      const integers = getMetadataStorage()
        .getTargetValidationMetadatas(dto, '', true, false)
        .filter((metadata) => metadata.name === 'isInt')
        .map((metadata) => metadata.propertyName);
      for (const property of new Set(integers)) {
        checked.push(`${dto.name}.${property}`);
        assert.equal(schema.properties[property]?.type, 'integer', `${dto.name}.${property}`);
      }
    }
    // The walk found the DTOs: budgets, pagination, runner registration, reports.
    for (const known of ['StudyBudgetDto.maxEvaluations', 'RegisterRunnerDto.gpus', 'TrialAdapterDto.sizeBytes'])
      assert.ok(checked.includes(known), `${known} in ${checked.join(', ')}`);
  });
});
