/**
 * Event-loop time of reading one request body (`node dist/test/reliability/json-body-measure.js
 * [rounds]`, not in CI): `parseJsonBody` — the shape pass, JSON.parse and the walk of every string
 * and key, which since finding 42 also compares each object's keys with the members it was written
 * with — on bodies of about 5 MB at the shape limits: 199 objects of 1,000 keys, the same with a
 * `\u` escape in every key, and 10,000 long strings. Prints the median and the largest of 5 runs
 * per body and round (docs/reliability.md, finding 42).
 */
import { parseJsonBody } from '../../api/src/common/http/json-body-parser';

const rounds = Number(process.argv[2] ?? 2);

const objects = (key: (index: number) => string): string =>
  JSON.stringify({
    trainingConfig: Object.fromEntries(
      Array.from({ length: 199 }, (_, i) => [
        `o${i}`,
        Object.fromEntries(Array.from({ length: 1_000 }, (_, j) => [key(j), 1])),
      ]),
    ),
  });

const bodies: Record<string, string> = {
  '199 objects x 1,000 keys of 20 characters': objects((j) => `${'k'.repeat(14)}${String(j).padStart(6, '0')}`),
  '199 objects x 1,000 keys, each with \\u escapes': objects((j) => `\u00e9\u00e9\u00e9${j}`).replace(
    /\u00e9/g,
    '\\u00e9',
  ),
  '10,000 strings of 480 characters': JSON.stringify({ x: Array.from({ length: 10_000 }, () => 'v'.repeat(480)) }),
};

for (let round = 1; round <= rounds; round += 1) {
  for (const [name, text] of Object.entries(bodies)) {
    const times: number[] = [];
    for (let run = 0; run < 5; run += 1) {
      const started = process.hrtime.bigint();
      parseJsonBody(text);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(
      `round ${round}  ${name} (${(text.length / 1e6).toFixed(2)} MB): median ${times[2].toFixed(1)} ms, max ${times[4].toFixed(1)} ms`,
    );
  }
}
