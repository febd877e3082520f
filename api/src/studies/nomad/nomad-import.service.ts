import { Injectable } from '@nestjs/common';
import { ValidationFailedError } from '../../common/errors/domain-error';
import { validateAsBody } from '../../common/http/validation';
import type { OutputDefinition, ParameterDefinition, UserPoint } from '../../search-space/search-space';
import { CreateStudyDto } from '../dto/create-study.dto';
import type { ImportNomadStudyDto, ImportNomadStudyResponseDto } from '../dto/import-nomad.dto';
import { StudiesService } from '../studies.service';
import { type NomadProblem, NomadParameterFileError, parseNomadParameterFile } from './nomad-parameter-file';

/** A NOMAD problem as the body of POST /v1/studies: R → real, I → integer, B → integer in [0, 1]. */
export function studyFromNomad(problem: NomadProblem, request: ImportNomadStudyDto): Record<string, unknown> {
  const names = request.parameterNames ?? Array.from({ length: problem.dimension }, (_, index) => `x${index + 1}`);
  if (names.length !== problem.dimension) {
    throw new ValidationFailedError([
      { field: 'parameterNames', reason: `has ${names.length} names for DIMENSION ${problem.dimension}` },
    ]);
  }
  const parameters: ParameterDefinition[] = names.map((name, index) => {
    const granularity = problem.granularity[index];
    const parameter: ParameterDefinition = {
      name,
      type: problem.inputTypes[index] === 'R' ? 'real' : 'integer',
      lower: problem.lowerBounds[index],
      upper: problem.upperBounds[index],
    };
    if (granularity > 0 && !(parameter.type === 'integer' && granularity === 1)) parameter.granularity = granularity;
    const fixed = problem.fixed[index];
    if (fixed !== null) parameter.fixed = fixed;
    return parameter;
  });
  const counters = { PB: 0, EB: 0, EXTRA_O: 0 };
  const defaultNames = problem.outputTypes.map((type) => {
    if (type === 'OBJ') return 'obj';
    counters[type] += 1;
    return `${type === 'EXTRA_O' ? 'extra' : type.toLowerCase()}${counters[type]}`;
  });
  const outputNames = request.outputNames ?? defaultNames;
  if (outputNames.length !== problem.outputTypes.length) {
    throw new ValidationFailedError([
      { field: 'outputNames', reason: `has ${outputNames.length} names for ${problem.outputTypes.length} outputs` },
    ]);
  }
  const outputs: OutputDefinition[] = problem.outputTypes.map((type, index) => {
    switch (type) {
      case 'OBJ':
        return { name: outputNames[index], type: 'objective', goal: 'minimize' };
      case 'PB':
        return { name: outputNames[index], type: 'constraint_pb' };
      case 'EB':
        return { name: outputNames[index], type: 'constraint_eb' };
      case 'EXTRA_O':
        return { name: outputNames[index], type: 'extra' };
    }
  });
  const x0: UserPoint[] = problem.x0.map((point) =>
    Object.fromEntries(names.map((name, index) => [name, point[index]])),
  );
  return {
    name: request.name,
    parameters,
    outputs,
    x0,
    budget: { maxEvaluations: problem.maxBbEval, ...request.budget },
    algorithm: {
      name: 'mads',
      // A NOMAD parameter file asks for NOMAD's behaviour.
      preset: 'nomad4',
      seed: problem.seed ?? 0,
      ...(problem.directionType === null ? {} : { directionType: problem.directionType }),
      ...problem.searches,
    },
    trainingConfig: request.trainingConfig ?? {},
    // NOMAD evaluates every point to the end: an imported study keeps that (docs/algorithm.md, "Early stopping").
    earlyStopping: { kind: 'none' },
    ...(request.requiredRunnerLabels === undefined ? {} : { requiredRunnerLabels: request.requiredRunnerLabels }),
    ...(request.requiredRunnerGpus === undefined ? {} : { requiredRunnerGpus: request.requiredRunnerGpus }),
    ...(request.requiredRunnerGpuMemoryMb === undefined
      ? {}
      : { requiredRunnerGpuMemoryMb: request.requiredRunnerGpuMemoryMb }),
  };
}

@Injectable()
export class NomadImportService {
  constructor(private readonly studies: StudiesService) {}

  async importParameterFile(request: ImportNomadStudyDto, projectId: string): Promise<ImportNomadStudyResponseDto> {
    let problem: NomadProblem;
    try {
      problem = parseNomadParameterFile(request.parameterFile);
    } catch (error) {
      if (error instanceof NomadParameterFileError) throw new ValidationFailedError(error.errors);
      throw error;
    }
    // The same checks and limits as POST /v1/studies: one set of rules for every way a study is made.
    const study = await this.studies.create(
      validateAsBody(CreateStudyDto, studyFromNomad(problem, request)),
      projectId,
    );
    return { study, ignoredKeywords: problem.ignoredKeywords };
  }
}
