import { Module } from '@nestjs/common';
import { EngineModule } from '../engine/engine.module';
import { ProjectsModule } from '../projects/projects.module';
import { NomadImportService } from './nomad/nomad-import.service';
import { StudiesController } from './studies.controller';
import { StudiesService } from './studies.service';
import { StudyResultsController } from './study-results.controller';
import { StudyResultsService } from './study-results.service';

@Module({
  imports: [EngineModule, ProjectsModule],
  controllers: [StudiesController, StudyResultsController],
  providers: [StudiesService, StudyResultsService, NomadImportService],
  exports: [StudiesService, EngineModule],
})
export class StudiesModule {}
