/**
 * The engine host: runs in a worker thread (EngineHost, engine-host.ts) and holds the live engines
 * of the studies this API process used last, so that asks, tells, replays and snapshots never run
 * on the API's event loop. It reads and writes no database: the caller holds the study row lock,
 * sends the version the engine must be at and, when this thread lacks it, the stored snapshot and
 * operations to rebuild it from (docs/architecture.md, "Where engine work runs").
 *
 * Which engine can be trusted: one restored from stored state is the committed state at its
 * version. Once a session changes it, it is that session's until the caller says (in a later
 * call's `committed`) that the session committed at that version; a session that rolled back
 * leaves an engine nobody trusts, rebuilt at the next use.
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { createAlgorithm, restoreAlgorithm, type StudyAlgorithm } from '../algorithms/algorithm-registry';
import { chooseResume, createCalibrationCache } from '../early-stopping';
import { Mads } from '../mads';
import { AlgorithmError, algorithmErrorData } from '../optimizer-contract/algorithm-errors';
import type { EngineCall, EngineFigures, EngineReply, EngineRestore, EngineTask } from './engine-host-protocol';
import { applyOperation, decodeOperation, type EngineOperation } from './engine-operation';

/** Studies whose live engine one host thread keeps between calls. */
const CACHED_ENGINES = 64;

interface HeldEngine {
  version: number;
  algorithm: StudyAlgorithm;
  /** The session whose changes made this state, not known to be committed; null: restored from stored state. */
  writer: string | null;
}

const engines = new Map<string, HeldEngine>();

export default function runEngineTask(task: EngineTask): EngineReply {
  try {
    switch (task.type) {
      case 'call':
        return call(task);
      case 'create':
        return {
          status: 'done',
          stopReason: null,
          state: JSON.stringify(createAlgorithm(task.start.algorithm, task.start.problem, task.start.options).toJSON()),
        };
      case 'where':
        return { status: 'thread', threadId: isMainThread ? 0 : threadId };
      case 'chooseResume':
        // One calibration cache for the whole choice: paused trials at the same progress share their
        // calibration fits (500 paused trials, 150 calibration curves: 16 s without it, 1.1 s with
        // it; docs/reliability.md, "Resume choice").
        return {
          status: 'resume',
          choice: chooseResume(task.paused, task.context, task.policy, createCalibrationCache()),
        };
    }
  } catch (error) {
    if (error instanceof AlgorithmError) {
      return { status: 'failed', error: algorithmErrorData(error) };
    }
    throw error;
  }
}

function call(task: EngineCall): EngineReply {
  let held = engines.get(task.studyId);
  const usable = held !== undefined && held.version === task.version && trusted(held, task);
  if (!usable) {
    if (task.restore === undefined) {
      const committed = held !== undefined && trusted(held, task) && held.version < task.version;
      return { status: 'missing', have: committed ? held!.version : null };
    }
    const restored = restore(task, held);
    if (restored === null) return { status: 'missing', have: null };
    // A read at an older version, or during a session, leaves the held engine alone.
    const keep = task.session !== null || held === undefined || (trusted(held, task) && held.version < task.version);
    if (!keep) return run(task, restored);
    held = restored;
    engines.delete(task.studyId);
    engines.set(task.studyId, held);
    if (engines.size > CACHED_ENGINES) engines.delete(engines.keys().next().value!);
  } else {
    // Most recently used last: the oldest is the one dropped.
    engines.delete(task.studyId);
    engines.set(task.studyId, held!);
  }
  try {
    return run(task, held!);
  } catch (error) {
    // An engine a command failed half-way through is nobody's state.
    engines.delete(task.studyId);
    throw error;
  }
}

/** Whether `held` is a state the caller may build on: committed, or the calling session's own. */
function trusted(held: HeldEngine, task: EngineCall): boolean {
  if (held.writer === null) return true;
  if (task.session !== null && held.writer === task.session) return true;
  return task.committed !== null && held.writer === task.committed.session && held.version === task.committed.version;
}

/** The engine at the task's version from the stored state it carries; null when it needs the snapshot. */
function restore(task: EngineCall, held: HeldEngine | undefined): HeldEngine | null {
  const restore = task.restore as EngineRestore;
  let algorithm: StudyAlgorithm;
  if (restore.snapshot !== null) {
    algorithm = restoreAlgorithm(task.algorithm, JSON.parse(restore.snapshot));
  } else {
    if (held === undefined || held.version !== restore.from || !trusted(held, task)) return null;
    algorithm = held.algorithm;
    // Changed in place below: until it is whole again, the held copy must not be used.
    engines.delete(task.studyId);
  }
  for (const text of restore.operations) applyOperation(algorithm, decodeOperation(JSON.parse(text)));
  for (const operation of restore.pending) applyOperation(algorithm, operation);
  const version = restore.from + restore.operations.length + restore.pending.length;
  if (version !== task.version) {
    throw new Error(`study ${task.studyId}: restored the engine at version ${version}, expected ${task.version}`);
  }
  return { version, algorithm, writer: restore.pending.length > 0 ? task.session : null };
}

function run(task: EngineCall, held: HeldEngine): EngineReply {
  const { algorithm } = held;
  const command = task.command;
  let operation: EngineOperation | null = null;
  const reply: EngineReply & { status: 'done' } = { status: 'done', stopReason: null };
  switch (command.kind) {
    case 'ask':
      operation = { op: 'ask', k: command.k };
      break;
    case 'tell':
      operation = { op: 'tell', results: command.results };
      break;
    case 'markInFlight':
      operation = { op: 'markInFlight', points: command.points };
      break;
    case 'state':
      reply.state = JSON.stringify(algorithm.toJSON());
      break;
    case 'figures':
      reply.figures = figures(algorithm);
      break;
  }
  if (operation !== null) {
    if (task.session === null) throw new Error('an engine is changed only by a session');
    // Marked first: if the operation throws half-way, the engine is nobody's state.
    held.writer = task.session;
    if (operation.op === 'ask') reply.suggestions = algorithm.ask(operation.k);
    else applyOperation(algorithm, operation);
    held.version += 1;
  }
  reply.stopReason = algorithm.stopReason;
  return reply;
}

function figures(algorithm: StudyAlgorithm): EngineFigures {
  const mads = algorithm instanceof Mads ? algorithm : null;
  return {
    iteration: mads?.iteration ?? null,
    frameSize: mads?.frameSize() ?? null,
    meshSize: mads?.meshSize() ?? null,
    evaluationCount: algorithm.evaluationCount,
    earlyStopThreshold: mads?.earlyStopThreshold() ?? null,
    restartCount: mads?.restartCount ?? null,
  };
}
