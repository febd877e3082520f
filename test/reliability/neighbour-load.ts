/**
 * The neighbour in the reliability measurements (not in CI): project B's runner leasing and
 * completing its own study back to back while project A does the work being measured, every round
 * timed, so that a script can say what A's work cost another project (docs/reliability.md,
 * findings 27 and 48, and the "Probed … and found fine" rows). One owner for B's loop and for how
 * its rounds are summed up, so that the scripts' figures stay comparable.
 */
import { percentile } from '../../api/bench/service/stats';
import { expectStatus, lease, registerRunner, report } from '../support/api-client';
import { createFleet, fleetStudy } from '../support/runner-fleet';
import type { TestServer } from '../support/test-server';

export interface NeighbourLoad {
  /** B's round times (ms) of the rounds that began in [from, to): B before A's work, alone. */
  startedBetween(from: number, to: number): number[];
  /** B's round times (ms) of the rounds that overlapped [from, to): B beside A's work. */
  overlapping(from: number, to: number): number[];
  /** Ends B's loop after its round in flight. */
  stop(): Promise<void>;
}

/** Starts project B (its own key, runner and study) and its loop; `performance.now()` clock. */
export async function startNeighbourLoad(test: TestServer): Promise<NeighbourLoad> {
  const b = await createFleet(test, 'measure-b');
  const runner = await registerRunner(test, b.runnerKey, 'b');
  const study = await fleetStudy(test, b, { name: 'b', budget: { maxEvaluations: 1_000_000, leaseSeconds: 600 } });
  const rounds: { at: number; ms: number }[] = [];
  let stopping = false;
  // A failed round ends the loop and is thrown by `stop`, not left unhandled: when the script's own
  // work fails first and closes the app, B's next round fails too, and that must not hide why.
  let failure: unknown = null;
  const loop = (async () => {
    while (!stopping) {
      const start = performance.now();
      const leased = expectStatus(await lease(test, runner, study), 200).body.trial.id as string;
      expectStatus(await report(test, runner, leased, 'complete', { outputs: { loss: Math.random() } }), 200);
      rounds.push({ at: start, ms: performance.now() - start });
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    startedBetween: (from, to) => rounds.filter((r) => r.at >= from && r.at < to).map((r) => r.ms),
    overlapping: (from, to) => rounds.filter((r) => r.at + r.ms >= from && r.at < to).map((r) => r.ms),
    stop: async () => {
      stopping = true;
      await loop;
      if (failure !== null) throw failure;
    },
  };
}

/** A sample of round times as the scripts print it: count, p50, p99 and max, whole milliseconds. */
export function roundSummary(values: readonly number[]): { rounds: number; p50: number; p99: number; max: number } {
  return {
    rounds: values.length,
    p50: Math.round(percentile(values, 50)),
    p99: Math.round(percentile(values, 99)),
    max: Math.round(Math.max(...values)),
  };
}
