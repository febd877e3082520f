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

const ENTRY = /^\(\s*([^)]*)\)\s+(\S+)\s+\(\s*([^)]*)\)/;

/** Reads `( x… ) BB_EVAL_OK ( outputs… ) …` lines; header lines (CACHE_HITS, BB_OUTPUT_TYPE) are read or skipped. */
export function parseNomadCacheFile(
  text: string,
  dimension: number,
  outputCount: number,
): { cache: NomadCache; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const entries: NomadCacheEntry[] = [];
  let outputTypes: string[] | null = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const field = `cacheFile line ${index + 1}`;
    if (line === '' || line.startsWith('#') || line.startsWith('CACHE_HITS')) return;
    if (line.startsWith('BB_OUTPUT_TYPE')) {
      outputTypes = line.split(/\s+/).slice(1);
      if (outputTypes.length !== outputCount) {
        errors.push({ field, reason: `declares ${outputTypes.length} outputs; the study has ${outputCount}` });
      }
      return;
    }
    const match = ENTRY.exec(line);
    if (match === null) {
      errors.push({ field, reason: 'is not "( x1 … xn ) STATUS ( outputs … )"' });
      return;
    }
    const point = match[1].trim().split(/\s+/).map(Number);
    if (point.length !== dimension || point.some((value) => !Number.isFinite(value))) {
      errors.push({ field, reason: `needs ${dimension} finite coordinates` });
      return;
    }
    const status = match[2];
    if (status === 'BB_EVAL_OK') {
      const outputs = match[3].trim().split(/\s+/).map(Number);
      if (outputs.length !== outputCount || outputs.some((value) => Number.isNaN(value))) {
        errors.push({ field, reason: `needs ${outputCount} numeric outputs` });
        return;
      }
      entries.push({ line: index + 1, point, outputs });
    } else if (status === 'BB_EVAL_FAILED' || status === 'BB_EVAL_ERROR') {
      entries.push({ line: index + 1, point, outputs: null });
    }
    // Other statuses (not started, in progress, …) carry no evaluation.
  });
  return { cache: { outputTypes, entries }, errors };
}
