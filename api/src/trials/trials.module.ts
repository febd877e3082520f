import { Module } from '@nestjs/common';
import { ProjectsModule } from '../projects/projects.module';
import { RunnerHealthModule } from '../runners/runner-health.module';
import { StudiesModule } from '../studies/studies.module';
import { LeaseSweeper } from './lease-sweeper';
import { NomadCacheImportService } from './nomad-cache-import.service';
import { TrialEarlyStopping } from './trial-early-stopping';
import { TrialReportsService } from './trial-reports.service';
import { TrialsController } from './trials.controller';
import { TrialsService } from './trials.service';

@Module({
  imports: [StudiesModule, RunnerHealthModule, ProjectsModule],
  controllers: [TrialsController],
  providers: [TrialsService, TrialReportsService, TrialEarlyStopping, LeaseSweeper, NomadCacheImportService],
  exports: [LeaseSweeper],
})
export class TrialsModule {}
