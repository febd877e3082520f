import { Module } from '@nestjs/common';
import { EngineStore } from './engine/engine-store';
import { NomadImportService } from './nomad/nomad-import.service';
import { StudiesController } from './studies.controller';
import { StudiesService } from './studies.service';
import { StudyResultsController } from './study-results.controller';
import { StudyResultsService } from './study-results.service';

@Module({
  controllers: [StudiesController, StudyResultsController],
  providers: [StudiesService, StudyResultsService, NomadImportService, EngineStore],
  exports: [StudiesService, EngineStore],
})
export class StudiesModule {}
