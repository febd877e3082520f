import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from './auth/auth.module';
import { BodyDepthMiddleware } from './common/http/body-depth.middleware';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { dataSourceOptions } from './database/data-source-options';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { RequestLoggingMiddleware } from './metrics/request-logging.middleware';
import { RunnersModule } from './runners/runners.module';
import { StudiesModule } from './studies/studies.module';
import { TrialsModule } from './trials/trials.module';

@Module({})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestLoggingMiddleware, BodyDepthMiddleware).forRoutes('*');
  }

  /** `databaseUrl`: DATABASE_URL, or the embedded server's URL. */
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MetricsModule,
        TypeOrmModule.forRoot(dataSourceOptions(databaseUrl)),
        AuthModule,
        StudiesModule,
        TrialsModule,
        RunnersModule,
        HealthModule,
        DashboardModule,
      ],
    };
  }
}
