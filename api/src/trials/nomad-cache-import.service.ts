import { Injectable } from '@nestjs/common';
import type { VariableSpec } from '../optimizer-contract/algorithm';
import { DomainError, type FieldError, ValidationFailedError } from '../common/errors/domain-error';
import { pointKey } from '../search-space/engine-mapping';
import { type NomadCacheEntry, parseNomadCacheFile } from '../studies/nomad/nomad-cache-file';
import { EngineStore } from '../studies/engine/engine-store';
import { StudiesService } from '../studies/studies.service';
import { mappingOf } from '../studies/study-engine';
import { isFinishedStudy } from '../studies/study-status';
import type { ImportNomadCacheResponseDto } from './dto/import-nomad-cache.dto';
import { TrialOutcomes } from './trial-outcomes';
import { UNTOLD_RESULT } from './trial-status';

/** Rows per INSERT statement. */
const INSERT_BATCH = 2_000;

/** A trial row as the bulk INSERT reads it (jsonb_to_recordset: column names). */
interface ImportedRow {
  number: number;
  status: 'completed' | 'failed';
  point: number[];
  point_key: string;
  parameters: Record<string, unknown>;
  outputs: Record<string, number> | null;
  error: string | null;
}

/** Why an engine coordinate is not a point of the variable's domain (bounds, grid, fixed value), or null. */
function coordinateReason(spec: VariableSpec, value: number): string | null {
  if ((spec.lowerBound !== null && value < spec.lowerBound) || (spec.upperBound !== null && value > spec.upperBound)) {
    return 'is outside the bounds';
  }
  if (spec.fixedValue !== null && value !== spec.fixedValue) return `must equal the fixed value ${spec.fixedValue}`;
  if (spec.type !== 'R' && !Number.isInteger(value)) return 'must be an integer';
  if (spec.granularity > 0) {
    const ratio = value / spec.granularity;
    // The engine's own tolerance for "on the mesh" (search-space-validator's isMultiple).
    if (Math.abs(ratio - Math.round(ratio)) > 1e-9 * Math.max(1, Math.abs(ratio))) {
      return `must be a multiple of the granularity ${spec.granularity}`;
    }
  }
  return null;
}

function checkEntries(entries: readonly NomadCacheEntry[], variables: readonly VariableSpec[], errors: FieldError[]) {
  for (const entry of entries) {
    entry.point.forEach((value, variable) => {
      const reason = coordinateReason(variables[variable], value);
      if (reason !== null)
        errors.push({ field: `cacheFile line ${entry.line}`, reason: `coordinate ${variable + 1} ${reason}` });
    });
  }
}

/**
 * Warm start from a NOMAD cache file: each evaluation becomes a finished trial (origin `import`)
 * and is told to the engine, so MADS never suggests those points again. Imported evaluations
 * count in the study's budget (a deviation from NOMAD, whose cache hits are free: documented).
 * The file is read and checked before the study is locked (a study's space never changes); with
 * the lock held, one query finds the points already tried and batched INSERTs write the rest.
 */
@Injectable()
export class NomadCacheImportService {
  constructor(
    private readonly studies: StudiesService,
    private readonly engines: EngineStore,
    private readonly outcomes: TrialOutcomes,
  ) {}

  async import(studyId: string, cacheFile: string): Promise<ImportNomadCacheResponseDto> {
    const definition = await this.studies.findOrThrow(studyId);
    const mapping = mappingOf(definition);
    const { cache, errors } = parseNomadCacheFile(cacheFile, mapping.dimension, definition.outputs.length);
    checkEntries(cache.entries, mapping.variables(), errors);
    if (errors.length > 0) throw new ValidationFailedError(errors);
    // One trial per point: the first evaluation of a point in the file wins, as in NOMAD's cache.
    const byKey = new Map<string, NomadCacheEntry>();
    for (const entry of cache.entries) {
      const key = pointKey(entry.point);
      if (!byKey.has(key)) byKey.set(key, entry);
    }

    return this.engines.withLockedStudy(studyId, async (manager, study, engine) => {
      if (isFinishedStudy(study.status)) {
        throw new DomainError('STUDY_FINISHED', `study ${studyId} is ${study.status}`);
      }
      const [{ untold }] = (await manager.query(
        `SELECT COUNT(*)::int AS "untold" FROM trials WHERE study_id = $1 AND ${UNTOLD_RESULT}`,
        [studyId],
      )) as { untold: number }[];
      const tried = new Set(
        (
          (await manager.query(`SELECT point_key FROM trials WHERE study_id = $1 AND point_key = ANY($2::text[])`, [
            studyId,
            [...byKey.keys()],
          ])) as { point_key: string }[]
        ).map((row) => row.point_key),
      );
      const room = Math.max(0, study.maxEvaluations - study.evaluationCount - untold);
      const rows: ImportedRow[] = [];
      for (const [key, entry] of byKey) {
        if (tried.has(key)) continue;
        if (rows.length >= room) break;
        const outputs =
          entry.outputs === null
            ? null
            : Object.fromEntries(study.outputs.map((output, index) => [output.name, entry.outputs![index]]));
        rows.push({
          number: study.nextTrialNumber + rows.length,
          status: outputs === null ? 'failed' : 'completed',
          point: entry.point,
          point_key: key,
          parameters: mapping.toUser(entry.point),
          outputs,
          error: outputs === null ? 'failed evaluation imported from a NOMAD cache file' : null,
        });
      }
      // One JSON parameter per batch: TypeORM's multi-row insert slows down with its parameter count
      // (10,000 rows took 7.6 s in batches of 1,000; this takes a fraction of a second).
      const now = new Date();
      for (let start = 0; start < rows.length; start += INSERT_BATCH) {
        await manager.query(
          `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, outputs, error,
                               started_at, finished_at)
           SELECT $1, row.number, row.status, 'import', row.point, row.point_key, row.parameters, 1, row.outputs,
                  row.error, $2, $2
             FROM jsonb_to_recordset($3::jsonb) AS row(number integer, status varchar, point jsonb, point_key text,
                                                      parameters jsonb, outputs jsonb, error text)`,
          [studyId, now, JSON.stringify(rows.slice(start, start + INSERT_BATCH))],
        );
      }
      study.nextTrialNumber += rows.length;
      await this.outcomes.tellFinished(manager, study, engine);
      return { imported: rows.length, skipped: cache.entries.length - rows.length };
    });
  }
}
