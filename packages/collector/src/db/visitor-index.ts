// The per-visitor index of visits (visitor_visits), written in key-sorted runs, as an LSM tree
// writes its memtable: indexing each new visit at once put one write on a random leaf page per
// pageview, two thirds of the bytes a new visitor's pageview wrote and a quarter of the writer's
// CPU (BENCHMARKS.md).
// The visits past the merged mark (the tail) are found by their row ids, kept in memory per
// (site, visitor); once the tail holds `mergeAt` visits, it goes into visitor_visits in key
// order, `chunk` entries with each following batch, so a merge writes each leaf about once.
// The visits table is the durable record: on opening, the tail is read back from the visits
// past the mark. Only the connection that writes the visits (the ingest path's) keeps one.
// The tail lives in typed arrays and a map of small integers, not strings: a map of string
// keys and id arrays, promoted to the old generation between merges, kept V8's collector busy
// (3 to 10% more pageviews/s without it, BENCHMARKS.md, sixth session).
import type { Statement } from 'better-sqlite3';
import type { Sqlite } from './open-sqlite.js';

/** The settings key of the highest visit id that visitor_visits is known to hold. */
export const MARK = 'visitor_index_upto';

export interface VisitorIndex {
  /** A visit row just inserted (in the open transaction). */
  added(siteId: string, vid: string, id: number): void;
  /**
   * Row ids of the visitor's visits not yet merged. Found by a hash of (site, visitor), and
   * may name rows rolled back since: check each row's site and visitor.
   */
  tail(siteId: string, vid: string): readonly number[];
  /** Inside each batch's transaction, before COMMIT: the next chunk of a merge under way. */
  step(): void;
  /** After a COMMIT. */
  committed(): void;
  /** After a rollback: the open transaction's visits and merge progress are undone. */
  rolledBack(): void;
}

/** (site, visitor) as a 31-bit integer (a small integer for V8: no allocation as a map key). */
function visitorHash(siteId: string, vid: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < siteId.length; i++) h = Math.imul(h ^ siteId.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 10, 0x01000193);
  for (let i = 0; i < vid.length; i++) h = Math.imul(h ^ vid.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 16)) >>> 1;
}

/** Visitor-id characters ([\w-]) ranked in byte order, as visitor_visits sorts them. */
const RANK = new Uint8Array(128);
for (const [i, c] of [...'-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'].entries()) RANK[c.charCodeAt(0)] = i;

/**
 * Where a visit lands in visitor_visits, to 32 bits: 8 of the site (a hash: each site's
 * entries stay together) and the visitor id's first four characters. Entries sorted by it
 * reach the leaves in order up to ~16M leaf pages; it orders writes, never decides a lookup.
 */
function sortKey(siteId: string, vid: string): number {
  let k = 0;
  for (let i = 0; i < siteId.length; i++) k = (k * 31 + siteId.charCodeAt(i)) & 0xff;
  for (let i = 0; i < 4; i++) k = k * 64 + (i < vid.length ? RANK[vid.charCodeAt(i) & 127]! : 0);
  return k >>> 0;
}

interface Merge {
  /**
   * The merged entries in key order, as 32-bit halves of (sort key << 32 | log position),
   * sorted as a BigUint64Array: [2i] the log position, [2i + 1] the sort key.
   */
  halves: Uint32Array;
  /** Log entries [0, end) are merged; every committed visit up to `bound` is among them. */
  end: number;
  bound: number;
  /** Entries of `order` written in committed transactions. */
  done: number;
  /** Entries written, including the open transaction's. */
  next: number;
}

export function createVisitorIndex(db: Sqlite, { mergeAt = 16_384, chunk = 128 } = {}): VisitorIndex {
  // The tail as a log in insertion (id) order, and each visitor's ids in it by hash.
  let hashes = new Int32Array(1024);
  let ids = new Float64Array(1024);
  let keys = new Uint32Array(1024);
  let length = 0;
  let committedLength = 0;
  const byVisitor = new Map<number, number | number[]>();

  const append = (siteId: string, vid: string, id: number) => {
    if (length === ids.length) {
      const grow = <T extends Int32Array | Float64Array | Uint32Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      hashes = grow(hashes);
      ids = grow(ids);
      keys = grow(keys);
    }
    const h = visitorHash(siteId, vid);
    hashes[length] = h;
    ids[length] = id;
    keys[length] = sortKey(siteId, vid);
    length++;
    const known = byVisitor.get(h);
    if (known === undefined) byVisitor.set(h, id);
    else if (typeof known === 'number') byVisitor.set(h, [known, id]);
    else known.push(id);
  };
  /** Log entry `i` leaves the tail's lookup. */
  const forget = (i: number) => {
    const h = hashes[i]!;
    const id = ids[i]!;
    const known = byVisitor.get(h);
    if (known === id) byVisitor.delete(h);
    else if (Array.isArray(known)) {
      const at = known.indexOf(id);
      if (at >= 0) known.splice(at, 1);
      if (known.length === 1) byVisitor.set(h, known[0]!);
    }
  };

  const mark = db.prepare('SELECT value FROM settings WHERE key = ?').get(MARK) as { value: string } | undefined;
  const upto = Number(mark?.value ?? 0);
  for (const [id, siteId, vid] of db.prepare('SELECT id, site_id, vid FROM visits WHERE id > ? ORDER BY id').raw().iterate(upto) as Iterable<[number, string, string]>) {
    append(siteId, vid, id);
  }
  committedLength = length;

  // The row is read back by id: a rolled-back id indexes nothing, or the visit that reused it.
  let insert: Statement | null = null;
  let setMark: Statement | null = null;
  let merge: Merge | null = null;

  // The mark: the highest visit id committed, read from the table, not from the log. A job that
  // failed alone in its savepoint leaves its ids in the log (the batch committed), and one of
  // them, reused by a later visit past the merge, must not fall under the mark.
  const lastVisit = db.prepare('SELECT MAX(id) FROM visits').pluck();
  const plan = () => {
    const end = committedLength;
    const order = new BigUint64Array(end);
    const halves = new Uint32Array(order.buffer);
    for (let i = 0; i < end; i++) {
      halves[2 * i] = i;
      halves[2 * i + 1] = keys[i]!;
    }
    order.sort();
    merge = { halves, end, bound: Number(lastVisit.get() ?? 0), done: 0, next: 0 };
  };

  return {
    added: append,
    tail(siteId, vid) {
      const known = byVisitor.get(visitorHash(siteId, vid));
      return known === undefined ? [] : typeof known === 'number' ? [known] : known;
    },
    step() {
      const m = merge;
      if (!m || m.next >= m.end) return;
      insert ??= db.prepare('INSERT OR IGNORE INTO visitor_visits (site_id, vid, ts, visit) SELECT site_id, vid, ts, id FROM visits WHERE id = ?');
      setMark ??= db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
      const stop = Math.min(m.end, m.next + chunk);
      for (let p = m.next; p < stop; p++) {
        const id = ids[m.halves[2 * p]!]!;
        if (id <= m.bound) insert.run(id);
      }
      m.next = stop;
      if (m.next === m.end) setMark.run(MARK, String(m.bound));
    },
    committed() {
      committedLength = length;
      const m = merge;
      if (m) {
        // The chunks just committed are in visitor_visits: their visits leave the lookup.
        for (let p = m.done; p < m.next; p++) forget(m.halves[2 * p]!);
        m.done = m.next;
        if (m.done === m.end) {
          hashes.copyWithin(0, m.end, length);
          ids.copyWithin(0, m.end, length);
          keys.copyWithin(0, m.end, length);
          length -= m.end;
          committedLength = length;
          merge = null;
        }
      }
      if (!merge && committedLength >= mergeAt) plan();
    },
    rolledBack() {
      for (let i = committedLength; i < length; i++) forget(i);
      length = committedLength;
      if (merge) merge.next = merge.done;
    },
  };
}
