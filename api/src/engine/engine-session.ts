import { randomUUID } from 'node:crypto';
import type { EvaluationResult, StopReason, Suggestion } from '../optimizer-contract/algorithm';
import type { EngineCommand, EngineReply } from './engine-host-protocol';
import type { EngineOperation } from './engine-operation';

/** Sends one command for a session to the engine host (EngineStore.send). */
export type EngineSender = (
  session: EngineSession,
  command: EngineCommand,
) => Promise<Extract<EngineReply, { status: 'done' }>>;

/**
 * A study's engine opened with the study row locked: every call that changes it goes through
 * here and is recorded, so that EngineStore can save the calls as engine events in the same
 * transaction. The engine itself lives in the engine host thread (engine-host.worker.ts); each
 * method is one command sent there. One command at a time: the session awaits each before the next.
 */
export class EngineSession {
  readonly operations: EngineOperation[] = [];
  /** Names this session (one transaction attempt) to the engine host, which trusts its own changes. */
  readonly id = randomUUID();
  private lastStopReason: StopReason | null | undefined;

  constructor(
    readonly studyId: string,
    /** The engine version the session started from (the study's engine_version when opened). */
    readonly baseVersion: number,
    private readonly send: EngineSender,
  ) {}

  get version(): number {
    return this.baseVersion + this.operations.length;
  }

  /** The engine's stop reason after the last command (asked for when none was sent yet). */
  async stopReason(): Promise<StopReason | null> {
    if (this.lastStopReason === undefined)
      this.lastStopReason = (await this.send(this, { kind: 'figures' })).stopReason;
    return this.lastStopReason;
  }

  /** The engine's restarts on the minimum mesh so far (`Mads.restartCount`); 0 for other algorithms. */
  async restartCount(): Promise<number> {
    const reply = await this.send(this, { kind: 'figures' });
    this.lastStopReason = reply.stopReason;
    return reply.figures?.restartCount ?? 0;
  }

  async ask(k: number): Promise<Suggestion[]> {
    const reply = await this.send(this, { kind: 'ask', k });
    this.record({ op: 'ask', k }, reply.stopReason);
    return reply.suggestions ?? [];
  }

  async tell(results: EvaluationResult[]): Promise<void> {
    if (results.length === 0) return;
    this.record({ op: 'tell', results }, (await this.send(this, { kind: 'tell', results })).stopReason);
  }

  async markInFlight(points: number[][]): Promise<void> {
    if (points.length === 0) return;
    this.record({ op: 'markInFlight', points }, (await this.send(this, { kind: 'markInFlight', points })).stopReason);
  }

  /** The engine's state at this session's version, as JSON text (a snapshot). */
  async state(): Promise<string> {
    const reply = await this.send(this, { kind: 'state' });
    return reply.state!;
  }

  private record(operation: EngineOperation, stopReason: StopReason | null): void {
    this.operations.push(operation);
    this.lastStopReason = stopReason;
  }
}
