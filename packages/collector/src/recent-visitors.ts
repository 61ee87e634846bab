// Last hit time per (site, visitor) key, for the 30-minute visit rule: an open-addressing
// hash table over typed arrays. A Map of 200,000 numbers lived in V8's old generation, and
// with every pageview a new visitor (a busy page) it was rehashed into a new multi-MB table
// every few thousand hits: a seventh of what the ingest worker moved to its old generation,
// where each full garbage collection (2 to 8 ms) holds up every request in flight.
//
// Bounded like the Map it replaces: the `max` visitors touched last are always kept. The
// table holds more between rebuilds; when it is 3/4 full, a rebuild keeps only those.

const EMPTY = 0;

export class RecentVisitors {
  private readonly mask: number;
  /** key + 1 per slot (0: empty). Keys are below 2^52, so key + 1 is exact in a double. */
  private readonly keys: Float64Array;
  private readonly times: Float64Array;
  /** Touch order per slot: the rebuild keeps the `max` highest. */
  private readonly order: Float64Array;
  /** The rebuild's working space, made once: touch orders, then the entries kept. */
  private readonly scratch: Float64Array;
  private used = 0;
  private touches = 0;
  private readonly limit: number;

  constructor(private readonly max: number) {
    // A rebuild leaves at most `max` slots used; the next comes after `max / 2` new keys at least.
    let capacity = 1024;
    while (capacity * 0.75 < max * 1.5) capacity *= 2;
    this.mask = capacity - 1;
    this.limit = capacity * 0.75;
    this.keys = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.order = new Float64Array(capacity);
    this.scratch = new Float64Array(Math.max(this.limit, max * 3));
  }

  get size(): number {
    return this.used;
  }

  /** The slot holding `key`, else the empty slot where it would go. */
  private slot(key: number): number {
    const stored = key + 1;
    // The low bits of the key (`& mask` takes them from its low 32).
    let i = key & this.mask;
    for (;;) {
      const k = this.keys[i]!;
      if (k === stored || k === EMPTY) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** The latest time touched for `key`, if it is still held. */
  get(key: number): number | undefined {
    const i = this.slot(key);
    return this.keys[i] === EMPTY ? undefined : this.times[i];
  }

  /**
   * Records a hit of `key` at `ts` (the later time wins) and makes it the most recent;
   * returns the time held before, if any (one probe for `get` and the update).
   */
  touch(key: number, ts: number): number | undefined {
    const i = this.slot(key);
    let before: number | undefined;
    if (this.keys[i] === EMPTY) {
      this.keys[i] = key + 1;
      this.times[i] = ts;
      this.used++;
    } else {
      before = this.times[i]!;
      if (ts > before) this.times[i] = ts;
    }
    this.order[i] = ++this.touches;
    if (this.used >= this.limit) this.rebuild();
    return before;
  }

  /** Keeps the `max` keys touched last, laid out again (so no probe chain keeps a hole). */
  private rebuild(): void {
    const { keys, times, order, scratch } = this;
    // Each key's last touch is its own number: the max-th latest of them is the cut. When the
    // last `max` touches were all different keys (a stream of new visitors), it is plain.
    let cut = this.touches - this.max + 1;
    let recent = 0;
    for (let j = 0; j < keys.length; j++) if (keys[j] !== EMPTY && order[j]! >= cut) recent++;
    let n = 0;
    if (recent < this.max) {
      for (let j = 0; j < keys.length; j++) if (keys[j] !== EMPTY) scratch[n++] = order[j]!;
      cut = n > this.max ? nthSmallest(scratch, n, n - this.max) : 0;
      n = 0;
    }
    for (let j = 0; j < keys.length; j++) {
      if (keys[j] === EMPTY || order[j]! < cut) continue;
      scratch[n++] = keys[j]!;
      scratch[n++] = times[j]!;
      scratch[n++] = order[j]!;
    }
    keys.fill(EMPTY);
    this.used = n / 3;
    for (let j = 0; j < n; j += 3) {
      const i = this.slot(scratch[j]! - 1);
      keys[i] = scratch[j]!;
      times[i] = scratch[j + 1]!;
      order[i] = scratch[j + 2]!;
    }
  }
}

/** The k-th smallest (from 0) of a[0..n), by quickselect; reorders a[0..n). */
function nthSmallest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
