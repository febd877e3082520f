/**
 * Validation of user-supplied MADS options (unknown keys, types, ranges). Throws
 * InvalidOptionsError naming the option (`directionType`), so the API names its own field from it.
 */
import type { ProblemSpec } from '../optimizer-contract/algorithm';
import { InvalidOptionsError } from '../optimizer-contract/algorithm-errors';
import {
  DEFAULT_MADS_OPTIONS,
  DIRECTION_TYPES,
  MADS_PRESETS,
  QUAD_MODEL_FITS,
  presetDefaults,
  type MadsOptions,
  type MadsPreset,
} from './options';

const BOOLEAN_KEYS = [
  'secondaryPoll',
  'speculativeSearch',
  'quadModelSearch',
  'nmSearch',
  'opportunistic',
  'anisotropicMesh',
  'fillIdle',
  'lateSuccess',
  'restartOnMinMesh',
  'modelIdleFirst',
  'quadSearchTrustRegion',
  'boundedFrame',
  'censoredModels',
] as const;

const ENUMS: Record<string, readonly string[]> = {
  directionType: DIRECTION_TYPES,
  evalQueueSort: ['QUADRATIC_MODEL', 'DIR_LAST_SUCCESS'],
  frameRounding: ['nomad', 'floor'],
  preset: MADS_PRESETS,
  quadModelFit: QUAD_MODEL_FITS,
};

function failOption(key: string, reason: string, within = ''): never {
  throw new InvalidOptionsError(key, reason, within);
}

export function validateMadsOptions(problem: ProblemSpec, options: unknown): MadsOptions {
  const types = problem.variables.map((v) => v.type);
  if (options === undefined || options === null) return presetDefaults(DEFAULT_MADS_OPTIONS.preset, types);
  if (typeof options !== 'object' || Array.isArray(options)) throw new InvalidOptionsError(null, 'must be an object');
  const given = options as Record<string, unknown>;
  const preset = given.preset ?? DEFAULT_MADS_OPTIONS.preset;
  if (typeof preset !== 'string' || !ENUMS.preset.includes(preset))
    failOption('preset', `must be one of ${ENUMS.preset.join(', ')}`);
  // The preset sets the defaults; options given explicitly override them.
  const out: Record<string, unknown> = { ...presetDefaults(preset as MadsPreset, types) };
  for (const [key, value] of Object.entries(given)) {
    // Own keys only: `in` is true of inherited names (`constructor`, `toString`; finding 25).
    if (!Object.hasOwn(DEFAULT_MADS_OPTIONS, key)) failOption(key, 'unknown option');
    if (value === undefined) continue;
    if (key === 'surrogateSearch') {
      if (typeof value !== 'boolean' && value !== 'sequential') failOption(key, "must be a boolean or 'sequential'");
    } else if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'boolean') failOption(key, 'must be a boolean');
    } else if (Object.hasOwn(ENUMS, key)) {
      if (typeof value !== 'string' || !ENUMS[key].includes(value))
        failOption(key, `must be one of ${ENUMS[key].join(', ')}`);
    } else if (key === 'categoricalVariables') {
      checkCategorical(problem, value);
    } else if (key === 'initialFrameSize' || key === 'minMeshSize' || key === 'minFrameSize') {
      if (value !== null) checkPerVariable(problem, key, value);
    } else checkNumber(key, value);
    out[key] = value;
  }
  return structuredClone(out) as unknown as MadsOptions;
}

function checkNumber(key: string, value: unknown): void {
  if (typeof value !== 'number' || Number.isNaN(value)) failOption(key, 'must be a number');
  switch (key) {
    case 'speculativeSearchMax':
    case 'quadModelMaxEval':
      if (!Number.isInteger(value) || value < 1) failOption(key, 'must be a positive integer');
      return;
    case 'pipelineIterations':
    case 'modelIdlePoints':
    case 'idleSurrogatePoints':
    case 'refineAhead':
      if (!Number.isInteger(value) || value < 0 || value > 16) failOption(key, 'must be an integer from 0 to 16');
      return;
    case 'idleFrameRefinements':
      if (!Number.isInteger(value) || value < 0 || value > 4) failOption(key, 'must be an integer from 0 to 4');
      return;
    case 'maxInFlight':
      if (!Number.isFinite(value) || value < 0 || value > 100) failOption(key, 'must be a number from 0 to 100');
      return;
    case 'surrogateSearchFactor':
    case 'nmModelFactor':
      if (!Number.isFinite(value) || value < 0 || value > 10000) failOption(key, 'must be a number from 0 to 10000');
      return;
    case 'nmMaxTrialPointsNFactor':
      if (!Number.isInteger(value) || value < 0) failOption(key, 'must be an integer ≥ 0 (0 = no cap)');
      return;
    case 'speculativeSearchBaseFactor':
      if (!Number.isFinite(value) || value <= 1) failOption(key, 'must be > 1');
      return;
    case 'quadModelBoxFactor':
    case 'anisotropyFactor':
      if (!Number.isFinite(value) || value <= 0) failOption(key, 'must be a positive number');
      return;
    case 'minMeshFraction':
      if (!Number.isFinite(value) || value < 0 || value >= 1) failOption(key, 'must be a number from 0 to below 1');
      return;
    case 'hMax0':
      if (!(value > 0)) failOption(key, 'must be > 0 (Infinity allowed)');
      return;
  }
}

function checkPerVariable(problem: ProblemSpec, key: string, value: unknown): void {
  if (!Array.isArray(value) || value.length !== problem.variables.length) {
    failOption(key, `must be an array of ${problem.variables.length} numbers or nulls`);
  }
  value.forEach((v: unknown, i: number) => {
    if (v === null) return;
    if (typeof v !== 'number' || !Number.isFinite(v)) failOption(key, 'must be a finite number or null', `[${i}]`);
    if (key === 'initialFrameSize' ? v <= 0 : v < 0)
      failOption(key, key === 'initialFrameSize' ? 'must be > 0' : 'must be ≥ 0', `[${i}]`);
  });
}

/** Most categories of one categorical variable: each poll tries every other category. */
export const MAX_CATEGORIES = 100;

/**
 * Most numbers the categorical poll of one iteration may build: each other category of every
 * categorical variable is a point of all the problem's variables, keyed and queued (and kept in
 * the engine state) like any poll point, so the poll's cost is (Σ categories − 1) × variables.
 * 200 variables of 100 categories (3.96·10⁶ numbers) took 2.7–3.4 s of CPU in one ask and an
 * 8.5 MB state; at this bound the slowest call is that of a 200-variable continuous study
 * (docs/reliability.md, finding 16).
 */
export const MAX_CATEGORICAL_POLL_VALUES = 50_000;

/** Categorical variables: distinct indices of free I or B variables with finite bounds, ≤ MAX_CATEGORIES categories. */
function checkCategorical(problem: ProblemSpec, value: unknown): void {
  if (!Array.isArray(value)) failOption('categoricalVariables', 'must be an array of variable indices');
  const seen = new Set<number>();
  let alternatives = 0;
  value.forEach((i: unknown, k: number) => {
    const at = `[${k}]`;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= problem.variables.length) {
      failOption('categoricalVariables', 'must be a variable index', at);
    }
    if (seen.has(i)) failOption('categoricalVariables', 'duplicate index', at);
    seen.add(i);
    const v = problem.variables[i];
    if (v.type === 'R') failOption('categoricalVariables', 'a categorical variable must be of type I or B', at);
    if (v.type === 'I') {
      if (v.lowerBound === null || v.upperBound === null)
        failOption('categoricalVariables', 'a categorical variable needs finite bounds', at);
      const categories = Math.floor((v.upperBound - v.lowerBound) / Math.max(1, v.granularity)) + 1;
      if (categories > MAX_CATEGORIES) failOption('categoricalVariables', `more than ${MAX_CATEGORIES} categories`, at);
      alternatives += categories - 1;
    } else alternatives += 1;
  });
  const pollValues = alternatives * problem.variables.length;
  if (pollValues > MAX_CATEGORICAL_POLL_VALUES) {
    failOption(
      'categoricalVariables',
      `too many categories to poll: ${alternatives} other categories × ${problem.variables.length} variables = ` +
        `${pollValues} values a poll, at most ${MAX_CATEGORICAL_POLL_VALUES}; use fewer categorical variables or values`,
    );
  }
}
