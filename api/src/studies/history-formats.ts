import type { OutputDefinition, ParameterDefinition } from '../search-space/search-space';
import type { TrialResponseDto } from '../trials/dto/trial-response.dto';

/** First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** Text a spreadsheet cannot split or misread: written bare (identifiers, uuids, ISO dates). */
const PLAIN_TEXT = /^[\w.:-]+$/;

/**
 * One CSV cell. Numbers are written as numbers (`-1.5` stays a negative number). Text that
 * starts like a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'` so spreadsheets show it
 * as text, as OWASP recommends; such text, and any text with characters other than letters,
 * digits, `_ . : -`, is quoted with `"` doubled inside, so no separator (`,` or a locale's `;`)
 * or line break in it can start a new cell. The `'` is part of the exported text: a categorical
 * value written "-1" reads back as "'-1" (docs/api.md, History).
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  else if (PLAIN_TEXT.test(text)) return text;
  return `"${text.replaceAll('"', '""')}"`;
}

function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\n`;
}

export interface HistoryColumns {
  parameters: readonly ParameterDefinition[];
  derivedNames: readonly string[];
  outputs: readonly OutputDefinition[];
}

function parameterNames(columns: HistoryColumns): string[] {
  return [...columns.parameters.map((parameter) => parameter.name), ...columns.derivedNames];
}

/** The header: identity, parameter values (derived included), outputs, error, runner, times. */
export function historyCsvHeader(columns: HistoryColumns): string {
  return csvLine([
    'number',
    'status',
    'origin',
    ...parameterNames(columns),
    ...columns.outputs.map((output) => output.name),
    'error',
    'runner_id',
    'started_at',
    'finished_at',
  ]);
}

/** One line per finished trial, in the header's columns. */
export function historyCsvRows(trials: readonly TrialResponseDto[], columns: HistoryColumns): string {
  const names = parameterNames(columns);
  return trials
    .map((trial) =>
      csvLine([
        trial.number,
        trial.status,
        trial.origin,
        ...names.map((name) => trial.parameters[name]),
        ...columns.outputs.map((output) => trial.outputs?.[output.name]),
        trial.error,
        trial.runnerId,
        trial.startedAt,
        trial.finishedAt,
      ]),
    )
    .join('');
}

/**
 * NOMAD's history file (HISTORY_FILE): one evaluation per line, the point in engine space then
 * the blackbox outputs in BB_OUTPUT_TYPE order, space-separated; a failed evaluation has NaN outputs.
 */
export function historyNomadRows(trials: readonly TrialResponseDto[], outputs: readonly OutputDefinition[]): string {
  return trials
    .map((trial) => {
      const values = outputs.map((output) => {
        const value = trial.outputs?.[output.name];
        return value === undefined ? 'NaN' : String(value);
      });
      return `${[...trial.point.map(String), ...values].join(' ')}\n`;
    })
    .join('');
}

/** A whole export as text chunks, one per batch of trials: the history is never held in memory. */
export async function* historyExport(
  format: 'csv' | 'nomad',
  batches: AsyncIterable<TrialResponseDto[]>,
  columns: HistoryColumns,
): AsyncGenerator<string> {
  if (format === 'csv') yield historyCsvHeader(columns);
  for await (const trials of batches) {
    yield format === 'csv' ? historyCsvRows(trials, columns) : historyNomadRows(trials, columns.outputs);
  }
}
