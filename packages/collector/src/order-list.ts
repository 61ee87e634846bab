// The order list behind payout checks: every conversion with its status and attribution,
// newest first, paginated by keyset. Portable SQL, shared by the stores like report.ts.
import type { OrderListQuery, OrderStatus, OrderSummary } from './store.js';
import type { Sql } from './report.js';

// An order's affiliate is its link code's, as in the reports (report.ts KEY): an order on a
// code registered later goes to the affiliate the code was given.
const FILTERS = [
  ['v.link_code', 'code'],
  ['c.affiliate', 'affiliate'],
  ['v.status', 'status'],
  ['v.type', 'type'],
] as const;

export function orderListQuery(siteId: string, q: OrderListQuery): Sql {
  const where = ['v.site_id = ?', 'v.ts >= ?', 'v.ts < ?'];
  const params: unknown[] = [siteId, q.from, q.to];
  for (const [column, field] of FILTERS) {
    if (q[field] === null) continue;
    where.push(`${column} = ?`);
    params.push(q[field]);
  }
  if (q.before) {
    // A row value: SQLite and PostgreSQL both seek the (site_id, ts) index with it.
    where.push('(v.ts, v.order_id) < (?, ?)');
    params.push(q.before.ts, q.before.order);
  }
  params.push(q.limit);
  return {
    text:
      'SELECT v.order_id, v.ts, v.event, v.type, v.status, v.currency, v.value_minor, v.tickets, v.scanned, v.link_code, ' +
      'c.affiliate, v.channel, v.source FROM conversions v LEFT JOIN codes c ON c.site_id = v.site_id AND c.code = v.link_code ' +
      `WHERE ${where.join(' AND ')} ORDER BY v.ts DESC, v.order_id DESC LIMIT ?`,
    params,
  };
}

type Row = Record<string, unknown>;
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export const toOrderSummary = (r: Row): OrderSummary => ({
  order: String(r.order_id),
  ts: Number(r.ts),
  event: str(r.event),
  type: String(r.type),
  status: String(r.status) as OrderStatus,
  currency: String(r.currency),
  valueMinor: Number(r.value_minor),
  tickets: Number(r.tickets),
  scanned: Number(r.scanned),
  code: str(r.link_code),
  affiliate: str(r.affiliate),
  channel: String(r.channel),
  source: str(r.source),
});
