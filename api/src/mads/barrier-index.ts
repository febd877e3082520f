/**
 * The barrier's infeasible points (`BarrierState.xInf`) kept in order, so that an update of the
 * progressive barrier (barrier.ts, `updateWithPoints`, §5.3) costs O(log m) per point it adds or
 * removes and O(k) for rule d's k tied incumbents, instead of a walk over all m points.
 *
 * Why: NOMAD's barrier keeps every infeasible point under hMax, and while no point is feasible — a
 * constraint model no point satisfies in the model search's inner MADS — m grows with every model
 * evaluation (up to ~1,000), and the inner MADS updates its barrier ~700 times per model
 * optimisation; the O(m) walk of each update was ~70 % of the CPU of the slowest engine call of
 * the constrained classes (docs/reliability.md, finding 21).
 *
 * What each rule needs (h, f as the barrier read them when the point entered; xInf holds
 * infeasible points with finite h only):
 * - membership of an id: a map;
 * - rule b (infeasible success against the previous incumbent) and rule c (hMax on PARTIAL
 *   success): the smallest h, and the largest h that is ε below a value — `byH`, ordered by
 *   (h, insertion);
 * - rule d (drop h > hMax, then the incumbents): the largest h — `byH` again — and the points of
 *   the smallest f with the smallest h — `byFH`, ordered by (f, h, insertion), points of NaN f
 *   left out (they are counted: with one present, rule d takes barrier.ts's general route).
 *
 * Sorted arrays with binary search: an insertion or removal of one of a step's few points moves at
 * most m references (one memmove, a few tens of KB at the sizes the barrier reaches, 10²–10⁴), and
 * needs no dependency; many points at once (a merge of the whole cache, a large drop of hMax) take
 * one sort and merge or one filter, O(m + k log k). Indexing a barrier restored from JSON is one
 * sort, O(m log m), paid on its first update (8–13 ms of CPU at m = 10,000, where one update cost
 * 0.4–0.6 ms before and costs 4–6 µs after: docs/benchmarks.md, "Results: the incremental
 * barrier").
 *
 * The index lives beside the barrier state (barrier.ts keeps it in a WeakMap), not in it: the
 * state stays plain data, serialised as before, and a state restored from JSON (or built anew)
 * gets a fresh index on its first update. The arrays of `BarrierState` belong to barrier.ts; the
 * index notices an xInf replaced or resized outside it and rebuilds itself.
 */
/** A point as the barrier reads it (barrier.ts's `FH`; not imported, so that barrier.ts may import this file). */
interface PointFH {
  readonly f: number;
  readonly h: number;
}

/** One element of xInf: its id, (f, h) read when it entered, and its rank in xInf's order. */
export interface InfEntry {
  readonly id: number;
  readonly f: number;
  readonly h: number;
  readonly seq: number;
}

/** Order of byH: (h, insertion); h is finite here. */
const byHOrder = (a: InfEntry, b: InfEntry): number => (a.h < b.h ? -1 : a.h > b.h ? 1 : a.seq - b.seq);

/** Order of byFH: (f, h, insertion); f is never NaN here (±∞ may be), and −0 and 0 tie as in `<`. */
const byFHOrder = (a: InfEntry, b: InfEntry): number =>
  a.f < b.f ? -1 : a.f > b.f ? 1 : a.h < b.h ? -1 : a.h > b.h ? 1 : a.seq - b.seq;

type Order = (a: InfEntry, b: InfEntry) => number;

/** First index of the sorted `a` whose element is not before the probe (binary search). */
function lowerBound<T>(a: readonly T[], isBefore: (x: T) => boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isBefore(a[mid])) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function removeSorted(a: InfEntry[], e: InfEntry, order: Order): void {
  const k = lowerBound(a, (x) => order(x, e) < 0);
  if (a[k] !== e) throw new Error('barrier index: entry not found');
  a.splice(k, 1);
}

/**
 * `a` (sorted by `order`, a total order: entries differ in seq) with `batch` inserted in order: one
 * binary search and splice each for a few (a step's points), one sort and merge for many (a
 * barrier indexed at once, a merge of the whole cache), so that neither costs m moves per point.
 */
export function insertAll(a: InfEntry[], batch: readonly InfEntry[], order: Order): InfEntry[] {
  if (batch.length <= 16) {
    for (const e of batch)
      a.splice(
        lowerBound(a, (x) => order(x, e) < 0),
        0,
        e,
      );
    return a;
  }
  const sorted = [...batch].sort(order);
  if (a.length === 0) return sorted;
  const out = new Array<InfEntry>(a.length + sorted.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < sorted.length) out[k++] = order(sorted[j], a[i]) < 0 ? sorted[j++] : a[i++];
  while (i < a.length) out[k++] = a[i++];
  while (j < sorted.length) out[k++] = sorted[j++];
  return out;
}

export class InfeasibleIndex {
  /** The xInf array this index mirrors (the same array object), one entry per element, in order. */
  readonly xInf: number[];
  private readonly entries: InfEntry[] = [];
  /** Entries per id (an id appears once when the barrier built xInf; JSON could repeat one). */
  private readonly byId = new Map<number, number>();
  private byH: InfEntry[] = [];
  private byFH: InfEntry[] = [];
  /** Entries added but not yet placed in byH and byFH (placed before any query, `sort`). */
  private unsorted: InfEntry[] = [];
  private nanF = 0;
  private nextSeq = 0;
  /** Entries appended since rule d last derived the incumbents from this index. */
  pending: InfEntry[] = [];
  /**
   * The incInf array that rule d last derived from this index (null: none yet, as for an index
   * built from a restored state). While `state.incInf` is this array, no entry outside `pending`
   * dominates its points: they are non-dominated among the entries of that time, and only
   * `pending` has joined since (removals happen in rule d only, which resets both).
   */
  settledIncumbents: number[] | null = null;

  constructor(xInf: number[], fh: (id: number) => PointFH) {
    this.xInf = xInf;
    for (const id of xInf) this.add(id, fh(id), false);
    this.sort();
  }

  get size(): number {
    return this.entries.length;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Append `id` to xInf (when `append`) and index it. */
  add(id: number, p: PointFH, append = true): void {
    const e: InfEntry = { id, f: p.f, h: p.h, seq: this.nextSeq++ };
    if (append) this.xInf.push(id);
    this.entries.push(e);
    this.byId.set(id, (this.byId.get(id) ?? 0) + 1);
    if (Number.isNaN(e.f)) this.nanF++;
    this.unsorted.push(e);
    this.pending.push(e);
  }

  /** Place the entries added since the last query in byH and byFH. */
  private sort(): void {
    if (this.unsorted.length === 0) return;
    this.byH = insertAll(this.byH, this.unsorted, byHOrder);
    this.byFH = insertAll(
      this.byFH,
      this.unsorted.filter((e) => !Number.isNaN(e.f)),
      byFHOrder,
    );
    this.unsorted = [];
  }

  /** The entry of xInf[k]. */
  at(k: number): InfEntry {
    return this.entries[k];
  }

  /** Whether some point has f = NaN (rule d then takes the general route). */
  get hasNaNF(): boolean {
    return this.nanF > 0;
  }

  /** The entry of smallest h, skipping `skip` (rule b: NOMAD's test skips xInf[0], Appendix D #5). */
  smallestH(skip: InfEntry | undefined): InfEntry | undefined {
    this.sort();
    return this.byH[0] === skip ? this.byH[1] : this.byH[0];
  }

  /** The largest h among points whose h is ε below `bound` (`lessEps(h, bound)`); −∞ when none. */
  largestHBelow(bound: number, lessEps: (a: number, b: number) => boolean): number {
    this.sort();
    // lessEps(h, bound) = h < bound − ε holds on a prefix of byH (h ascending).
    const k = lowerBound(this.byH, (e) => lessEps(e.h, bound));
    return k > 0 ? this.byH[k - 1].h : -Infinity;
  }

  /**
   * Remove every point whose h `exceeds` the bound, a predicate monotone in h (rule d's
   * h > hMax + ε): they are the end of byH. xInf keeps its order; the cost is O(log m) per point
   * removed, or one pass over xInf when many go (then at most a constant per point removed).
   */
  removeAbove(exceeds: (h: number) => boolean): void {
    this.sort();
    const gone: InfEntry[] = [];
    while (this.byH.length > 0 && exceeds(this.byH[this.byH.length - 1].h)) gone.push(this.byH.pop() as InfEntry);
    if (gone.length === 0) return;
    const many = gone.length * 8 >= this.entries.length;
    const goneSet = many ? new Set(gone) : null;
    for (const e of gone) {
      if (Number.isNaN(e.f)) this.nanF--;
      else if (goneSet === null) removeSorted(this.byFH, e, byFHOrder);
      const left = (this.byId.get(e.id) as number) - 1;
      if (left === 0) this.byId.delete(e.id);
      else this.byId.set(e.id, left);
    }
    if (goneSet !== null) {
      this.byFH = this.byFH.filter((e) => !goneSet.has(e));
      let w = 0;
      for (let r = 0; r < this.entries.length; r++) {
        const e = this.entries[r];
        if (goneSet.has(e)) continue;
        this.entries[w] = e;
        this.xInf[w] = e.id;
        w++;
      }
      this.entries.length = w;
      this.xInf.length = w;
    } else {
      // entries (and xInf) are in insertion order, so seq is ascending along them.
      for (const e of gone) {
        const k = lowerBound(this.entries, (x) => x.seq < e.seq);
        this.entries.splice(k, 1);
        this.xInf.splice(k, 1);
      }
    }
  }

  /**
   * Rule d's incumbents when no f is NaN (barrier.ts, `infeasibleIncumbents`, same result): the
   * non-dominated points are those of the smallest f whose h is not ε above that f's smallest h —
   * a prefix of byFH — and the incumbents the end of that prefix within ε of its largest h, given
   * back in xInf's order. O(k) for the k points of that prefix, and a sort of the tied incumbents.
   */
  simpleIncumbents(lessEps: (a: number, b: number) => boolean, equalEps: (a: number, b: number) => boolean): number[] {
    this.sort();
    const a = this.byFH;
    if (a.length === 0) return [];
    const fMin = a[0].f;
    const hMin = a[0].h;
    let end = 1;
    while (end < a.length && a[end].f === fMin && !lessEps(hMin, a[end].h)) end++;
    const maxH = a[end - 1].h;
    let start = end - 1;
    while (start > 0 && equalEps(a[start - 1].h, maxH)) start--;
    const inc = a.slice(start, end);
    if (inc.length > 1) inc.sort((x, y) => x.seq - y.seq);
    return inc.map((e) => e.id);
  }
}
