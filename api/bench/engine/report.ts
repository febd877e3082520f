/** Markdown tables for the benchmark's console output (pasted as is into docs/benchmarks.md). */

export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly ('l' | 'r')[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    '| ' +
    cells.map((c, i) => ((align?.[i] ?? 'r') === 'l' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') +
    ' |';
  const rule =
    '|' +
    widths.map((w, i) => ((align?.[i] ?? 'r') === 'l' ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') +
    '|';
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function formatNumber(value: number | null, digits = 4): string {
  if (value === null || Number.isNaN(value)) return 'n/a';
  if (value === Infinity) return '∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(digits - 1);
  return Number(value.toPrecision(digits)).toString();
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
