import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express, { type Express, type Request, type Response } from 'express';

/**
 * Where `npm run build:dashboard` (Vite, api/src/dashboard/web/vite.config.mts) writes the web app.
 * Outside dist/ because the Nest build empties dist/ first. Relative to this file, compiled
 * (dist/api/src/dashboard/) or not (api/src/dashboard/), the repository root is three or four up.
 */
export function dashboardDirectory(): string {
  const compiled = resolve(__dirname, '../../../../dist-dashboard');
  return existsSync(compiled) ? compiled : resolve(__dirname, '../../../dist-dashboard');
}

/**
 * Serves the dashboard's static files at `/`, without auth (the page asks for an API key and
 * sends it to /v1 itself). Mounted when the module initialises: after the API's routes, before
 * Nest's JSON 404 handler, so `/v1/*`, `/health`, `/docs` are untouched and an unknown path that
 * is not a file still gets the API's 404 body. The app routes with `#/…`, so no HTML fallback.
 */
@Module({})
export class DashboardModule implements OnModuleInit {
  private readonly logger = new Logger('DashboardModule');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const app = this.adapterHost.httpAdapter.getInstance<Express>();
    const directory = dashboardDirectory();
    if (!existsSync(join(directory, 'index.html'))) {
      this.logger.warn(`dashboard not built (no ${directory}/index.html): run npm run build:dashboard`);
      app.get('/', (_request: Request, response: Response) => {
        response
          .status(503)
          .type('text/plain')
          .send(
            'The meshtune dashboard is not built: run `npm run build:dashboard`. The API is under /v1 (docs at /docs).\n',
          );
      });
      return;
    }
    app.use(
      express.static(directory, {
        index: 'index.html',
        fallthrough: true,
        redirect: false,
        // Hashed asset names never change; index.html must be revalidated to pick up a new build.
        setHeaders: (response, path) => {
          response.setHeader(
            'Cache-Control',
            path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
          );
          response.setHeader('X-Content-Type-Options', 'nosniff');
        },
      }),
    );
  }
}
