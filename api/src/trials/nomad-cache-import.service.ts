import { Injectable } from '@nestjs/common';
import { type FieldError, ValidationFailedError } from '../common/errors/domain-error';
import { EngineService } from '../engine/engine.service';
import { type NomadCacheEntry, parseNomadCacheFile } from '../studies/nomad/nomad-cache-file';
import { StudiesService } from '../studies/studies.service';
import { SearchSpace } from '../search-space/search-space-parse';
import type { ImportNomadCacheResponseDto } from './dto/import-nomad-cache.dto';

/** Every coordinate of the file's points is a point of the study's space (SearchSpace.coordinateReason). */
function checkEntries(entries: readonly NomadCacheEntry[], space: SearchSpace, errors: FieldError[]): void {
  for (const entry of entries) {
    entry.point.forEach((value, variable) => {
      const reason = space.coordinateReason(variable, value);
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
    // The study's space as its create parsed it (search-space/search-space-parse.ts); it never changes.
    const space = SearchSpace.of(definition);
    const { cache, errors } = parseNomadCacheFile(cacheFile, space.mapping.dimension, definition.outputs.length);
    checkEntries(cache.entries, space, errors);
    if (errors.length > 0) throw new ValidationFailedError(errors);
    // One trial per point: the first evaluation of a point in the file wins, as in NOMAD's cache.
    return this.engine.importEvaluations(
      studyId,
      cache.entries.map((entry) => ({ point: entry.point, outputs: entry.outputs })),
    );
  }
}
