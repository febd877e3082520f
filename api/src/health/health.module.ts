import { type DynamicModule, Module } from '@nestjs/common';
import type { EmbeddedDatabase } from '../database/embedded-postgres';
import { EMBEDDED_DATABASE, HealthController } from './health.controller';

@Module({})
export class HealthModule {
  /** `database`: the embedded cluster this process supervises, or null with DATABASE_URL. */
  static forRoot(database: EmbeddedDatabase | null): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [{ provide: EMBEDDED_DATABASE, useValue: database }],
    };
  }
}
