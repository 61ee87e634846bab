// Visitors shared by every collector process. One row per (site, visitor) in visitors_seen:
// - it is the lock that serialises a visitor's writes: a batch locks the rows of all its
//   visitors in one statement, in (site, vid) order, so concurrent batches never deadlock on
//   them (row locks live in the rows: thousands per batch cost no shared lock-table space);
// - it holds what the 30-minute visit rule needs (SPEC §4), whichever process got a pageview
//   and in whatever order batches commit: the visitor's last hit time, the first hit of the
//   run of hits that leads to it (each within 30 minutes of the one before), and the last hit
//   before that run. A hit is a visit when it is a touch or no hit came in the 30 minutes
//   before it; a hit that commits after a later one (batches of one process commit 4 at once,
//   processes race) may take the visit from it (pg-writes.ts takes it back).
// The lock statement also records the batch's hits when they come in order, the usual case;
// the batch's hit statement corrects what it could not know. Orders take advisory locks.
import { VISIT_GAP } from '../ingest.js';
import type { HitRecord } from '../store.js';
import type { PgClient } from './pg-pool.js';

/** What visitors_seen holds of a visitor (all null: no hit yet). */
export interface VisitorState {
  /** The latest hit's time. */
  last: number | null;
  /** The first hit of the run that ends at `last`; null when not known (rows of before migration 6). */
  first: number | null;
  /** The latest hit before `first`; null: none. */
  before: number | null;
}

/** A visitor's row as a batch found it and as its lock statement left it, by `site\nvid`. */
export interface LockedVisitor {
  was: VisitorState;
  written: VisitorState;
}
export type LastSeen = Map<string, LockedVisitor>;

/** Lock keys that jobs hand to the batcher. Site ids are slugs: never a newline. */
export const visitorLock = (siteId: string, vid: string) => `v:${siteId}\n${vid}`;
/** A visitor's lock that also records a hit at `ts`. */
export const hitLock = (siteId: string, vid: string, ts: number) => `h:${siteId}\n${vid}\n${ts}`;
export const orderLock = (siteId: string, order: string) => `o:${siteId}\n${order}`;

/** A visitor's hits in a batch: the earliest and the latest (null: locked without a hit). */
type Span = { lo: number; hi: number } | null;

/** Takes every lock of a batch: order locks, then visitor rows (recording hit times). */
export async function lockAll(c: PgClient, keys: string[]): Promise<LastSeen> {
  const orders = keys.filter((k) => k.startsWith('o:'));
  if (orders.length > 0) {
    await c.query(
      `SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k) s ORDER BY h`,
      [orders],
    );
  }
  const visitors = new Map<string, Span>();
  for (const k of keys) {
    if (k.startsWith('o:')) continue;
    const [site, vid, at] = k.slice(2).split('\n') as [string, string, string | undefined];
    const id = `${site}\n${vid}`;
    const span = visitors.get(id) ?? null;
    if (at === undefined) visitors.set(id, span);
    else {
      const ts = Number(at);
      visitors.set(id, span ? { lo: Math.min(span.lo, ts), hi: Math.max(span.hi, ts) } : { lo: ts, hi: ts });
    }
  }
  return visitors.size > 0 ? lockVisitors(c, visitors) : new Map();
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Locks visitors' rows (creating them), in (site, vid) order, and records each visitor's hits
 * of the batch as if they came after every stored one (pg-writes.ts corrects the rest). Answers
 * each row as it was and as written. `prev_ts` exists for that: PostgreSQL 15's RETURNING sees
 * only new values, so the update copies the old last time there first; the run's first hit
 * and the hit before it are new values only when the batch starts a new run (then the old ones
 * are not needed).
 */
export async function lockVisitors(c: PgClient, visitors: Map<string, Span>): Promise<LastSeen> {
  const ids = [...visitors.keys()].map((id) => id.split('\n') as [string, string]);
  const spans = [...visitors.values()];
  const r = await c.query({
    // Prepared once per connection: every batch runs it.
    name: 'linktrail-lock-visitors',
    text: `INSERT INTO visitors_seen AS o (site_id, vid, last_ts, first_ts)
     SELECT s, v, hi, lo FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(s, v, lo, hi) ORDER BY s, v
     ON CONFLICT (site_id, vid) DO UPDATE SET
       prev_ts = o.last_ts,
       last_ts = GREATEST(o.last_ts, excluded.last_ts),
       first_ts = CASE WHEN excluded.first_ts IS NOT NULL AND (o.last_ts IS NULL OR excluded.first_ts > o.last_ts + $5)
         THEN excluded.first_ts ELSE o.first_ts END,
       before_ts = CASE WHEN excluded.first_ts IS NOT NULL AND (o.last_ts IS NULL OR excluded.first_ts > o.last_ts + $5)
         THEN o.last_ts ELSE o.before_ts END
     RETURNING site_id, vid, prev_ts, last_ts, first_ts, before_ts`,
    values: [ids.map((v) => v[0]), ids.map((v) => v[1]), spans.map((s) => s?.lo ?? null), spans.map((s) => s?.hi ?? null), VISIT_GAP],
  });
  const locked: LastSeen = new Map();
  for (const row of r.rows) {
    const written = { last: num(row.last_ts), first: num(row.first_ts), before: num(row.before_ts) };
    // prev_ts is null in a new row, or one without hits: no hit before. Otherwise the run is the
    // old one unless the lock statement began a new one, and then the old run is not needed.
    const last = num(row.prev_ts);
    const was = last === null ? { last: null, first: null, before: null } : { last, first: written.first, before: written.before };
    locked.set(`${row.site_id}\n${row.vid}`, { was, written });
  }
  return locked;
}

/** Locks visitors without recording a hit (a conversion found its visitor through a click id). */
export const lockVisitorsOnly = (c: PgClient, ids: Array<[string, string]>) => lockVisitors(c, new Map(ids.map(([s, v]) => [`${s}\n${v}`, null])));

/** What the shared state makes of a batch's hits. */
export interface VisitPlan {
  /** The hits, their visit flags decided here for pageviews that are no touch, reload or bot. */
  hits: HitRecord[];
  /** Stored visits to take back: each visitor's non-touch visits in (from, to]. */
  revoke: Array<{ siteId: string; vid: string; from: number; to: number }>;
  /** Rows to write where the lock statement's guess was wrong. */
  rows: Array<{ siteId: string; vid: string; state: VisitorState }>;
}

/**
 * Whether a stored hit of the visitor lies in [from, to] (the rare case the row cannot tell:
 * an old backfill, or a run whose start is unknown). Read by the time index, as server hits'
 * predecessors are (ingest.ts).
 */
export type StoredHitProbe = (siteId: string, vid: string, from: number, to: number) => Promise<boolean>;

/**
 * Decides the visits of a batch's hits from the visitors' shared rows (locked), whatever the
 * order in which hits reach the database: the first hit of a visitor with none in the 30
 * minutes before it is the visit, and a hit that comes in before a stored visit, within 30
 * minutes of it, takes that visit (when it was no touch: a touch always is one).
 */
export async function planVisits(hits: HitRecord[], locked: LastSeen, probe: StoredHitProbe): Promise<VisitPlan> {
  const out = hits.slice();
  const revoke: VisitPlan['revoke'] = [];
  const byVisitor = new Map<string, number[]>();
  hits.forEach((h, i) => {
    if (h.bot) return;
    const key = `${h.siteId}\n${h.vid}`;
    (byVisitor.get(key) ?? byVisitor.set(key, []).get(key)!).push(i);
  });
  const rows: VisitPlan['rows'] = [];
  for (const [key, list] of byVisitor) {
    const row = locked.get(key);
    if (!row) throw new Error('a hit of a visitor whose row the batch did not lock');
    // In time order; equal times in the order received.
    list.sort((a, b) => hits[a]!.ts - hits[b]!.ts || a - b);
    const s: VisitorState = { ...row.was };
    let previous: number | null = null;
    for (const i of list) {
      const h = hits[i]!;
      const t = h.ts;
      let fresh: boolean;
      if (s.last === null) {
        fresh = true;
        Object.assign(s, { last: t, first: t, before: null });
      } else if (t > s.last + VISIT_GAP) {
        fresh = true;
        Object.assign(s, { before: s.last, first: t, last: t });
      } else if (t >= s.last) {
        fresh = false;
        s.last = t;
      } else if (s.first !== null && t >= s.first) {
        fresh = false;
      } else {
        // Before hits already stored: the visit after it, within 30 minutes, is now its own.
        revoke.push({ siteId: h.siteId, vid: h.vid, from: t, to: t + VISIT_GAP });
        if (s.first !== null && t >= s.first - VISIT_GAP) {
          // Just before the run: its first hit now, unless the hit before the run is near.
          fresh = s.before === null || t - s.before > VISIT_GAP;
          s.first = fresh ? t : null;
        } else {
          fresh = !(previous !== null && t - previous <= VISIT_GAP) && !(await probe(h.siteId, h.vid, t - VISIT_GAP, t));
          if (s.first !== null) s.before = Math.max(s.before ?? t, t);
        }
      }
      previous = t;
      if (h.nav === null && !h.touch && h.visit !== fresh) out[i] = { ...h, visit: fresh };
    }
    const w = row.written;
    if (w.last !== s.last || w.first !== s.first || w.before !== s.before) {
      const { siteId, vid } = hits[list[0]!]!;
      rows.push({ siteId, vid, state: s });
    }
  }
  return { hits: out, revoke, rows };
}
