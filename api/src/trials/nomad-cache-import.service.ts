import { Injectable } from '@nestjs/common';
import { DomainError, type FieldError, ValidationFailedError } from '../common/errors/domain-error';
import { pointKey } from '../search-space/engine-mapping';
import { parseNomadCacheFile } from '../studies/nomad/nomad-cache-file';
import { EngineStore } from '../studies/engine/engine-store';
import { mappingOf } from '../studies/study-engine';
import { isFinishedStudy } from '../studies/study-status';
import type { ImportNomadCacheResponseDto } from './dto/import-nomad-cache.dto';
import { TrialOutcomes } from './trial-outcomes';
import { UNTOLD_RESULT } from './trial-status';
import { Trial } from './trial.entity';

/**
 * Warm start from a NOMAD cache file: each evaluation becomes a finished trial (origin `import`)
 * and is told to the engine, so MADS never suggests those points again. Imported evaluations
 * count in the study's budget (a deviation from NOMAD, whose cache hits are free: documented).
 */
@Injectable()
export class NomadCacheImportService {
  constructor(
    private readonly engines: EngineStore,
    private readonly outcomes: TrialOutcomes,
  ) {}

  async import(studyId: string, cacheFile: string): Promise<ImportNomadCacheResponseDto> {
    return this.engines.withLockedStudy(studyId, async (manager, study, engine) => {
      if (isFinishedStudy(study.status)) {
        throw new DomainError('STUDY_FINISHED', `study ${studyId} is ${study.status}`);
      }
      const mapping = mappingOf(study);
      const { cache, errors } = parseNomadCacheFile(cacheFile, mapping.dimension, study.outputs.length);
      const variables = mapping.variables();
      cache.entries.forEach((entry) => {
        entry.point.forEach((value, variable) => {
          const spec = variables[variable];
          const outside =
            (spec.lowerBound !== null && value < spec.lowerBound) ||
            (spec.upperBound !== null && value > spec.upperBound);
          if (outside)
            errors.push({
              field: `cacheFile line ${entry.line}`,
              reason: `coordinate ${variable + 1} is outside the bounds`,
            });
          if (spec.fixedValue !== null && value !== spec.fixedValue) {
            errors.push({
              field: `cacheFile line ${entry.line}`,
              reason: `coordinate ${variable + 1} must equal the fixed value ${spec.fixedValue}`,
            });
          }
        });
      });
      if (errors.length > 0) throw new ValidationFailedError(errors.slice(0, 50) as FieldError[]);
      const trials = manager.getRepository(Trial);
      const [{ untold }] = (await manager.query(
        `SELECT COUNT(*)::int AS "untold" FROM trials
          WHERE study_id = $1 AND ${UNTOLD_RESULT}`,
        [studyId],
      )) as { untold: number }[];
      let imported = 0;
      let skipped = 0;
      for (const entry of cache.entries) {
        const key = pointKey(entry.point);
        const budgetSpent = study.evaluationCount + untold + imported >= study.maxEvaluations;
        if (budgetSpent || (await trials.countBy({ studyId, pointKey: key })) > 0) {
          skipped += 1;
          continue;
        }
        const outputs =
          entry.outputs === null
            ? null
            : Object.fromEntries(study.outputs.map((output, index) => [output.name, entry.outputs![index]]));
        const now = new Date();
        await trials.save(
          trials.create({
            studyId,
            number: study.nextTrialNumber,
            status: outputs === null ? 'failed' : 'completed',
            origin: 'import',
            point: entry.point,
            pointKey: key,
            parameters: mapping.toUser(entry.point),
            attempt: 1,
            outputs,
            error: outputs === null ? 'failed evaluation imported from a NOMAD cache file' : null,
            startedAt: now,
            finishedAt: now,
          }),
        );
        study.nextTrialNumber += 1;
        imported += 1;
      }
      await this.outcomes.tellFinished(manager, study, engine);
      return { imported, skipped };
    });
  }
}
