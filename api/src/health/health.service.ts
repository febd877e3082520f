import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EmbeddedDatabase, EmbeddedDatabaseState } from '../database/embedded-postgres';

export const EMBEDDED_DATABASE = Symbol('EMBEDDED_DATABASE');

/** What the health routes ask of the database (controllers never touch SQL). */
@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(EMBEDDED_DATABASE) private readonly embedded: EmbeddedDatabase | null,
  ) {}

  /** The embedded server's state; `up` when the database is external (not this process's to supervise). */
  embeddedDatabaseState(): EmbeddedDatabaseState {
    return this.embedded?.state() ?? 'up';
  }

  /** Whether the database answers a query now. */
  async databaseAnswers(): Promise<boolean> {
    try {
      await this.dataSource.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }
}
