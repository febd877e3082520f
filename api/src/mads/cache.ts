/**
 * The evaluation cache (NOMAD 4.5.1, src/Cache/CacheSet.cpp): every point ever suggested or
 * told, keyed by coordinates. A point in the cache is never suggested again; a failed point is
 * never re-evaluated.
 */
import type { OutputType, SuggestionOrigin } from '../optimizer-contract/algorithm';
import { evaluateOutputs, usableForModel } from './evaluation';
import { decodeNumber, encodeNumber, type EncodedNumber } from '../math/numerics';
import { cacheKey } from './space';

export type RecordStatus = 'pending' | 'ok' | 'failed';
/** 'told' = a point the engine never suggested (e.g. enqueued by a user). */
export type RecordOrigin = SuggestionOrigin | 'told';

export interface PointRecord {
  /** NOMAD's tag: creation order, used for tie-breaks. */
  id: number;
  x: number[];
  status: RecordStatus;
  outputs: number[] | null;
  f: number;
  h: number;
  phaseOneF: number;
  /** NOMAD's pointFrom (§5.2): id of the frame centre that generated this point, or −1. */
  fromId: number;
  origin: RecordOrigin;
  /** Step that generated the point, −1 if none. */
  stepId: number;
  /** Usable by models and NM (§1.5: complete outputs, none above MODEL_MAX_OUTPUT). */
  modelOk: boolean;
  /**
   * A failed point stopped early: its full-length objective is, with the stopping policy's
   * confidence, at least this (`EvaluationResult.censoredBelow`); null otherwise. Read only by the
   * models with `censoredModels` (docs/algorithm.md, "Early stopping: what the models learn from a stop").
   */
  censoredBelow: number | null;
}

/**
 * Compact JSON form of a record: [x, status, outputs, fromId, origin, stepId, censoredBelow?]. The
 * last element is written only for a censored record, so every other state keeps its text.
 */
type RecordJson =
  | [number[], 0 | 1 | 2, EncodedNumber[] | null, number, RecordOrigin, number]
  | [number[], 0 | 1 | 2, EncodedNumber[] | null, number, RecordOrigin, number, number];

const STATUS_CODES: RecordStatus[] = ['pending', 'ok', 'failed'];

export class EvaluationCache {
  readonly records: PointRecord[] = [];
  private readonly byKey = new Map<string, number>();
  /**
   * Changes on every insertion and result, so that work computed from the records can be reused
   * while it is unchanged (search/nelder-mead.ts `initialSimplex`). Not persisted.
   */
  version = 0;

  constructor(private readonly outputTypes: readonly OutputType[]) {}

  get size(): number {
    return this.records.length;
  }

  find(x: readonly number[]): PointRecord | undefined {
    const id = this.byKey.get(cacheKey(x));
    return id === undefined ? undefined : this.records[id];
  }

  has(x: readonly number[]): boolean {
    return this.byKey.has(cacheKey(x));
  }

  /** `has` for a key already computed with `cacheKey`. */
  hasKey(key: string): boolean {
    return this.byKey.has(key);
  }

  get(id: number): PointRecord {
    return this.records[id];
  }

  /** Insert a new pending point (the caller checked it is absent). */
  addPending(x: readonly number[], fromId: number, origin: RecordOrigin, stepId: number): PointRecord {
    const rec: PointRecord = {
      id: this.records.length,
      x: [...x],
      status: 'pending',
      outputs: null,
      f: Infinity,
      h: Infinity,
      phaseOneF: Infinity,
      fromId,
      origin,
      stepId,
      modelOk: false,
      censoredBelow: null,
    };
    this.records.push(rec);
    this.byKey.set(cacheKey(x), rec.id);
    this.version++;
    return rec;
  }

  /**
   * Store a result on a record (§1.5: NaN in OBJ/PB/EB or null ⇒ failed); `censoredBelow` is kept
   * only on a failed record (validateResult allows it only with null outputs).
   */
  setResult(rec: PointRecord, outputs: readonly number[] | null, censoredBelow: number | null = null): void {
    const ev = evaluateOutputs(this.outputTypes, outputs);
    rec.censoredBelow = ev.ok ? null : censoredBelow;
    rec.outputs = outputs === null ? null : [...outputs];
    rec.status = ev.ok ? 'ok' : 'failed';
    rec.f = ev.f;
    rec.h = ev.h;
    rec.phaseOneF = ev.phaseOneF;
    rec.modelOk = ev.ok && usableForModel(this.outputTypes, outputs);
    this.version++;
  }

  toJSON(): RecordJson[] {
    return this.records.map((r) => {
      const json: RecordJson = [
        r.x,
        STATUS_CODES.indexOf(r.status) as 0 | 1 | 2,
        r.outputs === null ? null : r.outputs.map(encodeNumber),
        r.fromId,
        r.origin,
        r.stepId,
      ];
      return r.censoredBelow === null ? json : [...json, r.censoredBelow];
    });
  }

  static fromJSON(outputTypes: readonly OutputType[], data: unknown): EvaluationCache {
    if (!Array.isArray(data)) throw new TypeError('cache must be an array');
    const cache = new EvaluationCache(outputTypes);
    for (const item of data as RecordJson[]) {
      const [x, status, outputs, fromId, origin, stepId, censoredBelow] = item;
      const rec = cache.addPending(x, fromId, origin, stepId);
      const decoded = outputs === null ? null : outputs.map(decodeNumber);
      if (STATUS_CODES[status] !== 'pending') cache.setResult(rec, decoded, censoredBelow ?? null);
    }
    return cache;
  }
}
