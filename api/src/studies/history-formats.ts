import type { OutputDefinition, ParameterDefinition } from '../search-space/search-space';
import type { TrialResponseDto } from '../trials/dto/trial-response.dto';

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One row per finished trial: identity, parameter values (derived included), outputs, status, runner, duration. */
export function historyCsv(
  trials: readonly TrialResponseDto[],
  parameters: readonly ParameterDefinition[],
  derivedNames: readonly string[],
  outputs: readonly OutputDefinition[],
): string {
  const parameterNames = [...parameters.map((parameter) => parameter.name), ...derivedNames];
  const header = [
    'number',
    'status',
    'origin',
    ...parameterNames,
    ...outputs.map((output) => output.name),
    'error',
    'runner_id',
    'started_at',
    'finished_at',
  ];
  const rows = trials.map((trial) => [
    trial.number,
    trial.status,
    trial.origin,
    ...parameterNames.map((name) => trial.parameters[name]),
    ...outputs.map((output) => trial.outputs?.[output.name]),
    trial.error,
    trial.runnerId,
    trial.startedAt,
    trial.finishedAt,
  ]);
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}

/**
 * NOMAD's history file (HISTORY_FILE): one evaluation per line, the point in engine space then
 * the blackbox outputs in BB_OUTPUT_TYPE order, space-separated; a failed evaluation has NaN outputs.
 */
export function historyNomad(trials: readonly TrialResponseDto[], outputs: readonly OutputDefinition[]): string {
  return trials
    .map((trial) => {
      const values = outputs.map((output) => {
        const value = trial.outputs?.[output.name];
        return value === undefined ? 'NaN' : String(value);
      });
      return [...trial.point.map(String), ...values].join(' ');
    })
    .join('\n')
    .concat(trials.length > 0 ? '\n' : '');
}
