import type { StopReason } from '../optimizer-contract/algorithm';
import { createAlgorithm, type StudyAlgorithm } from '../algorithms/algorithm-registry';
import { EngineMapping } from '../search-space/engine-mapping';
import type { Study } from './study.entity';
import type { StudyStopReason } from './study-status';

/** The user-space ↔ engine-space translation of a study. */
export function mappingOf(study: Pick<Study, 'parameters' | 'derived' | 'outputs'>): EngineMapping {
  return new EngineMapping(study.parameters, study.derived, study.outputs);
}

/** MADS-specific options are passed through; `name` and `seed` live on their own columns. */
export function createStudyAlgorithm(
  study: Pick<
    Study,
    'algorithm' | 'algorithmOptions' | 'parameters' | 'derived' | 'outputs' | 'x0' | 'maxEvaluations' | 'seed'
  >,
): StudyAlgorithm {
  const problem = mappingOf(study).problem(study.x0, study.maxEvaluations, study.seed);
  const options =
    study.algorithm === 'mads'
      ? {
          // An unordered categorical is an integer index to MADS; this lets every poll also try the other categories.
          categoricalVariables: study.parameters.flatMap((parameter, index) =>
            parameter.type === 'categorical' ? [index] : [],
          ),
          ...study.algorithmOptions,
        }
      : study.algorithmOptions;
  return createAlgorithm(study.algorithm, problem, options);
}

export function studyStopReason(reason: StopReason): StudyStopReason {
  switch (reason.kind) {
    case 'MAX_BB_EVAL':
      return 'max_evaluations';
    case 'MIN_MESH_SIZE_REACHED':
    case 'MIN_FRAME_SIZE_REACHED':
      return 'mesh_converged';
    case 'X0_FAIL':
      return 'x0_failed';
    case 'USER_STOP':
      return 'user_stopped';
  }
}
