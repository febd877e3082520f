import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { clientErrorBody, expectationErrorBody, frameworkErrorBody } from './common/errors/error-body';
import { ERROR_STATUS } from './common/errors/error-codes';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { installJsonBodyParser, MAX_BODY_BYTES } from './common/http/json-body-parser';
import { QueryKeysInterceptor } from './common/http/query-keys';
import { repeatedHeaderError } from './common/http/request-headers';
import { closeUnusedConnectionsOnClose } from './common/http/unused-connections';
import { createValidationPipe } from './common/http/validation';
import type { AppConfig } from './config/app-config';
import { installRequestLogging } from './metrics/request-logging';
import { MetricsService } from './metrics/metrics.service';

const REQUEST_ID = /^[\w.-]{1,100}$/;

/** The caller's `x-request-id` when it is a plain token, else a new one. */
function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * The HTTP adapter. Fastify rather than Express: measured here, a bare Nest route costs about
 * 50 µs of CPU on Fastify against 300 µs on Express, and runners make three requests per trial.
 */
export function createHttpAdapter(
  trustProxy: AppConfig['trustProxy'] = false,
  requestTimeoutSeconds: AppConfig['requestTimeoutSeconds'] = 60,
): FastifyAdapter {
  const requestTimeout = requestTimeoutSeconds * 1000;
  return new FastifyAdapter({
    bodyLimit: MAX_BODY_BYTES,
    // A request (head and whole body) must arrive within this, or its connection is closed (408
    // when nothing was answered yet). Fastify's default is 0, no limit: a body sent a byte at a
    // time held its connection for ever, and with a key one of its project's places in flight
    // (docs/reliability.md, finding 29). Node checks every `connectionsCheckingInterval`, so a
    // request is cut between the timeout and a quarter of it later; the head alone keeps Node's
    // 60 s when the timeout is longer.
    requestTimeout,
    http: {
      requestTimeout,
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, requestTimeout / 4)),
    },
    // What Node's parser or the request timeout refuses, before Fastify routes anything (a head past
    // 16 KiB, a request line it cannot read, a request not arrived in time), gets the API's error
    // body and a request id too (docs/reliability.md, finding 36), then the connection is closed.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      // As Node's own handler: no answer on a connection whose response has begun.
      const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (socket.writable && response?.headersSent !== true) {
        const requestId = randomUUID();
        const body = clientErrorBody(error.code, requestId);
        const text = JSON.stringify(body);
        socket.write(
          `HTTP/1.1 ${body.statusCode} ${STATUS_CODES[body.statusCode]}\r\n` +
            'Content-Type: application/json; charset=utf-8\r\n' +
            `Content-Length: ${Buffer.byteLength(text)}\r\n` +
            `x-request-id: ${requestId}\r\nConnection: close\r\n\r\n${text}`,
        );
      }
      socket.destroy(error);
    },
    // request.ip (failed-auth limiter, logs) believes X-Forwarded-For only from these proxies.
    trustProxy,
    routerOptions: {
      // /v1/studies/ is /v1/studies.
      ignoreTrailingSlash: true,
      // Path parameters up to this length get the API's own 400/404 from the route's pipe.
      maxParamLength: 1000,
    },
    // What the router refuses before any hook runs (a path that is not valid percent-encoding, a
    // longer parameter) gets the API's error body and request id too, not Fastify's own codes.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const requestId = requestIdOf(request.headers['x-request-id']);
      const body = frameworkErrorBody(error as { code?: unknown }, requestId);
      void reply.code(body.statusCode).header('x-request-id', requestId).send(body);
    },
  });
}

type OpenApiSchema = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string];

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('meshtune')
    .setDescription(
      'LoRA hyperparameter tuning as a service: studies and trials, GPU runners, and NOMAD 4 MADS suggestions server-side.',
    )
    .setVersion('1')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'An API key (admin, user or runner scope) or a runner token',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey: string, methodKey: string) => methodKey,
  });
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ErrorBody: errorBodySchema() },
  };
  documentRateLimits(document);
  return document;
}

/**
 * Every operation that takes a key may answer 429 RATE_LIMITED (api/src/rate-limit): documented
 * once here rather than on each route, since the AuthGuard charges every authenticated request and
 * the in-flight interceptor bounds every one.
 */
function documentRateLimits(document: OpenAPIObject): void {
  for (const operations of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = operations[method];
      if (operation?.security === undefined || operation.security.length === 0) continue;
      operation.responses['429'] = {
        description:
          "RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window " +
          '(details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many ' +
          'requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, ' +
          '`retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry ' +
          'after `Retry-After` seconds.',
        headers: {
          'Retry-After': {
            description: 'Seconds until the budget refills or a place may be free',
            schema: { type: 'integer' },
          },
        },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
      };
    }
  }
}

/**
 * The body of every 4xx/5xx answer, with the closed list of codes and (`x-error-status`) the
 * HTTP status of each: the one source the SDK's error codes are generated from.
 */
function errorBodySchema(): OpenApiSchema & { 'x-error-status': Record<string, number> } {
  return {
    type: 'object',
    required: ['statusCode', 'code', 'message'],
    properties: {
      statusCode: { type: 'integer', description: 'The HTTP status, repeated' },
      code: { type: 'string', enum: Object.keys(ERROR_STATUS), description: 'Stable machine-readable code' },
      message: { type: 'string', description: 'For people: names the field when a field is at fault' },
      details: { description: 'Per-field errors `[{field, reason}]` on VALIDATION_FAILED; other context otherwise' },
      requestId: { type: 'string', description: 'The `x-request-id` of the request, to quote in a report' },
    },
    'x-error-status': { ...ERROR_STATUS },
  };
}

/** Everything main.ts, the tests and the OpenAPI writer share, so they run the same app. */
export function configureApp(app: NestFastifyApplication, config: AppConfig): void {
  const instance = app.getHttpAdapter().getInstance();
  instance.addHook('onRequest', (request, reply, done) => {
    const requestId = requestIdOf(request.headers['x-request-id']);
    request.headers['x-request-id'] = requestId;
    void reply.header('x-request-id', requestId);
    // No response of this service may be framed by another site (clickjacking): the API reference
    // (Swagger UI) takes a key in its Authorize dialog and has "Try it out" buttons that send
    // writes. Set on every response rather than on a URL match: `/docs?x=1` reaches the same page
    // as `/docs`, and a match on the raw URL let it be framed (docs/reliability.md, finding 24).
    // Swagger UI's scripts are its own; the dashboard replaces this with its stricter policy
    // (dashboard.module.ts), which forbids framing too.
    void reply.header('Content-Security-Policy', "frame-ancestors 'none'");
    void reply.header('X-Frame-Options', 'DENY');
    // A key or a media type given twice is refused before anything reads either (finding 64).
    done(repeatedHeaderError(request.raw.rawHeaders) ?? undefined);
  });
  const server = app.getHttpServer() as Server;
  // An `Expect` other than 100-continue is answered by Node itself, before Fastify: 417 with no
  // body, code or request id (docs/reliability.md, finding 60). Answered here in the API's words;
  // the body is not read and the connection is closed (finding 34).
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const requestId = requestIdOf(request.headers['x-request-id']);
    const text = JSON.stringify(expectationErrorBody(requestId));
    response.writeHead(400, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'x-request-id': requestId,
      Connection: 'close',
    });
    response.end(text);
  });
  // Node answers `Expect: 100-continue` with "100 Continue" as soon as the head arrives, so a
  // client without a key, or past its budget, was told to send its body before the key was checked
  // (finding 67). With this listener Node leaves the answer to the API: the request goes on to
  // Fastify untold, and JsonBodyInterceptor says "continue" once the request is admitted, just
  // before it reads the body. A request refused before that is answered without the body, and its
  // connection closed (finding 34).
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    server.emit('request', request, response);
  });
  installRequestLogging(instance, app.get(MetricsService));
  closeUnusedConnectionsOnClose(app);
  // Before the body is read (installJsonBodyParser's interceptor): a query key no route reads is refused first.
  app.useGlobalInterceptors(new QueryKeysInterceptor());
  installJsonBodyParser(app);
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins });
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useGlobalPipes(createValidationPipe());
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    customSiteTitle: 'meshtune API',
  });
}
