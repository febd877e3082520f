import type { OnModuleDestroy } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { rebuildAlgorithmError } from '../optimizer-contract/algorithm-errors';
import type { CurveStoppingPolicy, PausedTrial, ResumeChoice, ResumeContext } from '../early-stopping';
import type { EngineCall, EngineReply, EngineStart, EngineTask } from './engine-host-protocol';

/** How much lower the engine threads' CPU priority is than the event loop's (nice increment). */
const ENGINE_THREAD_NICE = 5;

/** The queue of the calls that name no project (the thread id, tests). */
const NO_PROJECT = '';

/** A call waiting for an engine thread, with the number of calls started before it was queued. */
interface QueuedCall {
  task: EngineTask;
  project: string;
  startedBefore: number;
  resolve: (reply: EngineReply) => void;
  reject: (error: unknown) => void;
}

/** The compiled worker next to this file (dist/api/src/engine/ once built). */
const WORKER_FILE = join(__dirname, 'engine-host.worker.js');

/**
 * The thread(s) where this API process runs its study engines (engine-host.worker.ts), so that a
 * long ask, tell, replay or snapshot never holds up the event loop that serves every other
 * request. One thread by default: every call of a study then finds the engine it left there. With
 * more (MESHTUNE_ENGINE_THREADS), studies run in parallel and a call may land on a thread that
 * holds an older engine or none; the version the caller sends makes that thread rebuild it, never
 * use a stale one (docs/architecture.md, "Where engine work runs").
 *
 * The calls wait here, one queue per project, and start in turn across the projects (round robin),
 * at most one per thread at a time: a project with many calls queued holds another project's call
 * back by about one of its calls, not all of them (docs/reliability.md, finding 63). A project's
 * own calls, so each study's, start in the order they came.
 */
export class EngineHost implements OnModuleDestroy {
  private readonly pool: Piscina<EngineTask, EngineReply>;
  /** Per project, its calls not started yet; the Map's order is the turn (the next one is first). */
  private readonly queues = new Map<string, QueuedCall[]>();
  private running = 0;
  private started = 0;
  /** Tests only: told as each call starts, with how many calls started while it waited. */
  onStart: ((project: string, startedAhead: number) => void) | null = null;

  constructor(private readonly threads: number) {
    if (!existsSync(WORKER_FILE)) {
      throw new Error(`engine host: ${WORKER_FILE} is missing; run the API from its build (npm run build:api)`);
    }
    this.pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      // The engines live in the threads: an idle thread is kept, not recycled with its cache.
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      // A lower CPU priority for the engine threads (nice(2), through piscina's optional
      // @napi-rs/nice): when the cores are busy, the event loop, which answers every request in a
      // few milliseconds, runs first and the long engine call waits (docs/architecture.md).
      niceIncrement: ENGINE_THREAD_NICE,
    });
  }

  /** Runs one command on a study's engine (EngineStore decides what to send). */
  async call(
    task: EngineCall,
    project: string,
  ): Promise<Exclude<EngineReply, { status: 'failed' | 'thread' | 'resume' }>> {
    const reply = await this.run(task, project);
    if (reply.status === 'thread' || reply.status === 'resume') throw new Error('engine host: unexpected reply');
    return reply;
  }

  /** Which paused trial to resume (`chooseResume`), computed in the host thread: see EngineChooseResume. */
  async chooseResume(
    paused: PausedTrial<string>[],
    context: ResumeContext,
    policy: CurveStoppingPolicy | null,
    project: string,
  ): Promise<ResumeChoice<string>> {
    const reply = await this.run({ type: 'chooseResume', paused, context, policy }, project);
    if (reply.status !== 'resume') throw new Error('engine host: unexpected reply');
    return reply.choice;
  }

  /** A new study's initial engine state (JSON text); InvalidProblemError / InvalidOptionsError as createAlgorithm throws them. */
  async create(start: EngineStart, project: string): Promise<string> {
    const reply = await this.run({ type: 'create', start }, project);
    if (reply.status !== 'done' || reply.state === undefined) throw new Error('engine host: unexpected reply');
    return reply.state;
  }

  /** The id of the thread that runs engine commands (not the event loop's, 0). */
  async threadId(): Promise<number> {
    const reply = await this.run({ type: 'where' }, NO_PROJECT);
    if (reply.status !== 'thread') throw new Error('engine host: unexpected reply');
    return reply.threadId;
  }

  /** How many calls wait for a thread (all projects). */
  get queued(): number {
    let waiting = 0;
    for (const queue of this.queues.values()) waiting += queue.length;
    return waiting;
  }

  async close(): Promise<void> {
    // Calls still queued here would otherwise never settle (piscina rejects only what it was given).
    const closed = new Error('engine host: closed');
    for (const queue of this.queues.values()) for (const call of queue) call.reject(closed);
    this.queues.clear();
    await this.pool.destroy();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  private async run(task: EngineTask, project: string): Promise<Exclude<EngineReply, { status: 'failed' }>> {
    const reply = await new Promise<EngineReply>((resolve, reject) => {
      const call: QueuedCall = { task, project, startedBefore: this.started, resolve, reject };
      const queue = this.queues.get(project);
      if (queue === undefined) this.queues.set(project, [call]);
      else queue.push(call);
      this.startNext();
    });
    // The error as the engine threw it, its location or option included (search-space-parse.ts names the field).
    if (reply.status === 'failed') throw rebuildAlgorithmError(reply.error);
    return reply;
  }

  /** Starts queued calls while a thread is free: the first project's oldest, then that project goes last. */
  private startNext(): void {
    while (this.running < this.threads) {
      const next = this.queues.entries().next();
      if (next.done === true) return;
      const [key, queue] = next.value;
      const call = queue.shift()!;
      this.queues.delete(key);
      if (queue.length > 0) this.queues.set(key, queue);
      this.running++;
      this.onStart?.(call.project, this.started - call.startedBefore);
      this.started++;
      this.pool
        .run(call.task)
        .then(call.resolve, call.reject)
        .finally(() => {
          this.running--;
          this.startNext();
        });
    }
  }
}
