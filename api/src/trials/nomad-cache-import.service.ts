import { Injectable } from '@nestjs/common';
import type { VariableSpec } from '../optimizer-contract/algorithm';
import { type FieldError, ValidationFailedError } from '../common/errors/domain-error';
import { EngineService } from '../engine/engine.service';
import { type NomadCacheEntry, parseNomadCacheFile } from '../studies/nomad/nomad-cache-file';
import { StudiesService } from '../studies/studies.service';
import { mappingOf } from '../studies/study-engine';
import type { ImportNomadCacheResponseDto } from './dto/import-nomad-cache.dto';

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
 * The file is read and checked before the study is locked (a study's space never changes); the
 * engine's import command (EngineService.importEvaluations) writes and tells the evaluations.
 */
@Injectable()
export class NomadCacheImportService {
  constructor(
    private readonly studies: StudiesService,
    private readonly engine: EngineService,
  ) {}

  async import(studyId: string, cacheFile: string): Promise<ImportNomadCacheResponseDto> {
    const definition = await this.studies.findOrThrow(studyId);
    const mapping = mappingOf(definition);
    const { cache, errors } = parseNomadCacheFile(cacheFile, mapping.dimension, definition.outputs.length);
    checkEntries(cache.entries, mapping.variables(), errors);
    if (errors.length > 0) throw new ValidationFailedError(errors);
    // One trial per point: the first evaluation of a point in the file wins, as in NOMAD's cache.
    return this.engine.importEvaluations(
      studyId,
      cache.entries.map((entry) => ({ point: entry.point, outputs: entry.outputs })),
    );
  }
}
