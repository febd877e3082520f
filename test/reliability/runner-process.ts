/**
 * A runner as its own process, for `kill -9` tests: leases one trial of a study, prints
 * `{"trialId":…,"attempt":…}` on stdout, then "trains" forever, sending trial heartbeats.
 * Usage: node runner-process.js <apiUrl> <runnerId> <runnerToken> <studyId>
 */
import { call, sleep } from './cluster';

async function main(): Promise<void> {
  const [url, runnerId, token, studyId] = process.argv.slice(2);
  for (;;) {
    const leased = await call(url, 'POST', `/v1/runners/${runnerId}/lease`, token, { studyId });
    if (leased.status === 200) {
      const trial = leased.body.trial as { id: string; attempt: number };
      process.stdout.write(`${JSON.stringify({ trialId: trial.id, attempt: trial.attempt })}\n`);
      for (;;) {
        await sleep(1000);
        await call(url, 'POST', `/v1/trials/${trial.id}/heartbeat`, token, { progress: 0.5 });
      }
    }
    await sleep(100);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`runner-process: ${String(error)}\n`);
  process.exit(1);
});
