import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from './auth/auth.module';
import { ProjectsModule } from './projects/projects.module';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { dataSourceOptions } from './database/data-source-options';
import type { EmbeddedDatabase } from './database/embedded-postgres';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { RunnersModule } from './runners/runners.module';
import { StudiesModule } from './studies/studies.module';
import { TrialsModule } from './trials/trials.module';

@Module({})
export class AppModule {
  /** `databaseUrl`: DATABASE_URL, or the embedded server's application role; `embedded`: that server. */
  static forRoot(config: AppConfig, databaseUrl: string, embedded: EmbeddedDatabase | null = null): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MetricsModule,
        TypeOrmModule.forRoot(dataSourceOptions(databaseUrl)),
        AuthModule,
        ProjectsModule,
        StudiesModule,
        TrialsModule,
        RunnersModule,
        HealthModule.forRoot(embedded),
        DashboardModule,
      ],
    };
  }
}
