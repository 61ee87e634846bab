// Conversions in SQLite: recorded once per (site, order) with their attribution decided in
// the same transaction as the reads it is decided from; order life and door scans.
import type { ClickCandidate, VisitCandidate } from '../attribution.js';
import { touchCidTime } from '../ids.js';
import type { RollupBatch } from '../rollups.js';
import type { Store, StoredConversion } from '../store.js';
import { CANDIDATE_LIMIT, countOrderRow, newlyStored, str, toClickCandidate, toConversion, toItem, toVisitCandidate } from './rows.js';
import type { Row, SqliteAccess } from './sqlite-access.js';
import type { VisitorIndex } from './visitor-index.js';

const DAY_MS = 86_400_000;

const INSERTED = [
  'site_id', 'order_id', 'ts', 'event', 'type', 'currency', 'value_minor', 'tickets', 'customer',
  'new_customer', 'vid', 'cid', 'link_code', 'link_affiliate', 'link_cid', 'link_ts', 'channel', 'source',
  'utm_source', 'utm_medium', 'utm_campaign', 'rule', 'candidates', 'created_at',
] as const;
const INSERT_CONVERSION = `INSERT INTO conversions (${INSERTED.join(', ')})
  VALUES (${INSERTED.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`;

type ConversionMethods = Pick<Store, 'recordConversion' | 'getConversion' | 'setOrderStatus' | 'setScanned'>;

const VISIT = 'v.id, v.ts, v.channel, v.source, v.cid, v.touch, v.utm_source, v.utm_medium, v.utm_campaign';
const newestFirst = (a: Row, b: Row) => Number(b.ts) - Number(a.ts) || Number(b.id) - Number(a.id);

/**
 * `rollup` collects the batch's order-rollup changes (flushed by the store before COMMIT);
 * `visitors`, the visits not yet in visitor_visits.
 */
export function sqliteConversions({ get, all, run, write }: SqliteAccess, rollup: RollupBatch, visitors: () => VisitorIndex): ConversionMethods {
  /** A stored conversion's contribution to the order rollups, read from its row. */
  function countOrder(siteId: string, order: string, sign: 1 | -1, only?: { scanned: number }) {
    const r = get('SELECT * FROM conversions WHERE site_id = ? AND order_id = ?', siteId, order);
    if (r) countOrderRow(rollup, r, sign, only);
  }

  /**
   * Whether this purchase is its customer's first: the first to come, or one before the first
   * known (a backfill), which then takes the new customer from that order. Not for a repeat.
   * `demoted`: that order's row, when it was completed, for its rollup's new customer to go
   * once the job's writes have all succeeded (a failed job must leave the rollups alone).
   */
  function firstPurchase(siteId: string, customer: string, order: string, ts: number): { first: boolean; demoted?: Row } {
    if (get('SELECT 1 AS known FROM conversions WHERE site_id = ? AND order_id = ?', siteId, order)) return { first: false };
    const first = get('SELECT first_order, first_ts FROM customers WHERE site_id = ? AND customer = ?', siteId, customer);
    if (!first) {
      run('INSERT INTO customers (site_id, customer, first_order, first_ts) VALUES (?, ?, ?, ?)', siteId, customer, order, ts);
      return { first: true };
    }
    if (Number(first.first_ts) <= ts) return { first: false };
    run('UPDATE customers SET first_order = ?, first_ts = ? WHERE site_id = ? AND customer = ?', order, ts, siteId, customer);
    const was = get('SELECT * FROM conversions WHERE site_id = ? AND order_id = ?', siteId, String(first.first_order));
    if (!was || Number(was.new_customer) !== 1) return { first: true };
    run('UPDATE conversions SET new_customer = 0 WHERE site_id = ? AND order_id = ?', siteId, String(first.first_order));
    return { first: true, demoted: was.status === 'completed' ? was : undefined };
  }

  function readConversion(siteId: string, order: string): StoredConversion | null {
    const r = get('SELECT * FROM conversions WHERE site_id = ? AND order_id = ?', siteId, order);
    if (!r) return null;
    const items = all(
      'SELECT type, qty, price_minor FROM conversion_items WHERE site_id = ? AND order_id = ? ORDER BY idx',
      siteId,
      order,
    ).map(toItem);
    return toConversion(r, items);
  }

  /** The visitor's latest clicks, plus (however many came after it) the latest eligible one. */
  function clickCandidates(siteId: string, vid: string | null, cid: string | null, ts: number, since: number, event: string | null): ClickCandidate[] {
    const select = `SELECT k.cid, k.ts, k.code, c.affiliate, c.event AS code_event FROM clicks k
      LEFT JOIN codes c ON c.site_id = k.site_id AND c.code = k.code
      WHERE k.site_id = ? AND k.kind = 'click' AND k.ts <= ?`;
    const rows = vid ? all(`${select} AND k.vid = ? ORDER BY k.ts DESC LIMIT ${CANDIDATE_LIMIT}`, siteId, ts, vid) : [];
    const add = (r: Record<string, unknown> | undefined) => {
      if (r && !rows.some((x) => x.cid === r.cid)) rows.push(r);
    };
    if (vid) {
      add(get(`${select} AND k.vid = ? AND k.ts >= ? AND (c.event IS NULL OR ? IS NULL OR c.event = ?) ORDER BY k.ts DESC LIMIT 1`, siteId, ts, vid, since, event, event));
    }
    if (cid) add(get(`${select} AND k.cid = ?`, siteId, ts, cid));
    return rows.map(toClickCandidate).sort((a, b) => b.ts - a.ts);
  }

  /**
   * The visitor's latest visits, plus (however many came after it) the latest touch in the
   * window: from visitor_visits and from the visits not merged into it yet (visitor-index.ts).
   */
  function visitCandidates(siteId: string, vid: string | null, ts: number, since: number): VisitCandidate[] {
    if (!vid) return [];
    const select = `SELECT ${VISIT} FROM visitor_visits i JOIN visits v ON v.id = i.visit AND v.vid = i.vid AND v.site_id = i.site_id WHERE i.site_id = ? AND i.vid = ? AND i.ts <= ?`;
    const order = 'ORDER BY i.ts DESC, i.visit DESC';
    const recent = visitors()
      .tail(siteId, vid)
      .map((id) => get(`SELECT ${VISIT} FROM visits v WHERE v.id = ? AND v.site_id = ? AND v.vid = ? AND v.ts <= ?`, id, siteId, vid, ts))
      .filter((r): r is Row => r !== undefined);
    const merged = (more: Row[]) => {
      const seen = new Set<number>();
      return [...recent, ...more].filter((r) => !seen.has(Number(r.id)) && seen.add(Number(r.id))).sort(newestFirst);
    };
    const rows = merged(all(`${select} ${order} LIMIT ${CANDIDATE_LIMIT}`, siteId, vid, ts)).slice(0, CANDIDATE_LIMIT);
    const isTouch = (r: Row) => Number(r.touch) === 1 && Number(r.ts) >= since;
    if (!rows.some(isTouch)) {
      const touch = merged(all(`${select} AND v.touch = 1 AND i.ts >= ? ${order} LIMIT 1`, siteId, vid, ts, since)).find(isTouch);
      if (touch) rows.push(touch);
    }
    return rows.map(toVisitCandidate);
  }

  return {
    recordConversion(conv, windowDays, decide) {
      return write(() => {
        let vid = conv.vid;
        if (!vid && conv.cid) {
          // A tracking-link click by its key; the collector's touch id by the visit time it
          // carries (ids.ts); any other id a visit came with by its key (migration 0005).
          const at = touchCidTime(conv.cid);
          vid =
            str(get('SELECT vid FROM clicks WHERE site_id = ? AND cid = ?', conv.siteId, conv.cid)?.vid) ??
            str(
              at === null
                ? get('SELECT vid FROM visit_cids WHERE site_id = ? AND cid = ?', conv.siteId, conv.cid)?.vid
                : get('SELECT vid FROM visits WHERE site_id = ? AND ts = ? AND cid = ? LIMIT 1', conv.siteId, at, conv.cid)?.vid,
            );
        }
        const attribution = decide({
          ts: conv.ts,
          event: conv.event,
          windowDays,
          clicks: clickCandidates(conv.siteId, vid, conv.cid, conv.ts, conv.ts - windowDays * DAY_MS, conv.event),
          visits: visitCandidates(conv.siteId, vid, conv.ts, conv.ts - windowDays * DAY_MS),
        });
        // A first purchase makes a new customer, unless this order is a repeat of a stored one.
        const customer = conv.customer !== null && conv.type === 'purchase' ? firstPurchase(conv.siteId, conv.customer, conv.order, conv.ts) : { first: false };
        const newCustomer = customer.first;
        const { link, utm } = attribution;
        const row = {
          site_id: conv.siteId, order_id: conv.order, ts: conv.ts, event: conv.event, type: conv.type, currency: conv.currency,
          value_minor: conv.valueMinor, tickets: conv.tickets, customer: conv.customer, new_customer: newCustomer ? 1 : 0,
          vid, cid: conv.cid, link_code: link?.code ?? null, link_affiliate: link?.affiliate ?? null, link_cid: link?.cid ?? null,
          link_ts: link?.ts ?? null, channel: attribution.channel, source: attribution.source, utm_source: utm.source,
          utm_medium: utm.medium, utm_campaign: utm.campaign, rule: attribution.rule,
          candidates: JSON.stringify(attribution.candidates), created_at: Date.now(), scanned: 0,
        };
        // Idempotent per order: a repeat changes nothing and answers the stored one. Bound by
        // position (by name, better-sqlite3 looks up each of the 24 names on the object).
        const inserted = run(
          INSERT_CONVERSION,
          ...INSERTED.map((c) => row[c]),
        );
        if (inserted.changes === 0) return { created: false, conversion: readConversion(conv.siteId, conv.order)! };
        conv.items.forEach((item, idx) =>
          run(
            'INSERT INTO conversion_items (site_id, order_id, idx, type, qty, price_minor) VALUES (?, ?, ?, ?, ?, ?)',
            conv.siteId, conv.order, idx, item.type, item.qty, item.priceMinor,
          ),
        );
        countOrderRow(rollup, row, 1);
        if (customer.demoted) countOrderRow(rollup, customer.demoted, 1, { new_customers: -1 });
        const stored = newlyStored(conv, vid, newCustomer, attribution);
        return { created: true, conversion: stored };
      });
    },

    async getConversion(siteId, order) {
      return readConversion(siteId, order);
    },
    async setOrderStatus(siteId, order, status) {
      return write(() => {
        const before = get('SELECT status FROM conversions WHERE site_id = ? AND order_id = ?', siteId, order);
        if (!before) return false;
        // Only completed orders are in the figures: leaving or re-entering moves the rollups.
        const was = before.status === 'completed';
        const is = status === 'completed';
        if (was && !is) countOrder(siteId, order, -1);
        run('UPDATE conversions SET status = ? WHERE site_id = ? AND order_id = ?', status, siteId, order);
        if (!was && is) countOrder(siteId, order, 1);
        return true;
      });
    },
    async setScanned(siteId, order, scanned) {
      return write(() => {
        const before = get('SELECT status, scanned, tickets FROM conversions WHERE site_id = ? AND order_id = ?', siteId, order);
        if (!before) return false;
        const now = Math.min(scanned, Number(before.tickets));
        run('UPDATE conversions SET scanned = ? WHERE site_id = ? AND order_id = ?', now, siteId, order);
        if (before.status === 'completed' && now !== Number(before.scanned)) countOrder(siteId, order, 1, { scanned: now - Number(before.scanned) });
        return true;
      });
    },
  };
}
