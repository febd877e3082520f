import type { FieldError } from '../../common/errors/domain-error';
import { DIRECTION_TYPES } from '../dto/create-study.dto';
import { STUDY_LIMITS } from '../study-limits';

/**
 * Reader of NOMAD 4 parameter files (the `param.txt` passed to the `nomad` binary): `#` comments,
 * one `KEYWORD value…` per line, vectors as `( v1 v2 … )` or `* v`. Only what defines the
 * optimisation problem is kept; keywords about running NOMAD locally are listed as ignored.
 */

export type NomadInputType = 'R' | 'I' | 'B';
export type NomadOutputType = 'OBJ' | 'PB' | 'EB' | 'EXTRA_O';

export interface NomadProblem {
  dimension: number;
  inputTypes: NomadInputType[];
  lowerBounds: number[];
  upperBounds: number[];
  granularity: number[];
  /** null = free. */
  fixed: (number | null)[];
  x0: number[][];
  outputTypes: NomadOutputType[];
  maxBbEval: number;
  seed: number | null;
  directionType: (typeof DIRECTION_TYPES)[number] | null;
  searches: { speculativeSearch?: boolean; quadModelSearch?: boolean; nmSearch?: boolean };
  ignoredKeywords: string[];
}

/** Keywords that only concern running NOMAD itself (its executable, files, threads, display). */
const IGNORED = new Set([
  'BB_EXE',
  'BB_MAX_BLOCK_SIZE',
  'BB_REDIRECTION',
  'NB_THREADS_OPENMP',
  'NB_THREADS_PARALLEL_EVAL',
  'HISTORY_FILE',
  'SOLUTION_FILE',
  'SOLUTION_FILE_FINAL',
  'STATS_FILE',
  'EVAL_STATS_FILE',
  'CACHE_FILE',
  'TMP_DIR',
  'ADD_SEED_TO_FILE_NAMES',
  'DISPLAY_DEGREE',
  'DISPLAY_STATS',
  'DISPLAY_ALL_EVAL',
  'DISPLAY_INFEASIBLE',
  'DISPLAY_UNSUCCESSFUL',
  'DISPLAY_FAILED',
  'DISPLAY_HEADER',
  'DISPLAY_MAX_STEP_LEVEL',
  'DISPLAY_DIRECTION_TYPE',
]);

const SUPPORTED = new Set([
  'DIMENSION',
  'BB_INPUT_TYPE',
  'X0',
  'LOWER_BOUND',
  'UPPER_BOUND',
  'BB_OUTPUT_TYPE',
  'MAX_BB_EVAL',
  'GRANULARITY',
  'FIXED_VARIABLE',
  'SEED',
  'DIRECTION_TYPE',
  'QUAD_MODEL_SEARCH',
  'NM_SEARCH',
  'SPECULATIVE_SEARCH',
]);

export class NomadParameterFileError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((error) => `${error.field}: ${error.reason}`).join('; '));
  }
}

interface Line {
  number: number;
  keyword: string;
  tokens: string[];
}

function lines(text: string): Line[] {
  return text.split(/\r?\n/).flatMap((raw, index) => {
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '') return [];
    const tokens = content.replace(/\(/g, ' ( ').replace(/\)/g, ' ) ').split(/\s+/).filter(Boolean);
    return [{ number: index + 1, keyword: tokens[0].toUpperCase(), tokens: tokens.slice(1) }];
  });
}

function parseBoolean(value: string | undefined): boolean | null {
  const lower = value?.toLowerCase();
  if (lower === 'yes' || lower === 'true' || lower === '1') return true;
  if (lower === 'no' || lower === 'false' || lower === '0') return false;
  return null;
}

export function parseNomadParameterFile(text: string): NomadProblem {
  const errors: FieldError[] = [];
  const all = lines(text);
  const field = (line: Line): string => `parameterFile line ${line.number} (${line.keyword})`;
  const fail = (line: Line, reason: string): void => void errors.push({ field: field(line), reason });
  const unknown = all.filter((line) => !SUPPORTED.has(line.keyword) && !IGNORED.has(line.keyword));
  for (const line of unknown) fail(line, 'is not a NOMAD keyword meshtune supports');
  const ignoredKeywords = [...new Set(all.filter((line) => IGNORED.has(line.keyword)).map((line) => line.keyword))];

  const single = (keyword: string): Line | undefined => {
    const found = all.filter((line) => line.keyword === keyword);
    if (found.length > 1) fail(found[1], 'is given more than once');
    return found[0];
  };
  const dimensionLine = single('DIMENSION');
  const dimension = Number(dimensionLine?.tokens[0]);
  const validDimension = Number.isInteger(dimension) && dimension >= 1 && dimension <= STUDY_LIMITS.parameters;
  if (dimensionLine === undefined) errors.push({ field: 'parameterFile', reason: 'DIMENSION is required' });
  else if (!validDimension) fail(dimensionLine, `must be an integer from 1 to ${STUDY_LIMITS.parameters}`);
  // Every vector, index and count below is checked against n before anything is expanded.
  const n = validDimension ? dimension : 0;

  /** `( a b c )` with n entries, or `* v` for all. */
  const vector = (
    line: Line,
    parse: (token: string) => string | number | null,
    what: string,
  ): (string | number | null)[] | null => {
    const tokens = line.tokens;
    let values: string[];
    if (tokens[0] === '*' && tokens.length === 2) values = Array.from({ length: n }, () => tokens[1]);
    else if (tokens[0] === '(' && tokens[tokens.length - 1] === ')') values = tokens.slice(1, -1);
    else if (n === 1 && tokens.length === 1) values = tokens;
    else {
      fail(line, `expected ( v1 … v${n} ) or * v`);
      return null;
    }
    if (values.length !== n) {
      fail(line, `has ${values.length} values for DIMENSION ${n}`);
      return null;
    }
    const parsed = values.map(parse);
    const bad = parsed.findIndex((value) => value === null);
    if (bad >= 0) {
      fail(line, `value ${bad + 1} "${values[bad]}" is not ${what}`);
      return null;
    }
    return parsed;
  };
  const number = (token: string): number | null => {
    const value = Number(token);
    return Number.isFinite(value) ? value : null;
  };

  const inputLine = single('BB_INPUT_TYPE');
  const inputTypes = (
    inputLine === undefined
      ? Array.from({ length: n }, () => 'R')
      : (vector(
          inputLine,
          (token) => (['R', 'I', 'B'].includes(token.toUpperCase()) ? token.toUpperCase() : null),
          'R, I or B',
        ) ?? [])
  ) as NomadInputType[];

  const bounds = (keyword: string): number[] => {
    const line = single(keyword);
    if (line === undefined) {
      errors.push({ field: 'parameterFile', reason: `${keyword} is required: meshtune searches inside finite bounds` });
      return [];
    }
    const values = vector(
      line,
      (token) => (token === '-' || /inf/i.test(token) ? null : number(token)),
      'a finite number (meshtune needs finite bounds)',
    );
    return (values ?? []) as number[];
  };
  const lowerBounds = bounds('LOWER_BOUND');
  const upperBounds = bounds('UPPER_BOUND');
  inputTypes.forEach((type, index) => {
    if (type === 'B') {
      lowerBounds[index] = 0;
      upperBounds[index] = 1;
    }
  });

  const granularityLine = single('GRANULARITY');
  const granularity =
    granularityLine === undefined
      ? Array.from({ length: n }, () => 0)
      : ((vector(
          granularityLine,
          (token) => {
            const value = number(token);
            return value !== null && value >= 0 ? value : null;
          },
          'a granularity ≥ 0',
        ) ?? []) as number[]);

  const x0Lines = all.filter((line) => line.keyword === 'X0');
  if (x0Lines.length > STUDY_LIMITS.x0) {
    fail(x0Lines[STUDY_LIMITS.x0], `X0 is given ${x0Lines.length} times; a study has at most ${STUDY_LIMITS.x0}`);
  }
  const x0 = x0Lines
    .slice(0, STUDY_LIMITS.x0)
    .map((line) => (vector(line, number, 'a finite number') ?? []) as number[])
    .filter((point) => point.length === n);

  const fixedLine = single('FIXED_VARIABLE');
  let fixed: (number | null)[] = Array.from({ length: n }, () => null);
  if (fixedLine !== undefined) {
    const indexOnly = fixedLine.tokens.length === 1 && /^\d+(-\d+)?$/.test(fixedLine.tokens[0]);
    if (indexOnly) {
      const [from, to = from] = fixedLine.tokens[0].split('-').map(Number);
      // The range is checked as a whole before it is walked: `0-99999999` is one error, not one per index.
      if (x0.length === 0) fail(fixedLine, 'fixing by index needs an X0 to take the values from');
      else if (from > to) fail(fixedLine, `index range ${from}-${to} is empty`);
      else if (to >= n) fail(fixedLine, `index ${to} is outside DIMENSION ${n} (indices run from 0 to ${n - 1})`);
      else for (let index = from; index <= to; index += 1) fixed[index] = x0[0][index];
    } else {
      fixed = (vector(fixedLine, (token) => (token === '-' ? 'free' : number(token)), 'a number or -') ?? fixed).map(
        (value) => (value === 'free' ? null : (value as number)),
      );
    }
  }

  const outputLine = single('BB_OUTPUT_TYPE');
  const outputTypes: NomadOutputType[] = [];
  for (const token of outputLine?.tokens ?? ['OBJ']) {
    const upper = token.toUpperCase();
    if (upper === 'OBJ' || upper === 'PB' || upper === 'EB') outputTypes.push(upper);
    else if (upper === 'CSTR') outputTypes.push('PB');
    else if (['EXTRA_O', 'NOTHING', '-', 'BBO_UNDEFINED'].includes(upper)) outputTypes.push('EXTRA_O');
    else fail(outputLine!, `output type ${token} is not supported (OBJ, PB, CSTR, EB, EXTRA_O, NOTHING)`);
  }
  // The study's own rule (one objective) runs again when the study is parsed; here it names the file's line.
  if (outputTypes.filter((type) => type === 'OBJ').length !== 1 && outputLine !== undefined) {
    fail(outputLine, 'must hold exactly one OBJ (MADS is single-objective)');
  }

  const maxLine = single('MAX_BB_EVAL');
  const maxBbEval = Number(maxLine?.tokens[0]);
  if (maxLine === undefined)
    errors.push({ field: 'parameterFile', reason: 'MAX_BB_EVAL is required: a study has a budget' });
  else if (!Number.isInteger(maxBbEval) || maxBbEval < 1 || maxBbEval > STUDY_LIMITS.maxEvaluations) {
    fail(maxLine, `must be an integer from 1 to ${STUDY_LIMITS.maxEvaluations}`);
  }

  const seedLine = single('SEED');
  const seed = seedLine === undefined ? null : Number(seedLine.tokens[0]);
  if (seedLine !== undefined && (!Number.isInteger(seed) || seed! < 0 || seed! > STUDY_LIMITS.seed)) {
    fail(seedLine, `must be an integer from 0 to ${STUDY_LIMITS.seed} (meshtune has no process-id seed)`);
  }

  const directionLine = single('DIRECTION_TYPE');
  let directionType: NomadProblem['directionType'] = null;
  if (directionLine !== undefined) {
    const value = directionLine.tokens.join(' ').toUpperCase();
    // The direction types a study may have (CreateStudyDto's list), so an import asks for nothing create refuses.
    const offered = DIRECTION_TYPES.find((type) => type === value);
    if (offered !== undefined) directionType = offered;
    else fail(directionLine, `${value} is not supported (${DIRECTION_TYPES.join(', ')})`);
  }
  const searches: NomadProblem['searches'] = {};
  for (const [keyword, key] of [
    ['SPECULATIVE_SEARCH', 'speculativeSearch'],
    ['QUAD_MODEL_SEARCH', 'quadModelSearch'],
    ['NM_SEARCH', 'nmSearch'],
  ] as const) {
    const line = single(keyword);
    if (line === undefined) continue;
    const value = parseBoolean(line.tokens[0]);
    if (value === null) fail(line, 'must be yes or no');
    else searches[key] = value;
  }

  if (errors.length > 0) throw new NomadParameterFileError(errors);
  return {
    dimension: n,
    inputTypes,
    lowerBounds,
    upperBounds,
    granularity,
    fixed,
    x0,
    outputTypes,
    maxBbEval,
    seed,
    directionType,
    searches,
    ignoredKeywords,
  };
}
