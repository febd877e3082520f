/**
 * What the API's event loop and the engine host thread (engine-host.worker.ts) say to each other.
 * Plain data only: every message is copied between threads (structured clone).
 */
import type {
  AlgorithmName,
  EvaluationResult,
  ProblemSpec,
  StopReason,
  Suggestion,
} from '../optimizer-contract/algorithm';
import type { AlgorithmErrorData } from '../optimizer-contract/algorithm-errors';
import type { CurveStoppingPolicy, PausedTrial, ResumeChoice, ResumeContext } from '../early-stopping';
import type { EngineOperation } from './engine-operation';

/** What a command does to a study's engine (the first three change it and are recorded as operations). */
export type EngineCommand =
  | { kind: 'ask'; k: number }
  | { kind: 'tell'; results: EvaluationResult[] }
  | { kind: 'markInFlight'; points: number[][] }
  /** The engine's state as JSON text (a snapshot for studies.engine_state). */
  | { kind: 'state' }
  /** The read-only figures callers show or decide on (EngineFigures). */
  | { kind: 'figures' };

/**
 * What a new study's engine is built from: the problem of its parsed search space
 * (search-space/search-space-parse.ts) and its options (studies/study-engine.ts, engineStart).
 */
export interface EngineStart {
  algorithm: AlgorithmName;
  problem: ProblemSpec;
  options: Record<string, unknown>;
}

/**
 * The state a host thread lacks, read from PostgreSQL by the caller: the stored operations
 * (from, base] as stored JSON text, applied to the snapshot when there is one (else to the engine
 * the thread holds at `from`), then `pending`, the operations of the calling session not committed yet.
 */
export interface EngineRestore {
  snapshot: string | null;
  from: number;
  operations: string[];
  pending: EngineOperation[];
}

/** One command to one study's engine, which must be at `version` before it runs. */
export interface EngineCall {
  type: 'call';
  studyId: string;
  algorithm: AlgorithmName;
  version: number;
  /**
   * The calling session (EngineSession.id), whose own changes the thread may trust; null for a read,
   * which trusts only committed states.
   */
  session: string | null;
  /** The last session of this process known to have committed for the study, at its final version. */
  committed: { session: string; version: number } | null;
  command: EngineCommand;
  restore?: EngineRestore;
}

/** A new study's initial engine state as JSON text; engine errors come back as for a call. */
export interface EngineCreate {
  type: 'create';
  start: EngineStart;
}

/** Which thread ran the task (tests check that engine work is off the API's event loop). */
export interface EngineWhere {
  type: 'where';
}

/**
 * Which paused trial to resume (early-stopping/pause-and-resume.ts, `chooseResume`): its work grows
 * with the paused trials it is given (a curve fit each) and, with a rule-out `policy`, their
 * calibration curves, so it runs here, off the API's event loop, like an engine call. `policy`
 * null: nothing is ruled out (the service's choice, engine/study-resume.ts, which asks only about
 * trials paused before their score was stored at the pause: docs/reliability.md, finding 48).
 */
export interface EngineChooseResume {
  type: 'chooseResume';
  paused: PausedTrial<string>[];
  context: ResumeContext;
  policy: CurveStoppingPolicy | null;
}

export type EngineTask = EngineCall | EngineCreate | EngineWhere | EngineChooseResume;

/** The figures read from an engine; null where the algorithm has no such thing (random search). */
export interface EngineFigures {
  iteration: number | null;
  frameSize: number[] | null;
  meshSize: number[] | null;
  evaluationCount: number;
  earlyStopThreshold: number | null;
  /** Restarts on the minimum mesh so far (`Mads.restartCount`); null for other algorithms. */
  restartCount: number | null;
}

export type EngineReply =
  | {
      status: 'done';
      stopReason: StopReason | null;
      suggestions?: Suggestion[];
      state?: string;
      figures?: EngineFigures;
    }
  /**
   * The thread does not hold the engine at the version asked for. `have`: the committed version it
   * holds, older than asked (the operations since are enough), or null (send the snapshot).
   */
  | { status: 'missing'; have: number | null }
  /** An algorithm error (algorithm-errors.ts), rebuilt with its class by the caller. */
  | { status: 'failed'; error: AlgorithmErrorData }
  | { status: 'thread'; threadId: number }
  | { status: 'resume'; choice: ResumeChoice<string> };
