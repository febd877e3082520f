import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Logger, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

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
 * The dashboard's Content-Security-Policy. The page holds a key (sessionStorage) and shows
 * strings that users and runners chose (study and parameter names, failure reasons): it builds
 * its DOM from text nodes only (web/src/dom.ts), and this policy is the second wall should markup
 * ever get through — no inline or foreign script, no `eval`, requests to this origin only, no
 * plugins, no `<base>` — and it may not be framed (clickjacking of its pause/stop buttons).
 * Inline styles stay allowed: the progress bars set `style` attributes and ECharts styles its
 * tooltips inline, and a style runs no code.
 */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the dashboard's static files at `/`, without auth (the page asks for an API key and
 * sends it to /v1 itself). One route per built file (no wildcard), so `/v1/*`, `/health`, `/docs`
 * are untouched and an unknown path still gets the API's JSON 404. The app routes with `#/…`, so
 * no HTML fallback.
 */
@Module({})
export class DashboardModule implements OnModuleInit {
  private readonly logger = new Logger('DashboardModule');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const instance = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const directory = dashboardDirectory();
    if (!existsSync(join(directory, 'index.html'))) {
      this.logger.warn(`dashboard not built (no ${directory}/index.html): run npm run build:dashboard`);
      instance.get('/', (_request, reply) => {
        void reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send(
            'The meshtune dashboard is not built: run `npm run build:dashboard`. The API is under /v1 (docs at /docs).\n',
          );
      });
      return;
    }
    void instance.register(fastifyStatic, {
      root: directory,
      wildcard: false,
      index: 'index.html',
      redirect: false,
      cacheControl: false,
      // Hashed asset names never change; index.html must be revalidated to pick up a new build.
      setHeaders: (reply, path) => {
        void reply.header(
          'Cache-Control',
          path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
        );
        void reply.header('X-Content-Type-Options', 'nosniff');
        void reply.header('Content-Security-Policy', DASHBOARD_CONTENT_SECURITY_POLICY);
        // frame-ancestors' equivalent for browsers that predate it.
        void reply.header('X-Frame-Options', 'DENY');
      },
    });
  }
}
