import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { StudyChanges } from '../studies/study-changes';
import { EngineHost } from './engine-host';
import { EngineService } from './engine.service';
import { EngineStore } from './engine-store';

/** The engine's commands (EngineService) over the engines' state of record (EngineStore), run in the engine host thread(s). */
@Module({
  providers: [
    EngineService,
    EngineStore,
    StudyChanges,
    {
      provide: EngineHost,
      useFactory: (config: AppConfig) => new EngineHost(config.engineThreads),
      inject: [APP_CONFIG],
    },
  ],
  exports: [EngineService, StudyChanges],
})
export class EngineModule {}
