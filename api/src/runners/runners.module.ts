import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ProjectsModule } from '../projects/projects.module';
import { StudiesModule } from '../studies/studies.module';
import { TrialsModule } from '../trials/trials.module';
import { LeaseService } from './lease.service';
import { RunnerHealthModule } from './runner-health.module';
import { RunnersController } from './runners.controller';
import { RunnersService } from './runners.service';

@Module({
  imports: [AuthModule, StudiesModule, TrialsModule, RunnerHealthModule, ProjectsModule],
  controllers: [RunnersController],
  providers: [RunnersService, LeaseService],
})
export class RunnersModule {}
