import { Module } from '@nestjs/common';
import { ProjectsModule } from '../projects/projects.module';
import { EngineStore } from './engine/engine-store';
import { StudyChanges } from './study-changes';
import { NomadImportService } from './nomad/nomad-import.service';
import { StudiesController } from './studies.controller';
import { StudiesService } from './studies.service';
import { StudyResultsController } from './study-results.controller';
import { StudyResultsService } from './study-results.service';

@Module({
  imports: [ProjectsModule],
  controllers: [StudiesController, StudyResultsController],
  providers: [StudiesService, StudyResultsService, NomadImportService, EngineStore, StudyChanges],
  exports: [StudiesService, EngineStore, StudyChanges],
})
export class StudiesModule {}
