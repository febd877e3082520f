import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { restoreAlgorithm, type StudyAlgorithm } from '../../algorithms/algorithm-registry';
import { inTransaction } from '../../database/transaction';
import { StudiesService } from '../studies.service';
import type { Study } from '../study.entity';
import { applyOperation, decodeOperation, encodeOperation } from './engine-operation';
import { EngineSession } from './engine-session';

/** Studies whose live engine one API process keeps between calls. */
const CACHED_ENGINES = 64;
/**
 * A new snapshot is written once this many operations, or a quarter of the study's evaluations
 * if more, have piled up since the last one: the snapshot cost per operation stays constant as
 * the state grows, and a cold start replays at most that many operations.
 */
const MIN_OPERATIONS_BETWEEN_SNAPSHOTS = 64;

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

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
  ) {}

  /**
   * Runs `work` in a transaction with the study row locked FOR UPDATE (without its snapshot).
   * `engine()` opens the study's engine on first use. Before the commit, the operations made
   * through it and the study's changed counters and status (`work` changes them on `study`, it
   * does not write them) are saved in one statement; after it, the engine is kept for next time.
   */
  async withLockedStudy<T>(
    studyId: string,
    work: (manager: EntityManager, study: Study, engine: () => Promise<EngineSession>) => Promise<T>,
  ): Promise<T> {
    let session: EngineSession | null = null;
    const result = await inTransaction(this.dataSource, async (manager) => {
      session = null;
      const study = await this.studies.lock(manager, studyId);
      const before = mutableColumns(study);
      let opening: Promise<EngineSession> | null = null;
      const engine = (): Promise<EngineSession> => {
        opening ??= this.open(manager, study).then((opened) => (session = opened));
        return opening;
      };
      const value = await work(manager, study, engine);
      await this.persist(manager, study, before, opening === null ? null : await opening);
      return value;
    });
    if (session !== null) this.keep(session);
    return result;
  }

  /** Calls `inspect` on the study's current engine (never to be changed nor kept). */
  async read<T>(studyId: string, inspect: (algorithm: StudyAlgorithm, study: Study) => T): Promise<T> {
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      const study = await this.studies.findOrThrow(studyId, manager);
      const cached = this.engines.get(studyId);
      if (cached !== undefined && cached.version === study.engineVersion) return inspect(cached.algorithm, study);
      return inspect(await this.rebuild(manager, study), study);
    });
  }

  /** The engine at the locked study's engine_version. It leaves the cache until `keep`. */
  private async open(manager: EntityManager, study: Study): Promise<EngineSession> {
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
  private async rebuild(manager: EntityManager, study: Study): Promise<StudyAlgorithm> {
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
  private async persist(
    manager: EntityManager,
    study: Study,
    before: Record<string, unknown>,
    session: EngineSession | null,
  ): Promise<void> {
    const values: unknown[] = [study.id];
    const assignments: string[] = [];
    const assign = (column: string, value: unknown): void => {
      values.push(value);
      assignments.push(`${column} = $${values.length}`);
    };
    for (const [column, value] of Object.entries(mutableColumns(study))) {
      if (value !== before[column]) assign(column, value);
    }
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
        study.engineSnapshotVersion = session.version;
      }
      study.engineVersion = session.version;
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

/** The columns of a study that change while it runs (besides the engine's), by column name. */
function mutableColumns(study: Study): Record<string, unknown> {
  return {
    evaluation_count: study.evaluationCount,
    next_trial_number: study.nextTrialNumber,
    status: study.status,
    stop_reason: study.stopReason,
    completed_at: study.completedAt,
  };
}
