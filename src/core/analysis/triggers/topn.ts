/**
 * Per-key top-N of (coefficient, paragraph, window, position) for every key of every
 * layer at once, in flat typed arrays: one bounded min-heap per key whose root is the
 * key's current N-th best. `threshold[key]` mirrors the root's coefficient (the store's
 * `minimum` while the heap is not full) so the scan can reject almost every candidate
 * with one comparison before touching a heap.
 *
 * Order: a larger coefficient is better; ties go to the earlier paragraph, then window,
 * then position. Candidates may arrive in any order: the heap compares fully.
 *
 * A signed index (gated FFNs) keeps two stores: one of m, one of −m (so "larger is
 * better" means "more negative" there, and the same heap and the same one-comparison
 * test serve both sides). Their minimum is the smallest positive float32, so a side only
 * ever holds coefficients of its own sign: m > 0 on one, m < 0 on the other.
 */

/** Entries sorted best-first for each key, keys in order: the canonical content of an index. */
export interface SortedEntries {
  nKeys: number;
  counts: Uint32Array;
  /** Start of each key's entries; length nKeys + 1. */
  starts: Uint32Array;
  coeff: Float32Array;
  paragraph: Uint32Array;
  window: Uint32Array;
  position: Uint32Array;
}

/** True when entry a ranks before entry b. */
export function better(ca: number, pa: number, wa: number, ta: number, cb: number, pb: number, wb: number, tb: number): boolean {
  if (ca !== cb) return ca > cb;
  if (pa !== pb) return pa < pb;
  if (wa !== wb) return wa < wb;
  return ta < tb;
}

export class TopNStore {
  readonly count: Uint32Array;
  readonly coeff: Float32Array;
  readonly paragraph: Uint32Array;
  readonly window: Uint32Array;
  readonly position: Uint32Array;
  readonly threshold: Float32Array;

  constructor(
    readonly nKeys: number,
    readonly n: number,
    /** What a candidate must reach to enter a key's heap (−∞: anything). */
    readonly minimum = -Infinity,
  ) {
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`top must be a positive integer, got ${n}`);
    this.count = new Uint32Array(nKeys);
    this.coeff = new Float32Array(nKeys * n);
    this.paragraph = new Uint32Array(nKeys * n);
    this.window = new Uint32Array(nKeys * n);
    this.position = new Uint32Array(nKeys * n);
    this.threshold = new Float32Array(nKeys).fill(minimum);
  }

  /** Offers a candidate to a key; returns true when it was kept. */
  offer(key: number, c: number, p: number, w: number, t: number): boolean {
    const n = this.n;
    const base = key * n;
    const size = this.count[key];
    if (size < n) {
      this.siftUp(base, size, c, p, w, t);
      this.count[key] = size + 1;
      if (size + 1 === n) this.threshold[key] = this.coeff[base];
      return true;
    }
    if (!better(c, p, w, t, this.coeff[base], this.paragraph[base], this.window[base], this.position[base])) return false;
    this.siftDown(base, n, c, p, w, t);
    this.threshold[key] = this.coeff[base];
    return true;
  }

  /** Worse entries towards the root: a parent is never better than its children. */
  private siftUp(base: number, at: number, c: number, p: number, w: number, t: number): void {
    let i = at;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const q = base + parent;
      // stop once the parent is already worse than the new entry
      if (!better(this.coeff[q], this.paragraph[q], this.window[q], this.position[q], c, p, w, t)) break;
      this.move(base + parent, base + i);
      i = parent;
    }
    this.set(base + i, c, p, w, t);
  }

  /** Replaces the root with a better entry and restores the heap. */
  private siftDown(base: number, size: number, c: number, p: number, w: number, t: number): void {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      let child = l;
      const r = l + 1;
      if (r < size && better(this.coeff[base + l], this.paragraph[base + l], this.window[base + l], this.position[base + l], this.coeff[base + r], this.paragraph[base + r], this.window[base + r], this.position[base + r])) child = r;
      const q = base + child;
      // the worse child moves up while it is worse than the new entry
      if (!better(c, p, w, t, this.coeff[q], this.paragraph[q], this.window[q], this.position[q])) break;
      this.move(q, base + i);
      i = child;
    }
    this.set(base + i, c, p, w, t);
  }

  private move(from: number, to: number): void {
    this.coeff[to] = this.coeff[from];
    this.paragraph[to] = this.paragraph[from];
    this.window[to] = this.window[from];
    this.position[to] = this.position[from];
  }

  private set(at: number, c: number, p: number, w: number, t: number): void {
    this.coeff[at] = c;
    this.paragraph[at] = p;
    this.window[at] = w;
    this.position[at] = t;
  }

  /** Every key's entries, best first. */
  sorted(): SortedEntries {
    const starts = new Uint32Array(this.nKeys + 1);
    for (let k = 0; k < this.nKeys; k++) starts[k + 1] = starts[k] + this.count[k];
    const total = starts[this.nKeys];
    const out: SortedEntries = {
      nKeys: this.nKeys,
      counts: this.count.slice(),
      starts,
      coeff: new Float32Array(total),
      paragraph: new Uint32Array(total),
      window: new Uint32Array(total),
      position: new Uint32Array(total),
    };
    const order: number[] = [];
    for (let k = 0; k < this.nKeys; k++) {
      const base = k * this.n;
      order.length = 0;
      for (let i = 0; i < this.count[k]; i++) order.push(base + i);
      order.sort((a, b) => (better(this.coeff[a], this.paragraph[a], this.window[a], this.position[a], this.coeff[b], this.paragraph[b], this.window[b], this.position[b]) ? -1 : 1));
      order.forEach((src, j) => {
        const dst = starts[k] + j;
        out.coeff[dst] = this.coeff[src];
        out.paragraph[dst] = this.paragraph[src];
        out.window[dst] = this.window[src];
        out.position[dst] = this.position[src];
      });
    }
    return out;
  }

  /** Rebuilds the thresholds after the arrays were filled from a checkpoint. */
  restoreThresholds(): void {
    for (let k = 0; k < this.nKeys; k++) this.threshold[k] = this.count[k] === this.n ? this.coeff[k * this.n] : this.minimum;
  }
}

/**
 * The smallest normal float32: `c >= SIGN_MINIMUM` means c > 0 for every coefficient but
 * subnormal ones, which are 0 for any purpose here and which onnxruntime may flush to 0.
 */
export const SIGN_MINIMUM = 2 ** -126;

/**
 * The stores of one index run: `negative` (of −m, see TopNStore) only for a signed index.
 * Both sides of a signed index take only coefficients of their own sign.
 */
export interface TopNStores {
  positive: TopNStore;
  negative: TopNStore | null;
}

export function topNStores(nKeys: number, n: number, signed: boolean): TopNStores {
  return signed ? { positive: new TopNStore(nKeys, n, SIGN_MINIMUM), negative: new TopNStore(nKeys, n, SIGN_MINIMUM) } : { positive: new TopNStore(nKeys, n), negative: null };
}

/** Entries with their coefficients negated (exact in floating point): −m strengths ↔ coefficients m. */
export function negated(e: SortedEntries): SortedEntries {
  return { ...e, coeff: e.coeff.map((c) => -c) };
}
