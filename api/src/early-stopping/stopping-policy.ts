/**
 * Early-stopping policies of a study: what a study chooses at creation, their defaults, and the
 * validation that turns untrusted input into a policy or into field errors (so the API can answer
 * 400 naming the field). docs/algorithm.md, "Early stopping", explains each parameter.
 */

/** Never stops a trial (NOMAD imports keep this: NOMAD evaluates every point to the end). */
export interface NoStoppingPolicy {
  kind: 'none';
}

/**
 * Optuna's MedianPruner, as a familiar baseline: stop when the trial's best value so far is worse
 * than the median of completed trials' values at the same step.
 */
export interface MedianStoppingPolicy {
  kind: 'median';
  /** No stop until this many trials have completed (Optuna `n_startup_trials`). */
  nStartupTrials: number;
  /** No stop at a step below this (Optuna `n_warmup_steps`). */
  nWarmupSteps: number;
  /** Checks happen at the first reported step of each interval after the warm-up (Optuna `interval_steps`). */
  intervalSteps: number;
}

/**
 * The default for MADS studies: extrapolate the trial's curve to its final step, calibrate the
 * error of that extrapolation on the study's completed curves (and its stopped ones, as runs of
 * their own length), and stop only when even the
 * optimistic bound at `confidence` cannot beat the threshold (the incumbent for poll points).
 */
export interface CurveStoppingPolicy {
  kind: 'curve';
  /** Fraction of the run (step / totalSteps) before which no trial is stopped. */
  minProgress: number;
  /** Probability that a stopped trial would not have beaten the threshold (in (0.5, 1)). */
  confidence: number;
  /** Completed trials needed before any stop: their curves calibrate the extrapolation error. */
  calibrationTrials: number;
  /** Observed points of the trial needed before a fit is trusted (the models have 3 parameters). */
  minPoints: number;
  /** Calibrate on at most this many completed curves, the most recent ones. */
  calibrationWindow: number;
  /**
   * How the pairwise crossing bound (stopping-decision.ts, `crossingBound`) joins the extrapolation
   * rule: absent or 'off', not used (the default); 'or', either stops; 'and', both must; 'alone',
   * the crossing bound alone where it applies (the extrapolation rule where it does not). Not part
   * of the API: measured in bench:fidelity and not kept as a default (docs/benchmarks.md).
   */
  pairwise?: PairwiseMode;
  /**
   * The learned curve-shape prior (shape-prior.ts, `shapePriorBound`): absent or 'off', not used;
   * 'max', a third lower bound beside the extrapolation and drop bounds (the error probability split
   * three ways); 'replace_drop', in place of the drop bound; 'alone', the only bound; 'min', where
   * both are calibrated the lower of the extrapolation and shape bounds, each at the full confidence
   * (the default rule elsewhere). Not part of the API: measured in bench:fidelity and not kept
   * (docs/benchmarks.md).
   */
  shapePrior?: ShapePriorMode;
  /**
   * Rung-wise decisions: when set, the trial is decided only at the first observation at or past
   * each of these fractions of the run. Not part of the API: measured in bench:fidelity and not
   * kept (docs/benchmarks.md).
   */
  rungs?: readonly number[];
  /**
   * Stopping that can be undone (pause-and-resume.ts): when set, a trial the rule would stop is
   * *paused* by the more aggressive pause rule instead, told to the engine as an unsuccessful
   * evaluation like a stop, and may be resumed later for its remaining steps from its checkpoint;
   * a resumed trial runs under this policy, whose stop is then final. null or absent: every stop is
   * final (policies stored before the option have none). Off by default; only for a study whose
   * training configuration has `checkpointSteps` (a resume is then cheap).
   */
  resume?: ResumeOptions | null;
  /**
   * Taking stopped trials up again (pause-and-resume.ts, `takeUpReason`; docs/algorithm.md, "Early
   * stopping: taking stopped trials up again"): at each restart of the engine on the minimum mesh,
   * and once the engine has nothing left to ask with budget left (GPU-hours, or evaluations it left
   * unspent), the most promising
   * final-stopped (and, with `resume`, paused) trial runs on from its checkpoint under this policy,
   * its second stop final. Absent or false: off (opt-in, like `resume`, and only with
   * `checkpointSteps`).
   */
  revive?: boolean;
}

/** How a paused trial comes back (the API's `earlyStopping.resume`; pause-and-resume.ts). */
export interface ResumeOptions {
  /** Resume the most promising paused trial after this many fresh trials in a row without improving the incumbent. */
  afterTrialsWithoutImprovement: number;
}

/** Chosen on bench:fidelity (docs/benchmarks.md, "Stopping that can be undone"): 5 on seeds 1–15, checked on 16–20. */
export const DEFAULT_RESUME_OPTIONS: Readonly<ResumeOptions> = Object.freeze({ afterTrialsWithoutImprovement: 5 });

export type PairwiseMode = 'off' | 'or' | 'and' | 'alone';

export type ShapePriorMode = 'off' | 'max' | 'replace_drop' | 'alone' | 'min';

export type StoppingPolicy = NoStoppingPolicy | MedianStoppingPolicy | CurveStoppingPolicy;
export type StoppingPolicyKind = StoppingPolicy['kind'];

export const STOPPING_POLICY_KINDS: readonly StoppingPolicyKind[] = ['none', 'median', 'curve'];

/** Optuna 5.0's MedianPruner defaults. */
export const DEFAULT_MEDIAN_POLICY: Readonly<MedianStoppingPolicy> = Object.freeze({
  kind: 'median',
  nStartupTrials: 5,
  nWarmupSteps: 0,
  intervalSteps: 1,
});

/**
 * Defaults chosen on `npm run bench:fidelity` (docs/benchmarks.md): a tenth of the run before
 * any stop, 95 % confidence, 3 completed curves to calibrate on. Every trial before the last
 * calibration curve runs to its end, so that number is a fixed cost paid by every study: with 5 the
 * bench's studies spent a third of their GPU-seconds-to-target on it; 3 is the fewest with which the
 * Student-t bound has 2 degrees of freedom (at the default confidence the expansion in
 * calibration.ts is 3 % below the exact quantile there, and the empirical quantile backs it up).
 */
export const DEFAULT_CURVE_POLICY: Readonly<CurveStoppingPolicy> = Object.freeze({
  kind: 'curve',
  minProgress: 0.1,
  confidence: 0.95,
  calibrationTrials: 3,
  minPoints: 4,
  calibrationWindow: 50,
});

export function defaultStoppingPolicy(kind: StoppingPolicyKind): StoppingPolicy {
  switch (kind) {
    case 'none':
      return { kind: 'none' };
    case 'median':
      return { ...DEFAULT_MEDIAN_POLICY };
    case 'curve':
      return { ...DEFAULT_CURVE_POLICY };
  }
}

/** One rejected field: `field` is a dotted path from the policy object's own name. */
export interface PolicyFieldError {
  field: string;
  reason: string;
}

export type PolicyParseResult = { ok: true; policy: StoppingPolicy } | { ok: false; errors: PolicyFieldError[] };

interface NumberRule {
  integer: boolean;
  min: number;
  max: number;
  /** Whether min / max themselves are allowed. */
  minInclusive: boolean;
  maxInclusive: boolean;
}

const MEDIAN_RULES: Readonly<Record<Exclude<keyof MedianStoppingPolicy, 'kind'>, NumberRule>> = {
  nStartupTrials: { integer: true, min: 0, max: 1_000_000, minInclusive: true, maxInclusive: true },
  nWarmupSteps: { integer: true, min: 0, max: 1_000_000_000, minInclusive: true, maxInclusive: true },
  intervalSteps: { integer: true, min: 1, max: 1_000_000_000, minInclusive: true, maxInclusive: true },
};

/**
 * Most calibration curves (completed, and as many stopped) the curve policy may ask for. Each may be
 * refitted at a heartbeat, on the API's event loop, so this bounds one decision's work: 200 curves
 * of 10,000 points had made one heartbeat take up to 29 s (docs/reliability.md, finding 8). Asking
 * for more is a 400 naming `calibrationWindow`, rather than a window silently smaller than asked.
 */
export const MAX_CALIBRATION_WINDOW = 100;

const CURVE_RULES: Readonly<
  Record<
    Exclude<keyof CurveStoppingPolicy, 'kind' | 'pairwise' | 'shapePrior' | 'rungs' | 'resume' | 'revive'>,
    NumberRule
  >
> = {
  minProgress: { integer: false, min: 0, max: 1, minInclusive: false, maxInclusive: false },
  confidence: { integer: false, min: 0.5, max: 1, minInclusive: false, maxInclusive: false },
  // Two completed curves are the fewest that give a spread of extrapolation errors.
  calibrationTrials: { integer: true, min: 2, max: 1_000_000, minInclusive: true, maxInclusive: true },
  minPoints: { integer: true, min: 3, max: 1_000_000, minInclusive: true, maxInclusive: true },
  calibrationWindow: { integer: true, min: 2, max: MAX_CALIBRATION_WINDOW, minInclusive: true, maxInclusive: true },
};

const RESUME_RULES: Readonly<Record<keyof ResumeOptions, NumberRule>> = {
  afterTrialsWithoutImprovement: { integer: true, min: 1, max: 1_000_000, minInclusive: true, maxInclusive: true },
};

function describeRange(rule: NumberRule): string {
  const lower = rule.minInclusive ? `≥ ${rule.min}` : `> ${rule.min}`;
  const upper = rule.maxInclusive ? `≤ ${rule.max}` : `< ${rule.max}`;
  return `${rule.integer ? 'an integer' : 'a number'} ${lower} and ${upper}`;
}

function checkNumber(value: unknown, rule: NumberRule): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be ${describeRange(rule)}`;
  if (rule.integer && !Number.isInteger(value)) return `must be ${describeRange(rule)}`;
  const aboveMin = rule.minInclusive ? value >= rule.min : value > rule.min;
  const belowMax = rule.maxInclusive ? value <= rule.max : value < rule.max;
  return aboveMin && belowMax ? null : `must be ${describeRange(rule)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates an early-stopping policy from untrusted input. Missing parameters take their defaults;
 * unknown keys, wrong types and out-of-range values are field errors (all of them, not the first).
 * `field` is the name the policy object has in the request, prefixed to every error's field.
 */
export function parseStoppingPolicy(
  input: unknown,
  field = 'earlyStopping',
  context: { checkpointed: boolean } = { checkpointed: false },
): PolicyParseResult {
  if (!isPlainObject(input)) return { ok: false, errors: [{ field, reason: 'must be an object' }] };
  const kind = input.kind;
  if (typeof kind !== 'string' || !(STOPPING_POLICY_KINDS as readonly string[]).includes(kind)) {
    return {
      ok: false,
      errors: [{ field: `${field}.kind`, reason: `must be one of ${STOPPING_POLICY_KINDS.join(', ')}` }],
    };
  }
  const rules: Readonly<Record<string, NumberRule>> =
    kind === 'median' ? MEDIAN_RULES : kind === 'curve' ? CURVE_RULES : {};
  const errors: PolicyFieldError[] = [];
  const curve = kind === 'curve';
  for (const key of Object.keys(input)) {
    // Own keys only: `in` is true of every inherited name (`constructor`, `toString`), which
    // passed as parameters of every kind (docs/reliability.md, finding 25).
    if (key !== 'kind' && !Object.hasOwn(rules, key) && !(curve && (key === 'resume' || key === 'revive'))) {
      errors.push({ field: `${field}.${key}`, reason: `is not a parameter of the '${kind}' policy` });
    }
  }
  const policy: Record<string, unknown> = { ...defaultStoppingPolicy(kind as StoppingPolicyKind) };
  for (const [key, rule] of Object.entries(rules)) {
    if (input[key] === undefined) continue;
    const problem = checkNumber(input[key], rule);
    if (problem === null) policy[key] = input[key];
    else errors.push({ field: `${field}.${key}`, reason: problem });
  }
  if (curve) policy.resume = parseResume(input.resume, `${field}.resume`, context.checkpointed, errors);
  if (curve && input.revive !== undefined) {
    if (typeof input.revive !== 'boolean') errors.push({ field: `${field}.revive`, reason: 'must be a boolean' });
    else if (input.revive && !context.checkpointed) {
      errors.push({
        field: `${field}.revive`,
        reason:
          'needs trainingConfig.checkpointSteps: a stopped trial runs on from its checkpoint (without one, leave revive out)',
      });
    } else policy.revive = input.revive;
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, policy: policy as unknown as StoppingPolicy };
}

/**
 * The curve policy's `resume`: absent or null, off (every stop final); an object, on, its
 * parameters over the defaults — only for a study that keeps checkpoints (`checkpointed`): pausing
 * aggressively is only safe when a resume is cheap, and without a checkpoint a resume reruns the
 * whole trial. Off by default: with MADS choosing the points (the service's e2e study) pauses cost
 * final quality in some runs that final stops did not (docs/algorithm.md, "Early stopping: pause
 * and resume", "Default").
 */
function parseResume(
  input: unknown,
  field: string,
  checkpointed: boolean,
  errors: PolicyFieldError[],
): ResumeOptions | null {
  if (input === undefined || input === null) return null;
  if (!isPlainObject(input)) {
    errors.push({ field, reason: 'must be an object or null' });
    return null;
  }
  const resume: Record<string, unknown> = { ...DEFAULT_RESUME_OPTIONS };
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(RESUME_RULES, key))
      errors.push({ field: `${field}.${key}`, reason: 'is not a parameter of resume' });
  }
  for (const [key, rule] of Object.entries(RESUME_RULES)) {
    if (input[key] === undefined) continue;
    const problem = checkNumber(input[key], rule);
    if (problem === null) resume[key] = input[key];
    else errors.push({ field: `${field}.${key}`, reason: problem });
  }
  if (!checkpointed) {
    errors.push({
      field,
      reason:
        'needs trainingConfig.checkpointSteps: a paused trial resumes from its checkpoint (without one, leave resume out)',
    });
  }
  return resume as unknown as ResumeOptions;
}
