import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { restoreAlgorithm, type StudyAlgorithm } from '../algorithms/algorithm-registry';
import { notFound } from '../common/errors/domain-error';
import { inTransaction } from '../database/transaction';
import { MetricsService } from '../metrics/metrics.service';
import { findStudyRow, lockStudyRow } from '../studies/study-row';
import type { Study } from '../studies/study.entity';
import { applyOperation, decodeOperation, encodeOperation } from './engine-operation';
import { EngineSession } from './engine-session';
import { LockedStudy } from './locked-study';

/** Studies whose live engine one API process keeps between calls. */
const CACHED_ENGINES = 64;
/**
 * A new snapshot is written once this many operations, or a quarter of the study's evaluations
 * if more, have piled up since the last one: the snapshot cost per operation stays constant as
 * the state grows, and a cold start replays at most that many operations.
 */
const MIN_OPERATIONS_BETWEEN_SNAPSHOTS = 64;

/** How long a call waits for the engine another call of this process is putting back (see waitForReturn). */
const RETURN_WAIT_MS = 100;

export class EngineStateCorruptError extends Error {}

/**
 * Where the studies' engines live. The state of record is in PostgreSQL: a snapshot in
 * studies.engine_state plus the operations made since (engine_events), both changed only with
 * the study row locked, in the transaction that changes the study's trials. Each API process
 * keeps the engines it used last in memory, tagged with their version; a call finds the engine
 * current when the tag equals the study's engine_version, and replays only the operations it
 * missed (made by another process) otherwise. Nothing is parsed or written whole per call.
 */
@Injectable()
export class EngineStore {
  private readonly engines = new Map<string, { version: number; algorithm: StudyAlgorithm }>();
  /**
   * Per study, the call of this process that has taken its engine out of the cache, and a promise
   * settled once that call has put it back (or dropped it). The next call gets the row lock as
   * soon as the previous one commits, possibly before the previous call's `keep`: it waits for
   * that instead of rebuilding the engine from the snapshot (seconds at 100,000 trials).
   */
  private readonly checkedOut = new Map<string, { owner: symbol; returned: Promise<void> }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Runs `work` in a transaction with the study row locked FOR UPDATE (without its snapshot).
   * `engine()` opens the study's engine on first use. Before the commit, the operations made
   * through it and the study's columns changed through LockedStudy's methods are saved in one
   * statement; after it, the engine is kept for next time. Only the engine's commands
   * (engine.service.ts) call this: the rest of the service passes them ids and values.
   */
  async withLockedStudy<T>(
    studyId: string,
    work: (manager: EntityManager, study: LockedStudy, engine: () => Promise<EngineSession>) => Promise<T>,
  ): Promise<T> {
    const owner = Symbol(studyId);
    let markReturned: (() => void) | null = null;
    let session: EngineSession | null = null;
    try {
      const result = await inTransaction(this.dataSource, async (manager) => {
        session = null;
        const row = await lockStudyRow(manager, studyId);
        if (row === null) throw notFound('STUDY_NOT_FOUND', 'study', studyId);
        const study = new LockedStudy(row);
        let opening: Promise<EngineSession> | null = null;
        const engine = (): Promise<EngineSession> => {
          opening ??= (async () => {
            await this.waitForReturn(studyId, owner);
            if (markReturned === null) {
              const returned = new Promise<void>((resolveReturn) => (markReturned = resolveReturn));
              this.checkedOut.set(studyId, { owner, returned });
            }
            return (session = await this.open(manager, study.definition));
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
      if (this.checkedOut.get(studyId)?.owner === owner) this.checkedOut.delete(studyId);
      (markReturned as (() => void) | null)?.();
    }
  }

  /**
   * Waits until another call of this process has put the study's engine back in the cache. Bounded:
   * a call whose transaction is being retried (a deadlock victim) has the engine out but not the
   * row lock, and may be waiting for the lock this call holds; this one then rebuilds instead.
   */
  private async waitForReturn(studyId: string, owner: symbol): Promise<void> {
    const holder = this.checkedOut.get(studyId);
    if (holder === undefined || holder.owner === owner) return;
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<void>((resolveWait) => (timer = setTimeout(resolveWait, RETURN_WAIT_MS)));
    await Promise.race([holder.returned, givenUp]);
    clearTimeout(timer);
  }

  /** Calls `inspect` on the study's current engine (never to be changed nor kept). */
  async read<T>(studyId: string, inspect: (algorithm: StudyAlgorithm, study: Study) => T): Promise<T> {
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      const study = await findStudyRow(manager, studyId);
      if (study === null) throw notFound('STUDY_NOT_FOUND', 'study', studyId);
      const cached = this.engines.get(studyId);
      if (cached !== undefined && cached.version === study.engineVersion) return inspect(cached.algorithm, study);
      return inspect(await this.rebuild(manager, study), study);
    });
  }

  /** The engine at the locked study's engine_version. It leaves the cache until `keep`. */
  private async open(manager: EntityManager, study: Readonly<Study>): Promise<EngineSession> {
    const cached = this.engines.get(study.id);
    this.engines.delete(study.id);
    if (cached !== undefined && cached.version <= study.engineVersion) {
      const replayed = await this.replay(manager, study.id, cached.algorithm, cached.version, study.engineVersion, {
        partial: true,
      });
      if (replayed) return new EngineSession(study.id, cached.algorithm, study.engineVersion);
    }
    return new EngineSession(study.id, await this.rebuild(manager, study), study.engineVersion);
  }

  /** The engine at the study's engine_version, from its snapshot and the operations since. */
  private async rebuild(manager: EntityManager, study: Readonly<Study>): Promise<StudyAlgorithm> {
    this.metrics.engineRebuilds.inc();
    const [{ engine_state: snapshot }] = (await manager.query('SELECT engine_state FROM studies WHERE id = $1', [
      study.id,
    ])) as { engine_state: unknown }[];
    const algorithm = restoreAlgorithm(study.algorithm, snapshot);
    await this.replay(manager, study.id, algorithm, study.engineSnapshotVersion, study.engineVersion);
    return algorithm;
  }

  /**
   * Applies the operations (from, to] to `algorithm`. When some are gone (pruned behind a newer
   * snapshot) it changes nothing and returns false if `partial`, else the state is corrupt.
   */
  private async replay(
    manager: EntityManager,
    studyId: string,
    algorithm: StudyAlgorithm,
    from: number,
    to: number,
    { partial = false } = {},
  ): Promise<boolean> {
    if (from === to) return true;
    const rows = (await manager.query(
      'SELECT version, operation FROM engine_events WHERE study_id = $1 AND version > $2 AND version <= $3 ORDER BY version',
      [studyId, from, to],
    )) as { version: number; operation: unknown }[];
    if (rows.length !== to - from || rows[0].version !== from + 1) {
      if (partial) return false;
      throw new EngineStateCorruptError(
        `study ${studyId}: engine events ${from + 1}..${to} are incomplete (${rows.length} found)`,
      );
    }
    for (const row of rows) applyOperation(algorithm, decodeOperation(row.operation));
    return true;
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
        assign('engine_state', session.algorithm.toJSON());
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

  /** After the commit: the session's engine is current at its version. */
  private keep(session: EngineSession): void {
    const current = this.engines.get(session.studyId);
    if (current !== undefined && current.version >= session.version) return;
    this.engines.delete(session.studyId);
    this.engines.set(session.studyId, { version: session.version, algorithm: session.algorithm });
    if (this.engines.size > CACHED_ENGINES) this.engines.delete(this.engines.keys().next().value!);
  }
}
