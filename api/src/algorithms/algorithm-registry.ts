/**
 * Creates and restores the suggestion algorithms of a study by name. Validates the problem and
 * the options (typed errors from algorithm-errors.ts, mapped to HTTP 400 by the API).
 */
import type { AlgorithmName, ProblemSpec, SuggestionAlgorithm } from '../optimizer-contract/algorithm';
import { InvalidOptionsError, InvalidStateError } from '../optimizer-contract/algorithm-errors';
import { validateProblem } from '../optimizer-contract/problem-validation';
import { RandomSearch } from './random/random-search';
import { Mads } from '../mads';
import type { MadsOptions } from '../mads';

/**
 * What the registry returns: a SuggestionAlgorithm plus `stop()` (USER_STOP), `evaluationCount`
 * and `markInFlight(points)` (user-enqueued points being evaluated, before their results).
 */
export type StudyAlgorithm = Mads | RandomSearch;

/** Options per algorithm: MADS takes a partial MadsOptions, random takes none. */
export type AlgorithmOptions = Partial<MadsOptions> | Record<string, never>;

export function createAlgorithm(
  name: AlgorithmName,
  problem: ProblemSpec,
  options: AlgorithmOptions = {},
): StudyAlgorithm {
  // Each algorithm validates the problem itself, first thing (Mads.create, RandomSearch.create): once per create.
  switch (name) {
    case 'mads':
      return Mads.create(problem, options as Partial<MadsOptions>);
    case 'random': {
      const algorithm = RandomSearch.create(problem);
      if (options !== null && options !== undefined) {
        if (typeof options !== 'object' || Array.isArray(options))
          throw new InvalidOptionsError(null, 'must be an object');
        const keys = Object.keys(options);
        if (keys.length > 0) throw new InvalidOptionsError(keys[0], "unknown option (algorithm 'random' takes none)");
      }
      return algorithm;
    }
    default:
      validateProblem(problem);
      throw new InvalidOptionsError('name', `unknown algorithm '${String(name)}'`);
  }
}

export function restoreAlgorithm(name: AlgorithmName, state: unknown): StudyAlgorithm {
  switch (name) {
    case 'mads':
      return Mads.fromJSON(state);
    case 'random':
      return RandomSearch.fromJSON(state);
    default:
      throw new InvalidStateError('algorithm', `unknown algorithm '${String(name)}'`);
  }
}

export type { SuggestionAlgorithm };
