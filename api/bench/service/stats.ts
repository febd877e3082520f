/** Percentile of an unsorted sample (nearest rank); NaN for an empty one. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export interface Measurement {
  system: string;
  /** Concurrent runners (meshtune) or workers (Optuna). */
  workers: number;
  /** Finished trials in the study when the measured window started. */
  prefilled: number;
  cycles: number;
  seconds: number;
  cyclesPerSecond: number;
  /** Lease (meshtune) or ask (Optuna) latency, ms. */
  p50: number;
  p99: number;
  /** Anything unusual: 204s, errors, study completed early. */
  note: string;
}

export function formatTable(rows: readonly Measurement[]): string {
  const header = ['system', 'runners / workers', 'trials before', 'cycles/s', 'lease·ask p50 ms', 'p99 ms', 'notes'];
  const body = rows.map((row) => [
    row.system,
    String(row.workers),
    row.prefilled.toLocaleString('en-US'),
    row.cyclesPerSecond >= 100 ? row.cyclesPerSecond.toFixed(0) : row.cyclesPerSecond.toFixed(1),
    row.p50.toFixed(1),
    row.p99.toFixed(1),
    row.note,
  ]);
  const lines = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}
