// The per-visitor index of visits (visitor_visits), written in key-sorted runs, as an LSM tree
// writes its memtable: indexing each new visit at once put one write on a random leaf page per
// pageview, two thirds of the bytes a new visitor's pageview wrote and a quarter of the writer's
// CPU (BENCHMARKS.md).
// The visits past the merged mark (the tail) are found by their row ids, kept in memory per
// (site, visitor); once the tail holds `mergeAt` visits, it goes into visitor_visits in key
// order, `chunk` entries with each following batch, so a merge writes each leaf about once.
// The visits table is the durable record: on opening, the tail is read back from the visits
// past the mark. Only the connection that writes the visits (the ingest path's) keeps one.
import type { Statement } from 'better-sqlite3';
import type { Sqlite } from './open-sqlite.js';

/** The settings key of the highest visit id that visitor_visits is known to hold. */
export const MARK = 'visitor_index_upto';

export interface VisitorIndex {
  /** A visit row just inserted (in the open transaction). */
  added(siteId: string, vid: string, id: number): void;
  /** Row ids of the visitor's visits not yet merged (may name rows rolled back since: check them). */
  tail(siteId: string, vid: string): readonly number[];
  /** Inside each batch's transaction, before COMMIT: the next chunk of a merge under way. */
  step(): void;
  /** After a COMMIT. */
  committed(): void;
  /** After a rollback: the open transaction's merge progress is undone. */
  rolledBack(): void;
}

interface Merge {
  /**
   * The tail's keys at the start, in buckets by site and the visitor id's first two
   * characters, the buckets in key order: each step sorts only the buckets it writes (sorting
   * the whole tail at once held the writer ~10 ms).
   */
  buckets: string[][];
  /** Every id up to here goes into visitor_visits in this merge. */
  bound: number;
  /** Buckets written in committed transactions. */
  done: number;
  /** Buckets written, including the open transaction's. */
  next: number;
}

const keyOf = (siteId: string, vid: string) => `${siteId}\n${vid}`;

export function createVisitorIndex(db: Sqlite, { mergeAt = 16_384, chunk = 128 } = {}): VisitorIndex {
  const ids = new Map<string, number[]>();
  let size = 0;
  // The highest id added, and the highest committed: a rolled-back id may come back for another visit.
  let max = 0;
  let committedMax = 0;
  const add = (key: string, id: number) => {
    const list = ids.get(key);
    if (list) list.push(id);
    else ids.set(key, [id]);
    size++;
    if (id > max) max = id;
  };

  const mark = db.prepare('SELECT value FROM settings WHERE key = ?').get(MARK) as { value: string } | undefined;
  const upto = Number(mark?.value ?? 0);
  for (const [id, siteId, vid] of db.prepare('SELECT id, site_id, vid FROM visits WHERE id > ? ORDER BY id').raw().iterate(upto) as Iterable<[number, string, string]>) {
    add(keyOf(siteId, vid), id);
  }
  committedMax = max;

  // The row is read back by id, so a rolled-back visit (or another's that reused its id) is skipped.
  let insert: Statement | null = null;
  let setMark: Statement | null = null;
  let merge: Merge | null = null;

  const plan = () => {
    const byBucket = new Map<string, string[]>();
    for (const key of ids.keys()) {
      const bucket = key.slice(0, key.indexOf('\n') + 3);
      const keys = byBucket.get(bucket);
      if (keys) keys.push(key);
      else byBucket.set(bucket, [key]);
    }
    const buckets = [...byBucket.keys()].sort().map((b) => byBucket.get(b)!);
    merge = { buckets, bound: committedMax, done: 0, next: 0 };
  };

  /** Buckets [from, to) are committed in visitor_visits: their ids up to the bound leave the tail. */
  const release = (m: Merge, from: number, to: number) => {
    for (let b = from; b < to; b++) {
      for (const key of m.buckets[b]!) {
        const list = ids.get(key);
        if (!list) continue;
        const kept = list.filter((id) => id > m.bound);
        size -= list.length - kept.length;
        if (kept.length > 0) ids.set(key, kept);
        else ids.delete(key);
      }
    }
  };

  return {
    added: (siteId, vid, id) => add(keyOf(siteId, vid), id),
    tail: (siteId, vid) => ids.get(keyOf(siteId, vid)) ?? [],
    step() {
      const m = merge;
      if (!m || m.next >= m.buckets.length) return;
      insert ??= db.prepare(
        'INSERT OR IGNORE INTO visitor_visits (site_id, vid, ts, visit) SELECT site_id, vid, ts, id FROM visits WHERE id = ? AND site_id = ? AND vid = ?',
      );
      setMark ??= db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
      let budget = chunk;
      while (budget > 0 && m.next < m.buckets.length) {
        for (const key of m.buckets[m.next]!.sort()) {
          const cut = key.indexOf('\n');
          const siteId = key.slice(0, cut);
          const vid = key.slice(cut + 1);
          for (const id of ids.get(key) ?? []) {
            if (id > m.bound) continue;
            insert.run(id, siteId, vid);
            budget--;
          }
        }
        m.next++;
      }
      if (m.next === m.buckets.length) setMark.run(MARK, String(m.bound));
    },
    committed() {
      committedMax = max;
      const m = merge;
      if (m) {
        release(m, m.done, m.next);
        m.done = m.next;
        if (m.done === m.buckets.length) merge = null;
      }
      if (!merge && size >= mergeAt) plan();
    },
    rolledBack() {
      max = committedMax;
      if (merge) merge.next = merge.done;
    },
  };
}
