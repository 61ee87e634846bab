// The order list behind payout checks: every conversion with its status and attribution,
// newest first, paginated by keyset. Portable SQL, shared by the stores like report.ts.
import type { OrderListQuery, OrderStatus, OrderSummary } from './store.js';
import type { Sql } from './report.js';

const FILTERS = [
  ['link_code', 'code'],
  ['link_affiliate', 'affiliate'],
  ['status', 'status'],
  ['type', 'type'],
] as const;

export function orderListQuery(siteId: string, q: OrderListQuery): Sql {
  const where = ['site_id = ?', 'ts >= ?', 'ts < ?'];
  const params: unknown[] = [siteId, q.from, q.to];
  for (const [column, field] of FILTERS) {
    if (q[field] === null) continue;
    where.push(`${column} = ?`);
    params.push(q[field]);
  }
  if (q.before) {
    // A row value: SQLite and PostgreSQL both seek the (site_id, ts) index with it.
    where.push('(ts, order_id) < (?, ?)');
    params.push(q.before.ts, q.before.order);
  }
  params.push(q.limit);
  return {
    text:
      'SELECT order_id, ts, event, type, status, currency, value_minor, tickets, scanned, link_code, link_affiliate, ' +
      `channel, source FROM conversions WHERE ${where.join(' AND ')} ORDER BY ts DESC, order_id DESC LIMIT ?`,
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
  affiliate: str(r.link_affiliate),
  channel: String(r.channel),
  source: str(r.source),
});
