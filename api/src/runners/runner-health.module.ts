import { Module } from '@nestjs/common';
import { StudiesModule } from '../studies/studies.module';
import { RunnerHealth } from './runner-health';

/** Runner health and quarantine: used by the reports (runner failures) and the lease gate. */
@Module({
  imports: [StudiesModule],
  providers: [RunnerHealth],
  exports: [RunnerHealth],
})
export class RunnerHealthModule {}
