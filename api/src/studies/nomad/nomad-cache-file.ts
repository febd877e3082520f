import type { FieldError } from '../../common/errors/domain-error';

/** One evaluation of a NOMAD 4 cache file (CACHE_FILE, text format). */
export interface NomadCacheEntry {
  /** 1-based line in the file. */
  line: number;
  point: number[];
  /** null for BB_EVAL_FAILED / BB_EVAL_ERROR. */
  outputs: number[] | null;
}

export interface NomadCache {
  outputTypes: string[] | null;
  entries: NomadCacheEntry[];
}

/** Evaluations one import may hold: the whole file is checked and written with the study locked. */
export const MAX_CACHE_ENTRIES = 10_000;

/** Problems collected before the reader stops: a file of 80,000 bad lines is refused after these. */
const MAX_CACHE_ERRORS = 50;

const SHAPE = 'is not "( x1 … xn ) STATUS ( outputs … )"';

/**
 * The statuses NOMAD 4 writes for a blackbox evaluation (`BB_` and its EvalStatusType), besides
 * BB_EVAL_OK, BB_EVAL_FAILED and BB_EVAL_ERROR: none carries an evaluation, so their lines are
 * skipped. Any other word is not NOMAD's: refused, naming the line, where it was skipped in silence
 * (`BB_EVAL_0K` imported nothing, 201; docs/reliability.md, finding 59).
 */
const STATUSES_WITHOUT_EVALUATION = new Set([
  'BB_EVAL_NOT_STARTED',
  'BB_EVAL_IN_PROGRESS',
  'BB_EVAL_WAIT',
  'BB_EVAL_USER_REJECTED',
  'BB_EVAL_USER_ACCEPTED',
  'BB_EVAL_CONS_H_OVER',
  'BB_EVAL_STATUS_UNDEFINED',
]);

/**
 * A character no decimal number holds. `Number()` reads a token made only of digits, `.`, `e`/`E`
 * and signs as a decimal literal, or not at all; it also reads `0x10`, `0b1`, `0o7` and a number
 * with U+00A0 or U+2028 around it (its whitespace), which no NOMAD file holds (finding 59). One
 * character class, no repetition: a first draft's regular expression for the whole grammar
 * (`\d+\.?\d*`) backtracked quadratically, 12.9 s on a token of 20,000 digits and a U+00A0.
 */
const NOT_DECIMAL_CHARACTER = /[^0-9.eE+-]/;

/** The values of a group as numbers (NaN for a word); null when one is a number in a notation NOMAD never writes (hex, binary, octal). */
function numbers(values: readonly string[]): number[] | null {
  const out: number[] = [];
  for (const value of values) {
    const number = Number(value);
    if (Number.isFinite(number) && NOT_DECIMAL_CHARACTER.test(value)) return null;
    out.push(number);
  }
  return out;
}

const NOT_DECIMAL = 'holds a number not in decimal notation (as NOMAD writes them: 1, -0.5, 1.5e-3)';

/**
 * Splits a line into tokens, parentheses apart (`(1 2)` reads as `( 1 2 )`), in one pass: a
 * regular expression with two adjacent repetitions over the same characters backtracks
 * quadratically on a line of 200,000 spaces.
 */
function tokens(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let index = 0; index <= line.length; index += 1) {
    const char = index < line.length ? line[index] : ' ';
    const space = char === ' ' || char === '\t' || char === '\r' || char === '\v' || char === '\f';
    if (space || char === '(' || char === ')') {
      if (start >= 0) out.push(line.slice(start, index));
      start = -1;
      if (!space) out.push(char);
    } else if (start < 0) {
      start = index;
    }
  }
  return out;
}

/** `( v… )` starting at tokens[at]: the values and the index after `)`, or null. */
function group(list: readonly string[], at: number): { values: string[]; next: number } | null {
  if (list[at] !== '(') return null;
  const close = list.indexOf(')', at + 1);
  if (close < 0) return null;
  return { values: list.slice(at + 1, close), next: close + 1 };
}

/**
 * Reads `( x… ) BB_EVAL_OK ( outputs… ) …` lines; header lines (CACHE_HITS, BB_OUTPUT_TYPE) are
 * read or skipped. Linear in the size of the file; at most MAX_CACHE_ENTRIES evaluations.
 */
export function parseNomadCacheFile(
  text: string,
  dimension: number,
  outputCount: number,
): { cache: NomadCache; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const entries: NomadCacheEntry[] = [];
  let outputTypes: string[] | null = null;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length && errors.length < MAX_CACHE_ERRORS; index += 1) {
    const list = tokens(lines[index]);
    const field = `cacheFile line ${index + 1}`;
    if (list.length === 0 || list[0].startsWith('#') || list[0] === 'CACHE_HITS') continue;
    if (list[0] === 'BB_OUTPUT_TYPE') {
      outputTypes = list.slice(1);
      if (outputTypes.length !== outputCount) {
        errors.push({ field, reason: `declares ${outputTypes.length} outputs; the study has ${outputCount}` });
      }
      continue;
    }
    const x = group(list, 0);
    const status = x === null ? undefined : list[x.next];
    const y = x === null ? null : group(list, x.next + 1);
    if (x === null || status === undefined || y === null) {
      errors.push({ field, reason: SHAPE });
      continue;
    }
    const point = numbers(x.values);
    if (point === null) {
      errors.push({ field, reason: NOT_DECIMAL });
      continue;
    }
    if (point.length !== dimension || point.some((value) => !Number.isFinite(value))) {
      errors.push({ field, reason: `needs ${dimension} finite coordinates` });
      continue;
    }
    if (status === 'BB_EVAL_OK') {
      const outputs = numbers(y.values);
      if (outputs === null) {
        errors.push({ field, reason: NOT_DECIMAL });
        continue;
      }
      // A stored result is finite: an evaluation NOMAD could not score is BB_EVAL_FAILED.
      if (outputs.length !== outputCount || outputs.some((value) => !Number.isFinite(value))) {
        errors.push({ field, reason: `needs ${outputCount} finite outputs (a failed evaluation is BB_EVAL_FAILED)` });
        continue;
      }
      entries.push({ line: index + 1, point, outputs });
    } else if (status === 'BB_EVAL_FAILED' || status === 'BB_EVAL_ERROR') {
      entries.push({ line: index + 1, point, outputs: null });
    } else if (STATUSES_WITHOUT_EVALUATION.has(status)) {
      // Not started, in progress, rejected…: no evaluation.
      continue;
    } else {
      errors.push({
        field,
        reason: `has status ${JSON.stringify(status.slice(0, 40))}, not one NOMAD writes (BB_EVAL_OK, BB_EVAL_FAILED, BB_EVAL_ERROR, BB_EVAL_NOT_STARTED…)`,
      });
      continue;
    }
    if (entries.length > MAX_CACHE_ENTRIES) {
      errors.push({
        field,
        reason: `is evaluation ${MAX_CACHE_ENTRIES + 1}: import at most ${MAX_CACHE_ENTRIES} at once`,
      });
      break;
    }
  }
  return { cache: { outputTypes, entries }, errors };
}
