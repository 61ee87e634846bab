// Visitors shared by every collector process. One row per (site, visitor) in visitors_seen:
// - it is the lock that serialises a visitor's writes: a batch locks the rows of all its
//   visitors first, sorted, so concurrent batches never deadlock on them (row locks live in
//   the rows, so thousands of visitors per batch cost no shared lock-table space);
// - it holds the visitor's last hit time, so the 30-minute visit rule holds when a visitor's
//   pageviews land on different processes (ingest.ts's in-memory map sees only its own).
// Orders take advisory locks (few per batch).
import { VISIT_GAP } from '../ingest.js';
import type { HitRecord } from '../store.js';
import type { PgClient } from './pg-pool.js';

/** Lock keys that jobs hand to the batcher. Site ids are slugs: never a newline. */
export const visitorLock = (siteId: string, vid: string) => `v:${siteId}\n${vid}`;
export const orderLock = (siteId: string, order: string) => `o:${siteId}\n${order}`;

const split = (key: string): [string, string] => {
  const nl = key.indexOf('\n');
  return [key.slice(2, nl), key.slice(nl + 1)];
};

/** Takes every lock of a batch: order locks, then visitor rows, each kind in sorted order. */
export async function lockAll(c: PgClient, keys: string[]): Promise<void> {
  const unique = [...new Set(keys)];
  const orders = unique.filter((k) => k.startsWith('o:'));
  if (orders.length > 0) {
    await c.query(
      `SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k) s ORDER BY h`,
      [orders],
    );
  }
  const visitors = unique.filter((k) => k.startsWith('v:')).map(split);
  if (visitors.length > 0) await lockVisitors(c, visitors);
}

/** Locks visitors' rows (creating them), in (site, vid) order. */
export async function lockVisitors(c: PgClient, visitors: Array<[string, string]>): Promise<void> {
  await c.query(
    `INSERT INTO visitors_seen (site_id, vid) SELECT s, v FROM unnest($1::text[], $2::text[]) AS u(s, v) ORDER BY s, v
     ON CONFLICT (site_id, vid) DO UPDATE SET last_ts = visitors_seen.last_ts`,
    [visitors.map((v) => v[0]), visitors.map((v) => v[1])],
  );
}

/**
 * Records the hits' times as their visitors' last hits (rows already locked by the batch) and
 * answers the hits with the shared visit rule applied: a pageview that this process took for
 * a fresh arrival (a visit that is not a touch) continues the visit when another process saw
 * the visitor within 30 minutes. Never turns a non-visit into a visit.
 */
export async function shareVisitDecisions(c: PgClient, hits: HitRecord[]): Promise<HitRecord[]> {
  const seen = hits.filter((h) => !h.bot);
  if (seen.length === 0) return hits;
  const r = await c.query(
    `UPDATE visitors_seen v SET last_ts = GREATEST(old.last_ts, u.ts)
     FROM (SELECT s, vd, MAX(t) AS ts FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(s, vd, t) GROUP BY s, vd) u
     JOIN visitors_seen old ON old.site_id = u.s AND old.vid = u.vd
     WHERE v.site_id = u.s AND v.vid = u.vd
     RETURNING v.site_id, v.vid, old.last_ts AS prev`,
    [seen.map((h) => h.siteId), seen.map((h) => h.vid), seen.map((h) => h.ts)],
  );
  const last = new Map<string, number | null>();
  for (const row of r.rows) last.set(`${row.site_id}\n${row.vid}`, row.prev === null ? null : Number(row.prev));
  return hits.map((h) => {
    if (h.bot) return h;
    const key = `${h.siteId}\n${h.vid}`;
    const prev = last.get(key) ?? null;
    last.set(key, prev === null ? h.ts : Math.max(prev, h.ts));
    const freshOnlyHere = h.visit && !h.touch;
    return freshOnlyHere && prev !== null && Math.abs(h.ts - prev) <= VISIT_GAP ? { ...h, visit: false } : h;
  });
}
