import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { StopReason } from '../optimizer-contract/algorithm';
import { notFound } from '../common/errors/domain-error';
import { inTransaction } from '../database/transaction';
import { MetricsService } from '../metrics/metrics.service';
import { findStudyRow, lockStudyRow } from '../studies/study-row';
import type { Study } from '../studies/study.entity';
import { EngineHost } from './engine-host';
import type { EngineCall, EngineCommand, EngineFigures, EngineReply } from './engine-host-protocol';
import { encodeOperation } from './engine-operation';
import { EngineSession } from './engine-session';
import { LockedStudy } from './locked-study';

/**
 * A new snapshot is written once this many operations, or a quarter of the study's evaluations
 * if more, have piled up since the last one: the snapshot cost per operation stays constant as
 * the state grows, and a cold start replays at most that many operations.
 */
const MIN_OPERATIONS_BETWEEN_SNAPSHOTS = 64;

/** Studies whose last committed session this process remembers (what the engine host may trust). */
const REMEMBERED_COMMITS = 1024;

/** How long a call waits for the engine another call of this process is putting back (see waitForReturn). */
const RETURN_WAIT_MS = 100;

export class EngineStateCorruptError extends Error {}

/** What a read of a study's engine finds (EngineStore.read). */
export interface EngineReading {
  study: Study;
  figures: EngineFigures;
  stopReason: StopReason | null;
}

/**
 * Where the studies' engines live. The state of record is in PostgreSQL: a snapshot in
 * studies.engine_state plus the operations made since (engine_events), both changed only with
 * the study row locked, in the transaction that changes the study's trials. The live engines are
 * in the engine host thread (EngineHost), tagged with their version: this class keeps the
 * transaction, the row lock and every statement, sends each command with the version the engine
 * must be at, and sends the stored state only when the thread lacks that version (it missed
 * operations made by another process, or holds nothing). Nothing is parsed or written whole per call,
 * and no engine computation runs on the event loop.
 */
@Injectable()
export class EngineStore {
  /**
   * Per study, the last session of this process that committed changes, at its final version:
   * sent with every call so that the engine host knows the engine that session left is the
   * committed state (a session that rolled back leaves one nobody trusts).
   */
  private readonly committed = new Map<string, { session: string; version: number }>();
  /**
   * Per study, the call of this process that has the engine out, and a promise settled once that
   * call has committed or rolled back. The next call gets the row lock as soon as the previous one
   * commits, possibly before the previous call learns it and records the commit: it waits for that
   * instead of rebuilding the engine from the snapshot (seconds at 100,000 trials).
   */
  private readonly checkedOut = new Map<string, { owner: symbol; returned: Promise<void> }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly host: EngineHost,
  ) {}

  /**
   * Runs `work` in a transaction with the study row locked FOR UPDATE (without its snapshot).
   * `engine()` opens the study's engine on first use. Before the commit, the operations made
   * through it and the study's columns changed through LockedStudy's methods are saved in one
   * statement; after it, the engine host is told (with the next call) that the session's engine
   * is the committed one. Only the engine's commands (engine.service.ts) call this: the rest of
   * the service passes them ids and values.
   */
  async withLockedStudy<T>(
    studyId: string,
    work: (manager: EntityManager, study: LockedStudy, engine: () => Promise<EngineSession>) => Promise<T>,
  ): Promise<T> {
    const owner = Symbol(studyId);
    let markReturned: (() => void) | null = null;
    let session: EngineSession | null = null;
    let heldId = studyId;
    try {
      const result = await inTransaction(this.dataSource, async (manager) => {
        session = null;
        const row = await lockStudyRow(manager, studyId);
        if (row === null) throw notFound('STUDY_NOT_FOUND', 'study', studyId);
        // The engine's in-process state is keyed by the id as the database spells it, not as the
        // caller did: another spelling made the next call rebuild the engine (finding 28).
        heldId = row.id;
        const study = new LockedStudy(row);
        let opening: Promise<EngineSession> | null = null;
        const engine = (): Promise<EngineSession> => {
          opening ??= (async () => {
            await this.waitForReturn(row.id, owner);
            if (markReturned === null) {
              const returned = new Promise<void>((resolveReturn) => (markReturned = resolveReturn));
              this.checkedOut.set(row.id, { owner, returned });
            }
            return (session = new EngineSession(row.id, row.engineVersion, (caller, command) =>
              this.send(manager, row, caller, command),
            ));
          })();
          return opening;
        };
        const value = await work(manager, study, engine);
        await this.persist(manager, study, opening === null ? null : await opening);
        return value;
      });
      if (session !== null) this.keep(session);
      return result;
    } finally {
      if (this.checkedOut.get(heldId)?.owner === owner) this.checkedOut.delete(heldId);
      (markReturned as (() => void) | null)?.();
    }
  }

  /**
   * Waits until another call of this process has committed or rolled back its session of the study.
   * Bounded: a call whose transaction is being retried (a deadlock victim) has the engine out but
   * not the row lock, and may be waiting for the lock this call holds; this one then rebuilds instead.
   */
  private async waitForReturn(studyId: string, owner: symbol): Promise<void> {
    const holder = this.checkedOut.get(studyId);
    if (holder === undefined || holder.owner === owner) return;
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<void>((resolveWait) => (timer = setTimeout(resolveWait, RETURN_WAIT_MS)));
    await Promise.race([holder.returned, givenUp]);
    clearTimeout(timer);
  }

  /** The figures and stop reason of the study's current engine (changing nothing). */
  async read(studyId: string): Promise<EngineReading> {
    return this.readCommitted(studyId, { kind: 'figures' }, (study, reply) => ({
      study,
      figures: reply.figures!,
      stopReason: reply.stopReason,
    }));
  }

  /** The study's current engine state as JSON text (what a snapshot written now would hold). */
  async state(studyId: string): Promise<string> {
    return this.readCommitted(studyId, { kind: 'state' }, (_study, reply) => reply.state!);
  }

  private async readCommitted<T>(
    studyId: string,
    command: EngineCommand,
    answer: (study: Study, reply: Extract<EngineReply, { status: 'done' }>) => T,
  ): Promise<T> {
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      const study = await findStudyRow(manager, studyId);
      if (study === null) throw notFound('STUDY_NOT_FOUND', 'study', studyId);
      return answer(study, await this.send(manager, study, null, command));
    });
  }

  /**
   * Sends `command` to the study's engine at the session's version (the study's, for a read). When
   * the host thread lacks it: the stored operations since the committed version it holds, or, when
   * it holds none or those are gone (pruned behind a newer snapshot), the snapshot and the
   * operations since; the session's operations not committed yet go along.
   */
  private async send(
    manager: EntityManager,
    study: Readonly<Study>,
    session: EngineSession | null,
    command: EngineCommand,
  ): Promise<Extract<EngineReply, { status: 'done' }>> {
    const task: EngineCall = {
      type: 'call',
      studyId: study.id,
      algorithm: study.algorithm,
      version: session?.version ?? study.engineVersion,
      session: session?.id ?? null,
      committed: this.committed.get(study.id) ?? null,
      command,
    };
    let reply = await this.host.call(task, study.projectId);
    if (reply.status === 'done') return reply;
    const pending = session?.operations ?? [];
    if (reply.have !== null && reply.have <= study.engineVersion) {
      const operations = await this.storedOperations(manager, study.id, reply.have, study.engineVersion);
      if (operations !== null) {
        reply = await this.host.call(
          { ...task, restore: { snapshot: null, from: reply.have, operations, pending } },
          study.projectId,
        );
        if (reply.status === 'done') return reply;
      }
    }
    // With several host threads the retry may land on another one: the snapshot serves any.
    this.metrics.engineRebuilds.inc();
    const [{ state: snapshot }] = (await manager.query(
      'SELECT engine_state::text AS state FROM studies WHERE id = $1',
      [study.id],
    )) as { state: string }[];
    const operations = await this.storedOperations(manager, study.id, study.engineSnapshotVersion, study.engineVersion);
    if (operations === null) {
      throw new EngineStateCorruptError(
        `study ${study.id}: engine events ${study.engineSnapshotVersion + 1}..${study.engineVersion} are incomplete`,
      );
    }
    reply = await this.host.call(
      { ...task, restore: { snapshot, from: study.engineSnapshotVersion, operations, pending } },
      study.projectId,
    );
    if (reply.status !== 'done') throw new Error(`study ${study.id}: the engine host could not restore the engine`);
    return reply;
  }

  /**
   * The stored operations (from, to] as JSON text (parsed in the engine host), or null when some
   * are gone (pruned behind a newer snapshot).
   */
  private async storedOperations(
    manager: EntityManager,
    studyId: string,
    from: number,
    to: number,
  ): Promise<string[] | null> {
    if (from === to) return [];
    const rows = (await manager.query(
      'SELECT version, operation::text AS operation FROM engine_events WHERE study_id = $1 AND version > $2 AND version <= $3 ORDER BY version',
      [studyId, from, to],
    )) as { version: number; operation: string }[];
    if (rows.length !== to - from || rows[0].version !== from + 1) return null;
    return rows.map((row) => row.operation);
  }

  /**
   * Writes the study's changed columns and the session's operations (and a new snapshot when
   * enough have piled up) in one statement.
   */
  private async persist(manager: EntityManager, locked: LockedStudy, session: EngineSession | null): Promise<void> {
    const study = locked.definition;
    const values: unknown[] = [study.id];
    const assignments: string[] = [];
    const assign = (column: string, value: unknown): void => {
      values.push(value);
      assignments.push(`${column} = $${values.length}`);
    };
    for (const [column, value] of locked.changedColumns()) assign(column, value);
    const ctes: string[] = [];
    if (session !== null && session.operations.length > 0) {
      const rows = session.operations.map((operation, i) => {
        values.push(session.baseVersion + i + 1, encodeOperation(operation));
        return `($1, $${values.length - 1}, $${values.length})`;
      });
      ctes.push(`events AS (INSERT INTO engine_events (study_id, version, operation) VALUES ${rows.join(', ')})`);
      assign('engine_version', session.version);
      const since = session.version - study.engineSnapshotVersion;
      if (since >= Math.max(MIN_OPERATIONS_BETWEEN_SNAPSHOTS, Math.ceil(study.evaluationCount / 4))) {
        assign('engine_snapshot_version', session.version);
        // JSON text made in the engine host; PostgreSQL parses it into the jsonb column.
        assign('engine_state', await session.state());
        // Operations up to the previous snapshot are kept no longer: engines cached at an older
        // version reload the snapshot (events since the previous one still serve recent caches).
        values.push(study.engineSnapshotVersion);
        ctes.push(`pruned AS (DELETE FROM engine_events WHERE study_id = $1 AND version <= $${values.length})`);
      }
    }
    if (assignments.length === 0) return;
    await manager.query(
      `${ctes.length > 0 ? `WITH ${ctes.join(', ')} ` : ''}UPDATE studies SET ${assignments.join(', ')}, updated_at = now() WHERE id = $1`,
      values,
    );
  }

  /** After the commit: the engine the session left in the host is the study's state at its version. */
  private keep(session: EngineSession): void {
    if (session.operations.length === 0) return;
    this.committed.delete(session.studyId);
    this.committed.set(session.studyId, { session: session.id, version: session.version });
    if (this.committed.size > REMEMBERED_COMMITS) this.committed.delete(this.committed.keys().next().value!);
  }
}
