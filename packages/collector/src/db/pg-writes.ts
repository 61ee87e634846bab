// The PostgreSQL store's ingest and attribution writes. Several collector processes may write
// for one visitor at once, so correctness rests on the database, never on process memory:
// unique keys with ON CONFLICT for clicks, orders and customers; per-visitor row locks and
// per-order advisory locks (taken by the batcher, pg-visitors.ts) around attribution's
// read-then-insert; and the visitor's last hit time shared by every process.
import type { Attribution, AttributionInput, ClickCandidate, VisitCandidate } from '../attribution.js';
import { RollupBatch, type RollupFacts } from '../rollups.js';
import { hashVisitor } from '../sketch.js';
import type { ClickRecord, ConversionRecord, HitRecord, OrderStatus, StoredConversion } from '../store.js';
import type { PgClient } from './pg-pool.js';
import { appendPendingSql, NO_PENDING, pendingValues } from './pg-rollups.js';
import { hitLock, lockVisitorsOnly, orderLock, planVisits, visitorLock, type LastSeen, type VisitPlan } from './pg-visitors.js';
import { cidNeedsKey, randomId, touchCidTime } from '../ids.js';
import { CANDIDATE_LIMIT, countOrderRow, landedClick, newlyStored, str, toClickCandidate, toConversion, toItem, toVisitCandidate } from './rows.js';

/** What every job of a batch transaction shares: its visitors' last hit times, its rollup changes. */
export interface BatchContext {
  lastSeen: LastSeen;
  /** Appended as pending once before COMMIT (pg-rollups.ts); a rolled-back batch's changes go with it. */
  rollup: RollupBatch;
  /** Whether the batch appended pending rollup changes (then a fold is due after COMMIT). */
  pending: boolean;
}

const DAY_MS = 86_400_000;
const clickFacts = (channel: string, source: string | null, code: string, event: string | null): RollupFacts => ({
  channel, source, code, event, utm_source: null, utm_medium: null, utm_campaign: null,
});

/** The locks a batch of hits needs: every visitor it records a hit for (bots are not visitors). */
export const hitLocks = (hits: HitRecord[]): string[] => hits.filter((h) => !h.bot).map((h) => hitLock(h.siteId, h.vid, h.ts));

const isClickCandidate = (h: HitRecord) => Boolean(h.code && h.cid && h.nav === null && !h.bot);
/** A preview fetcher on a landing with ?affiliate= (SPEC §4: counted apart, as previews). */
const isPreviewCandidate = (h: HitRecord) => Boolean(h.code && h.cid && h.nav === null && h.bot);

/** Writes hits in order: clicks one by one (each decides on its cid), then every hit and visit in one statement. */
export async function writeHits(c: PgClient, received: HitRecord[], ctx: BatchContext): Promise<void> {
  const plan = await planVisits(received, ctx.lastSeen, async (siteId, vid, from, to) => {
    const r = await c.query('SELECT 1 FROM hits WHERE ts >= $1 AND ts <= $2 AND site_id = $3 AND vid = $4 LIMIT 1', [from, to, siteId, vid]);
    return r.rows.length > 0;
  });
  if (plan.revoke.length > 0) await revokeVisits(c, plan.revoke, ctx.rollup);
  const { hits, rows } = plan;
  const clicks: number[] = [];
  for (const h of hits) {
    clicks.push(isClickCandidate(h) && (await writeLandingClick(c, h, ctx.rollup)) ? 1 : 0);
    if (isPreviewCandidate(h)) await writeLandingClick(c, h, ctx.rollup, 'preview');
  }
  const col = <T>(pick: (h: HitRecord, i: number) => T, list: HitRecord[] = hits) => list.map(pick);
  const visits = hits.filter((h) => h.visit);
  // The visits' rollup changes go out with them; the batch appends the rest (clicks, orders) before COMMIT.
  const rollup = new RollupBatch();
  for (const h of visits) {
    const { utm } = h;
    const facts = { channel: h.channel, source: h.source, code: h.code, event: h.event, utm_source: utm.source, utm_medium: utm.medium, utm_campaign: utm.campaign };
    rollup.add(h.siteId, Math.floor(h.ts / DAY_MS), facts, { visits: 1, hash: hashVisitor(h.vid) });
  }
  const pending = pendingValues(rollup);
  if (pending) ctx.pending = true;
  // One prepared statement for hits, visits and their rollup changes: a batch of pageviews
  // costs BEGIN, the visitor locks, this, and COMMIT.
  await c.query({
    name: 'linktrail-hits',
    text: INSERT_HITS,
    values: [
      col((h) => h.siteId), col((h) => h.ts), col((h) => h.vid), col((h) => h.cid), col((h) => h.event), col((h) => h.url),
      col((h) => h.referrer), col((h) => h.channel), col((h) => h.source), col((h) => h.code), col((h) => h.utm.source),
      col((h) => h.utm.medium), col((h) => h.utm.campaign), col((h) => h.utm.term), col((h) => h.utm.content),
      col((h) => h.nav), col((h) => (h.visit ? 1 : 0)), col((_, i) => clicks[i]),
      col((h) => h.siteId, visits), col((h) => h.ts, visits), col((h) => h.vid, visits), col((h) => h.cid, visits),
      col((h) => h.event, visits), col((h) => h.channel, visits), col((h) => h.source, visits), col((h) => h.code, visits),
      col((h) => h.utm.source, visits), col((h) => h.utm.medium, visits), col((h) => h.utm.campaign, visits),
      col((h) => (h.touch ? 1 : 0), visits),
      ...(pending ?? NO_PENDING),
      rows.map((r) => r.siteId), rows.map((r) => r.vid), rows.map((r) => r.state.last), rows.map((r) => r.state.first),
      rows.map((r) => r.state.before),
    ],
  });
  // Click ids that neither clicks nor their own form lead back to (rare: see migration 0005).
  const keyed = visits.filter((h) => cidNeedsKey(h.cid));
  if (keyed.length > 0) {
    await c.query(
      'INSERT INTO visit_cids (site_id, cid, vid) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING',
      [col((h) => h.siteId, keyed), col((h) => h.cid, keyed), col((h) => h.vid, keyed)],
    );
  }
}

const INSERT_HITS = `
WITH p AS (${appendPendingSql(31)}),
s AS (
  UPDATE visitors_seen o SET last_ts = u.l, first_ts = u.f, before_ts = u.b
  FROM unnest($46::text[], $47::text[], $48::bigint[], $49::bigint[], $50::bigint[]) AS u(s, v, l, f, b)
  WHERE o.site_id = u.s AND o.vid = u.v
),
h AS (
  INSERT INTO hits (site_id, ts, vid, cid, event, url, referrer, channel, source, code,
    utm_source, utm_medium, utm_campaign, utm_term, utm_content, nav, visit, click)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::smallint[], $18::smallint[])
)
INSERT INTO visits (site_id, ts, vid, cid, event, channel, source, code, utm_source, utm_medium, utm_campaign, touch)
SELECT * FROM unnest($19::text[], $20::bigint[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[],
  $27::text[], $28::text[], $29::text[], $30::smallint[])`;

/**
 * Takes back stored visits that a hit arriving late now comes before, within 30 minutes: their
 * rows, their hits' flags and their rollup counts. A sketch can't drop a visitor: one stays in
 * the taken-back visit's group, where reports never count more visitors than visits.
 */
async function revokeVisits(c: PgClient, revoke: VisitPlan['revoke'], rollup: RollupBatch): Promise<void> {
  const r = await c.query(
    `WITH r AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS r(s, v, a, b)),
     d AS (
       DELETE FROM visits x WHERE x.touch = 0
         AND EXISTS (SELECT 1 FROM r WHERE x.site_id = r.s AND x.vid = r.v AND x.ts > r.a AND x.ts <= r.b)
       RETURNING x.site_id, x.vid, x.ts, x.event, x.channel, x.source, x.code, x.utm_source, x.utm_medium, x.utm_campaign
     ),
     h AS (
       UPDATE hits SET visit = 0 WHERE ctid IN (
         SELECT DISTINCT ON (d.site_id, d.vid, d.ts) k.ctid FROM d
         JOIN hits k ON k.ts = d.ts AND k.site_id = d.site_id AND k.vid = d.vid AND k.channel = d.channel AND k.visit = 1 AND k.nav IS NULL)
     )
     SELECT * FROM d`,
    [revoke.map((v) => v.siteId), revoke.map((v) => v.vid), revoke.map((v) => v.from), revoke.map((v) => v.to)],
  );
  for (const v of r.rows) {
    const facts: RollupFacts = {
      channel: String(v.channel), source: str(v.source), code: str(v.code), event: str(v.event),
      utm_source: str(v.utm_source), utm_medium: str(v.utm_medium), utm_campaign: str(v.utm_campaign),
    };
    rollup.add(String(v.site_id), Math.floor(Number(v.ts) / DAY_MS), facts, { visits: -1 });
  }
}

/**
 * A landing with a tracking code: a new cid is a click; a known one is the landing of a
 * shortlink redirect, the same click now with its visitor. Someone else's landing URL,
 * shared on, is a click of this visitor's own; a person following what a preview fetcher
 * opened makes the preview a click. ON CONFLICT keeps this right when both race. True when
 * this hit counts as a click.
 */
async function writeLandingClick(c: PgClient, h: HitRecord, rollup: BatchContext['rollup'], kind: 'click' | 'preview' = 'click'): Promise<boolean> {
  const inserted = await c.query(
    `INSERT INTO clicks (site_id, cid, ts, vid, code, event, channel, source, kind)
     VALUES ($1, $2, $3, $4, $5, COALESCE((SELECT event FROM codes WHERE site_id = $1 AND code = $5), $6), $7, $8, $9)
     ON CONFLICT (site_id, cid) DO NOTHING RETURNING event`,
    [h.siteId, h.cid, h.ts, h.vid, h.code, h.event, h.channel, h.source, kind],
  );
  if (inserted.rowCount === 1) {
    rollup.add(h.siteId, Math.floor(h.ts / DAY_MS), clickFacts(h.channel, h.source, h.code!, str(inserted.rows[0].event)), kind === 'click' ? { clicks: 1 } : { previews: 1 });
    return kind === 'click';
  }
  // A preview of a shortlink's landing was counted at its redirect (the same cid).
  if (kind === 'preview') return false;
  const known = (
    await c.query('SELECT vid, kind, ts, code, event, channel, source FROM clicks WHERE site_id = $1 AND cid = $2 FOR UPDATE', [h.siteId, h.cid])
  ).rows[0];
  if (known && known.vid !== null && known.vid !== h.vid) {
    h.cid = randomId(12);
    return writeLandingClick(c, h, rollup);
  }
  if (!known) return false;
  // The redirect knew only the code's event and no source: the landing's page tells them.
  const landed = landedClick(known, h);
  await c.query("UPDATE clicks SET vid = $1, kind = 'click', event = $2, source = $3 WHERE site_id = $4 AND cid = $5", [
    h.vid, landed.event, landed.source, h.siteId, h.cid,
  ]);
  for (const { facts, change } of landed.moves) rollup.add(h.siteId, Math.floor(Number(known.ts) / DAY_MS), facts, change);
  return known.kind === 'preview';
}

export async function writeClick(c: PgClient, k: ClickRecord, { rollup }: BatchContext): Promise<void> {
  const r = await c.query(
    `INSERT INTO clicks (site_id, cid, ts, vid, code, event, channel, source, kind)
     VALUES ($1, $2, $3, $4, $5, $6, 'affiliate', NULL, $7) ON CONFLICT DO NOTHING`,
    [k.siteId, k.cid, k.ts, k.vid, k.code, k.event, k.kind],
  );
  if (r.rowCount !== 1) return;
  rollup.add(k.siteId, Math.floor(k.ts / DAY_MS), clickFacts('affiliate', null, k.code, k.event), k.kind === 'click' ? { clicks: 1 } : { previews: 1 });
}

type Queryable = Pick<PgClient, 'query'>;

export async function readConversion(c: Queryable, siteId: string, order: string): Promise<StoredConversion | null> {
  const r = await c.query('SELECT * FROM conversions WHERE site_id = $1 AND order_id = $2', [siteId, order]);
  if (r.rows.length === 0) return null;
  const items = await c.query(
    'SELECT type, qty, price_minor FROM conversion_items WHERE site_id = $1 AND order_id = $2 ORDER BY idx',
    [siteId, order],
  );
  return toConversion(r.rows[0], items.rows.map(toItem));
}

/** The visitor's latest clicks, plus (however many came after it) the latest eligible one. */
async function clickCandidates(
  c: PgClient, siteId: string, vid: string | null, cid: string | null, ts: number, since: number, event: string | null,
): Promise<ClickCandidate[]> {
  const select = `SELECT k.cid, k.ts, k.code, c.affiliate, c.event AS code_event FROM clicks k
    LEFT JOIN codes c ON c.site_id = k.site_id AND c.code = k.code
    WHERE k.site_id = $1 AND k.kind = 'click' AND k.ts <= $2`;
  const rows = vid ? (await c.query(`${select} AND k.vid = $3 ORDER BY k.ts DESC LIMIT ${CANDIDATE_LIMIT}`, [siteId, ts, vid])).rows : [];
  const add = (more: Array<Record<string, unknown>>) => more.forEach((r) => rows.some((x) => x.cid === r.cid) || rows.push(r));
  if (vid) {
    const eligible = `${select} AND k.vid = $3 AND k.ts >= $4 AND (c.event IS NULL OR $5::text IS NULL OR c.event = $5) ORDER BY k.ts DESC LIMIT 1`;
    add((await c.query(eligible, [siteId, ts, vid, since, event])).rows);
  }
  if (cid) add((await c.query(`${select} AND k.cid = $3`, [siteId, ts, cid])).rows);
  return rows.map(toClickCandidate).sort((a, b) => b.ts - a.ts);
}

/** The visitor's latest visits, plus (however many came after it) the latest touch in the window. */
async function visitCandidates(c: PgClient, siteId: string, vid: string | null, ts: number, since: number): Promise<VisitCandidate[]> {
  if (!vid) return [];
  const select = 'SELECT ts, channel, source, cid, touch, utm_source, utm_medium, utm_campaign FROM visits WHERE site_id = $1 AND vid = $2 AND ts <= $3';
  const rows = (await c.query(`${select} ORDER BY ts DESC LIMIT ${CANDIDATE_LIMIT}`, [siteId, vid, ts])).rows;
  if (!rows.some((r) => Number(r.touch) === 1 && Number(r.ts) >= since)) {
    rows.push(...(await c.query(`${select} AND touch = 1 AND ts >= $4 ORDER BY ts DESC LIMIT 1`, [siteId, vid, ts, since])).rows);
  }
  return rows.map(toVisitCandidate);
}

/**
 * Whether this purchase (not a stored one: checked first) is its customer's first: the first
 * to come, or one before the first known (a backfill), which then takes the new customer from
 * that order. A repeat customer's purchase only reads their row; a backfill before the first
 * locks it by a conditional update. `demoted`: that order's row when it was completed, for the
 * job to take its rollup's new customer back after its own writes.
 */
async function firstPurchase(c: PgClient, siteId: string, customer: string, order: string, ts: number): Promise<{ first: boolean; demoted?: Record<string, unknown> }> {
  const inserted = await c.query(
    'INSERT INTO customers (site_id, customer, first_order, first_ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    [siteId, customer, order, ts],
  );
  if (inserted.rowCount === 1) return { first: true };
  const first = (await c.query('SELECT first_order, first_ts FROM customers WHERE site_id = $1 AND customer = $2', [siteId, customer])).rows[0];
  if (!first || Number(first.first_ts) <= ts) return { first: false };
  const moved = await c.query('UPDATE customers SET first_order = $1, first_ts = $2 WHERE site_id = $3 AND customer = $4 AND first_ts > $2', [
    order, ts, siteId, customer,
  ]);
  if (moved.rowCount !== 1) return { first: false };
  const was = (
    await c.query('UPDATE conversions SET new_customer = 0 WHERE site_id = $1 AND order_id = $2 AND new_customer = 1 RETURNING *', [siteId, String(first.first_order)])
  ).rows[0];
  return { first: true, demoted: was && was.status === 'completed' ? was : undefined };
}

/** The conversion's locks: its order, and its visitor when known up front. */
export const conversionLocks = (conv: ConversionRecord): string[] =>
  conv.vid ? [orderLock(conv.siteId, conv.order), visitorLock(conv.siteId, conv.vid)] : [orderLock(conv.siteId, conv.order)];

export async function writeConversion(
  c: PgClient,
  conv: ConversionRecord,
  windowDays: number,
  decide: (input: AttributionInput) => Attribution,
  { rollup }: BatchContext,
): Promise<{ created: boolean; conversion: StoredConversion }> {
  const existing = await readConversion(c, conv.siteId, conv.order);
  if (existing) return { created: false, conversion: existing };
  let vid = conv.vid;
  if (!vid && conv.cid) {
    const byClick = await c.query('SELECT vid FROM clicks WHERE site_id = $1 AND cid = $2', [conv.siteId, conv.cid]);
    vid = str(byClick.rows[0]?.vid);
    // The collector's touch id by the visit time it carries (ids.ts); any other id a visit
    // came with by its key (migration 0005).
    const at = touchCidTime(conv.cid);
    if (!vid) {
      const byVisit =
        at === null
          ? await c.query('SELECT vid FROM visit_cids WHERE site_id = $1 AND cid = $2', [conv.siteId, conv.cid])
          : await c.query('SELECT vid FROM visits WHERE site_id = $1 AND ts = $2 AND cid = $3 LIMIT 1', [conv.siteId, at, conv.cid]);
      vid = str(byVisit.rows[0]?.vid);
    }
    // Found through the click id: serialise with that visitor's writes before reading them.
    if (vid) await lockVisitorsOnly(c, [[conv.siteId, vid]]);
  }
  const attribution = decide({
    ts: conv.ts,
    event: conv.event,
    windowDays,
    clicks: await clickCandidates(c, conv.siteId, vid, conv.cid, conv.ts, conv.ts - windowDays * DAY_MS, conv.event),
    visits: await visitCandidates(c, conv.siteId, vid, conv.ts, conv.ts - windowDays * DAY_MS),
  });
  const customer = conv.customer !== null && conv.type === 'purchase' ? await firstPurchase(c, conv.siteId, conv.customer, conv.order, conv.ts) : { first: false };
  const newCustomer = customer.first;
  const { link, utm } = attribution;
  await c.query(
    `INSERT INTO conversions (site_id, order_id, ts, event, type, currency, value_minor, tickets, customer,
       new_customer, vid, cid, link_code, link_affiliate, link_cid, link_ts, channel, source,
       utm_source, utm_medium, utm_campaign, rule, candidates, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
    [
      conv.siteId, conv.order, conv.ts, conv.event, conv.type, conv.currency, conv.valueMinor, conv.tickets,
      conv.customer, newCustomer ? 1 : 0, vid, conv.cid, link?.code ?? null, link?.affiliate ?? null,
      link?.cid ?? null, link?.ts ?? null, attribution.channel, attribution.source, utm.source, utm.medium,
      utm.campaign, attribution.rule, JSON.stringify(attribution.candidates), Date.now(),
    ],
  );
  if (conv.items.length > 0) {
    await c.query(
      `INSERT INTO conversion_items (site_id, order_id, idx, type, qty, price_minor)
       SELECT $1, $2, i - 1, t, q, p FROM unnest($3::text[], $4::integer[], $5::bigint[]) WITH ORDINALITY AS u(t, q, p, i)`,
      [conv.siteId, conv.order, conv.items.map((i) => i.type), conv.items.map((i) => i.qty), conv.items.map((i) => i.priceMinor)],
    );
  }
  const stored = await c.query('SELECT * FROM conversions WHERE site_id = $1 AND order_id = $2', [conv.siteId, conv.order]);
  countOrderRow(rollup, stored.rows[0], 1);
  if (customer.demoted) countOrderRow(rollup, customer.demoted, 1, { new_customers: -1 });
  return { created: true, conversion: newlyStored(conv, vid, newCustomer, attribution) };
}

/** An order's status (its order lock held): only completed orders are in the rollups. */
export async function writeOrderStatus(c: PgClient, siteId: string, order: string, status: OrderStatus, { rollup }: BatchContext) {
  const before = (await c.query('SELECT * FROM conversions WHERE site_id = $1 AND order_id = $2 FOR UPDATE', [siteId, order])).rows[0];
  if (!before) return false;
  const was = before.status === 'completed';
  const is = status === 'completed';
  await c.query('UPDATE conversions SET status = $1 WHERE site_id = $2 AND order_id = $3', [status, siteId, order]);
  if (was !== is) countOrderRow(rollup, before, is ? 1 : -1);
  return true;
}

/** Door scans, at most the order's tickets; a completed order's scans move its rollups. */
export async function writeScanned(c: PgClient, siteId: string, order: string, scanned: number, { rollup }: BatchContext) {
  const before = (await c.query('SELECT * FROM conversions WHERE site_id = $1 AND order_id = $2 FOR UPDATE', [siteId, order])).rows[0];
  if (!before) return false;
  const now = Math.min(scanned, Number(before.tickets));
  await c.query('UPDATE conversions SET scanned = $1 WHERE site_id = $2 AND order_id = $3', [now, siteId, order]);
  if (before.status === 'completed' && now !== Number(before.scanned)) countOrderRow(rollup, before, 1, { scanned: now - Number(before.scanned) });
  return true;
}
