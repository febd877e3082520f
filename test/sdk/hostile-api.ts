import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server that answers the SDK as a broken or hostile API (or anything between it and
 * the API) would: it is the attacker of these tests, not a stand-in for the product. It plays the
 * runner protocol by default and lets each test replace the answer of any path.
 */
export interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

export type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void | Promise<void>;

export interface HostileApi {
  url: string;
  seen: Seen[];
  /** Answers of this server by path (`METHOD /path`, then `/path`); the rest is the protocol's. */
  routes: Map<string, Handler>;
  /** Forgets the requests seen and the routes set, and starts the protocol over (one lease again). */
  reset(): void;
  close(): Promise<void>;
}

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** A lease of trial `t1` with one objective, `loss`. */
export function leaseBody(overrides: Record<string, unknown> = {}, trial: Record<string, unknown> = {}) {
  return {
    trial: { id: 't1', studyId: 's1', number: 1, status: 'running', parameters: { x: 1 }, attempt: 1, ...trial },
    trainingConfig: {},
    outputs: [{ name: 'loss', type: 'objective', goal: 'minimize' }],
    leaseExpiresAt: '2030-01-01T00:00:00.000Z',
    leaseSeconds: 30,
    ...overrides,
  };
}

/** The runner protocol for one study `s1` with one trial `t1`, then "study completed". */
function protocol(): Handler {
  let leased = false;
  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/v1/runners') return json(response, 201, { id: 'r1', name: 'w', token: 'runner-token' });
    if (path === '/v1/runners/r1/lease') {
      if (leased) {
        response.writeHead(204, { 'meshtune-study-status': 'completed', 'retry-after': '1' });
        response.end();
        return;
      }
      leased = true;
      return json(response, 200, leaseBody());
    }
    if (path === '/v1/trials/t1/heartbeat') {
      return json(response, 200, { shouldStop: false, reason: null, leaseExpiresAt: null, metricsDropped: 0 });
    }
    if (/^\/v1\/trials\/t1\/(complete|fail|release)$/.test(path))
      return json(response, 200, { id: 't1', status: 'completed' });
    return json(response, 404, { statusCode: 404, code: 'NOT_FOUND', message: path });
  };
}

export async function hostileApi(): Promise<HostileApi> {
  const seen: Seen[] = [];
  const routes = new Map<string, Handler>();
  let fallback = protocol();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      seen.push({ method: request.method ?? '', path, authorization: request.headers.authorization, body });
      const handler = routes.get(`${request.method} ${path}`) ?? routes.get(path) ?? fallback;
      void Promise.resolve(handler(request, response, body)).catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    routes,
    reset: () => {
      seen.length = 0;
      routes.clear();
      fallback = protocol();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `promise`, or a rejection after `ms`: a test of a hang fails instead of hanging the suite. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
