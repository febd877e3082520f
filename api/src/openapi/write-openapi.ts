import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { buildOpenApiDocument, createHttpAdapter } from '../app-setup';
import { loadConfig } from '../config/app-config';

/** Deterministic JSON: object keys sorted at every level, arrays kept in order. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Writes api/openapi.json from the code, without a database and without serving. */
async function main(): Promise<void> {
  const config = loadConfig({});
  const app = await NestFactory.create(
    AppModule.forRoot(config, 'postgres://unused@127.0.0.1:1/unused'),
    createHttpAdapter(),
    {
      preview: true,
      logger: false,
    },
  );
  const document = sortKeys(buildOpenApiDocument(app));
  const target = join(process.cwd(), process.argv[2] ?? 'api/openapi.json');
  writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
  await app.close();
  process.stdout.write(`openapi: wrote ${target}\n`);
}

void main();
