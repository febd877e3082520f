import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/errors/domain-error';

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
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Liveness: the process answers. */
  @Get()
  getHealth(): HealthResponseDto {
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
