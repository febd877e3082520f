import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/errors/domain-error';
import type { EmbeddedDatabase } from '../database/embedded-postgres';

export const EMBEDDED_DATABASE = Symbol('EMBEDDED_DATABASE');

export class HealthResponseDto {
  status: 'ok';
}

export class ReadinessResponseDto {
  status: 'ok';
  database: 'ok';
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(EMBEDDED_DATABASE) private readonly embedded: EmbeddedDatabase | null,
  ) {}

  /** Liveness: the process answers, and so does the embedded PostgreSQL it supervises (503 while it restarts). */
  // An external database's outage is not this process's fault: readiness reports it, liveness does not.
  @Get()
  getHealth(): HealthResponseDto {
    const state = this.embedded?.state() ?? 'up';
    if (state !== 'up') throw new DomainError('SERVICE_UNAVAILABLE', `the embedded database is ${state}`);
    return { status: 'ok' };
  }

  /** Readiness: the database answers too. */
  @Get('ready')
  async getReadiness(): Promise<ReadinessResponseDto> {
    try {
      await this.dataSource.query('SELECT 1');
    } catch {
      throw new DomainError('SERVICE_UNAVAILABLE', 'the database does not answer');
    }
    return { status: 'ok', database: 'ok' };
  }
}
