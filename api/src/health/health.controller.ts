import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/errors/domain-error';
import { HealthService } from './health.service';

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
  constructor(private readonly health: HealthService) {}

  /** Liveness: the process answers, and so does the embedded PostgreSQL it supervises (503 while it restarts). */
  // An external database's outage is not this process's fault: readiness reports it, liveness does not.
  @Get()
  getHealth(): HealthResponseDto {
    const state = this.health.embeddedDatabaseState();
    if (state !== 'up') throw new DomainError('SERVICE_UNAVAILABLE', `the embedded database is ${state}`);
    return { status: 'ok' };
  }

  /** Readiness: the database answers too. */
  @Get('ready')
  async getReadiness(): Promise<ReadinessResponseDto> {
    if (!(await this.health.databaseAnswers())) {
      throw new DomainError('SERVICE_UNAVAILABLE', 'the database does not answer');
    }
    return { status: 'ok', database: 'ok' };
  }
}
