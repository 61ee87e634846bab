// Visitors shared by every collector process. One row per (site, visitor) in visitors_seen:
// - it is the lock that serialises a visitor's writes: a batch locks the rows of all its
//   visitors in one statement, in (site, vid) order, so concurrent batches never deadlock on
//   them (row locks live in the rows: thousands per batch cost no shared lock-table space);
// - it holds the visitor's last hit time, so the 30-minute visit rule holds when a visitor's
//   pageviews land on different processes (ingest.ts's in-memory map sees only its own).
// The same statement records the batch's hit times and answers the previous ones.
// Orders take advisory locks (few per batch).
import { VISIT_GAP } from '../ingest.js';
import type { HitRecord } from '../store.js';
import type { PgClient } from './pg-pool.js';

/** Each locked visitor's last hit time before this batch (null: never seen), by `site\nvid`. */
export type LastSeen = Map<string, number | null>;

/** Lock keys that jobs hand to the batcher. Site ids are slugs: never a newline. */
export const visitorLock = (siteId: string, vid: string) => `v:${siteId}\n${vid}`;
/** A visitor's lock that also records a hit at `ts` as its last. */
export const hitLock = (siteId: string, vid: string, ts: number) => `h:${siteId}\n${vid}\n${ts}`;
export const orderLock = (siteId: string, order: string) => `o:${siteId}\n${order}`;

/** Takes every lock of a batch: order locks, then visitor rows (recording hit times). */
export async function lockAll(c: PgClient, keys: string[]): Promise<LastSeen> {
  const orders = keys.filter((k) => k.startsWith('o:'));
  if (orders.length > 0) {
    await c.query(
      `SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k) s ORDER BY h`,
      [orders],
    );
  }
  // Latest hit time per visitor in this batch; null for visitors locked without a hit.
  const visitors = new Map<string, number | null>();
  for (const k of keys) {
    if (k.startsWith('o:')) continue;
    const [site, vid, ts] = k.slice(2).split('\n') as [string, string, string | undefined];
    const id = `${site}\n${vid}`;
    const prev = visitors.get(id) ?? null;
    visitors.set(id, ts === undefined ? prev : Math.max(prev ?? 0, Number(ts)));
  }
  return visitors.size > 0 ? lockVisitors(c, visitors) : new Map();
}

/**
 * Locks visitors' rows (creating them), in (site, vid) order, moves each last hit time to the
 * batch's latest, and answers what it was before. `prev_ts` exists for that: PostgreSQL 15's
 * RETURNING sees only new values, so the update copies the old one there first.
 */
export async function lockVisitors(c: PgClient, visitors: Map<string, number | null>): Promise<LastSeen> {
  const ids = [...visitors.keys()].map((id) => id.split('\n') as [string, string]);
  const r = await c.query({
    // Prepared once per connection: every batch runs it.
    name: 'linktrail-lock-visitors',
    text: `INSERT INTO visitors_seen (site_id, vid, last_ts)
     SELECT s, v, t FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(s, v, t) ORDER BY s, v
     ON CONFLICT (site_id, vid) DO UPDATE
       SET prev_ts = visitors_seen.last_ts, last_ts = GREATEST(visitors_seen.last_ts, excluded.last_ts)
     RETURNING site_id, vid, prev_ts`,
    values: [ids.map((v) => v[0]), ids.map((v) => v[1]), [...visitors.values()]],
  });
  return new Map(r.rows.map((row) => [`${row.site_id}\n${row.vid}`, row.prev_ts === null ? null : Number(row.prev_ts)]));
}

/**
 * The hits with the shared visit rule applied: a pageview that its process took for a fresh
 * arrival (a visit that is not a touch) continues the visit when any process saw the visitor
 * within 30 minutes. Never turns a non-visit into a visit. Same test as ingest.ts's map.
 */
export function shareVisitDecisions(hits: HitRecord[], lastSeen: LastSeen): HitRecord[] {
  const last = new Map(lastSeen);
  return hits.map((h) => {
    if (h.bot) return h;
    const key = `${h.siteId}\n${h.vid}`;
    const prev = last.get(key) ?? null;
    last.set(key, prev === null ? h.ts : Math.max(prev, h.ts));
    const freshOnlyHere = h.visit && !h.touch;
    return freshOnlyHere && prev !== null && Math.abs(h.ts - prev) <= VISIT_GAP ? { ...h, visit: false } : h;
  });
}
