import { Module } from '@nestjs/common';
import { StudyChanges } from '../studies/study-changes';
import { EngineService } from './engine.service';
import { EngineStore } from './engine-store';

/** The engine's commands (EngineService) over the engines' state of record (EngineStore). */
@Module({
  providers: [EngineService, EngineStore, StudyChanges],
  exports: [EngineService, StudyChanges],
})
export class EngineModule {}
