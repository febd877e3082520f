import type { AlgorithmName, ProblemSpec, StopReason } from '../optimizer-contract/algorithm';
import type { EngineStart } from '../engine/engine-host-protocol';
import { EngineMapping } from '../search-space/engine-mapping';
import type { SearchSpace } from '../search-space/search-space-parse';
import type { Study } from './study.entity';
import type { StudyStopReason } from './study-status';

/** The user-space ↔ engine-space translation of a study. */
export function mappingOf(study: Pick<Study, 'parameters' | 'derived' | 'outputs'>): EngineMapping {
  return new EngineMapping(study.parameters, study.derived, study.outputs);
}

/**
 * What a new study's engine starts from (EngineService.initialState, in the engine host): its
 * parsed problem and the options given under `algorithm` (`name` and `seed` live on their own
 * columns). MADS also gets the categorical parameters' variables.
 */
export function engineStart(
  space: SearchSpace,
  problem: ProblemSpec,
  algorithm: AlgorithmName,
  options: Record<string, unknown>,
): EngineStart {
  return {
    algorithm,
    problem,
    options:
      algorithm === 'mads'
        ? // An unordered categorical is an integer index to MADS; this lets every poll also try the other categories.
          { categoricalVariables: space.categoricalVariables(), ...options }
        : options,
  };
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
