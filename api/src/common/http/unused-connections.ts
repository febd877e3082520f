import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * Closes, when the app closes, the connections on which a client has sent nothing yet
 * (docs/reliability.md, finding 70). Node's `server.close()` (which Fastify calls) closes the
 * idle keep-alive connections, those between two requests, but counts a connection that has not
 * sent its first byte as a request in progress (so that `headersTimeout` bounds it): the drain then
 * waited for it up to `headersTimeout` plus the check interval (60 s + up to 15 s), a client's
 * HTTP pool that connected for a request it then cancelled was enough. A connection with a
 * request in progress, or part of one received, is left to finish, as before.
 */
export function closeUnusedConnectionsOnClose(app: NestFastifyApplication): void {
  const server = app.getHttpServer() as Server;
  const open = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    // Accepted between the hook below and `server.close()`: nothing can be served on it.
    if (closing) {
      socket.destroy();
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('preClose', (done) => {
      closing = true;
      for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
      done();
    });
}
