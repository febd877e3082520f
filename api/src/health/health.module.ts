import { type DynamicModule, Module } from '@nestjs/common';
import type { EmbeddedDatabase } from '../database/embedded-postgres';
import { HealthController } from './health.controller';
import { EMBEDDED_DATABASE, HealthService } from './health.service';

@Module({})
export class HealthModule {
  /** `database`: the embedded cluster this process supervises, or null with DATABASE_URL. */
  static forRoot(database: EmbeddedDatabase | null): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [HealthService, { provide: EMBEDDED_DATABASE, useValue: database }],
    };
  }
}
