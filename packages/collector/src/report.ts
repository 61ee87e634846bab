// Source and promoter breakdowns. Grouped queries over the narrow tables (visits, clicks,
// purchases, other conversions), merged by key. Orders and conversions in code/affiliate rows
// come from link attribution, in channel/source/utm rows from channel attribution (both
// stored at write time).

export const DIMENSIONS = [
  'channel',
  'source',
  'affiliate',
  'code',
  'event',
  'ticket_type',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'day',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface ReportQuery {
  dims: Dimension[];
  from: number;
  /** Exclusive. */
  to: number;
  event: string | null;
  /** Restricts code/affiliate-attributed figures to these codes (a promoter's view). */
  codes?: string[];
}

export type Key = string | null;

export interface ReportRow {
  key?: Key;
  keys?: Key[];
  visits: number;
  visitors: number;
  clicks: number;
  previews: number;
  orders: number;
  tickets: number;
  revenue: Record<string, number>;
  conversion_rate: number | null;
  new_customers: number;
  scanned: number;
  unscanned: number;
  /** scanned / tickets; null without tickets. */
  attendance_rate: number | null;
  /** Non-purchase conversions (signup, download, …) by type; purchases are the orders. */
  conversions: Record<string, number>;
}

/** How a dialect spells the few things SQLite and PostgreSQL disagree on. */
export interface Dialect {
  /** UTC calendar day (YYYY-MM-DD) of an epoch-ms column. */
  day(column: string): string;
}

/** orders: purchases; goals: every other conversion type (signup, download, form, …). */
type Table = 'visits' | 'clicks' | 'orders' | 'goals';

// Key expression per dimension and table; null means "this table has no such key".
const KEY: Record<Dimension, Record<Table, string | null>> = {
  channel: { visits: 'v.channel', clicks: 'v.channel', orders: 'v.channel', goals: 'v.channel' },
  source: { visits: 'v.source', clicks: 'v.source', orders: 'v.source', goals: 'v.source' },
  code: { visits: 'v.code', clicks: 'v.code', orders: 'v.link_code', goals: 'v.link_code' },
  affiliate: { visits: 'c.affiliate', clicks: 'c.affiliate', orders: 'v.link_affiliate', goals: 'v.link_affiliate' },
  event: { visits: 'v.event', clicks: 'v.event', orders: 'v.event', goals: 'v.event' },
  ticket_type: { visits: null, clicks: null, orders: 'i.type', goals: null },
  utm_source: { visits: 'v.utm_source', clicks: null, orders: 'v.utm_source', goals: 'v.utm_source' },
  utm_medium: { visits: 'v.utm_medium', clicks: null, orders: 'v.utm_medium', goals: 'v.utm_medium' },
  utm_campaign: { visits: 'v.utm_campaign', clicks: null, orders: 'v.utm_campaign', goals: 'v.utm_campaign' },
  day: { visits: 'day', clicks: 'day', orders: 'day', goals: 'day' },
};

const FROM: Record<Table, string> = { visits: 'visits', clicks: 'clicks', orders: 'conversions', goals: 'conversions' };
const ATTRIBUTED = (table: Table) => table === 'orders' || table === 'goals';

export interface Sql {
  text: string;
  params: unknown[];
}

function keyExpr(dim: Dimension, table: Table, dialect: Dialect): string {
  const k = KEY[dim][table];
  return k === 'day' ? dialect.day('v.ts') : (k ?? 'NULL');
}

function needsCodes(dims: Dimension[], table: Table): boolean {
  return !ATTRIBUTED(table) && dims.includes('affiliate');
}

function where(siteId: string, q: ReportQuery, table: Table): Sql {
  const params: unknown[] = [siteId, q.from, q.to];
  let text = 'v.site_id = ? AND v.ts >= ? AND v.ts < ?';
  if (q.event !== null) {
    text += ' AND v.event = ?';
    params.push(q.event);
  }
  if (q.codes) {
    const col = ATTRIBUTED(table) ? 'v.link_code' : 'v.code';
    text += ` AND ${col} IN (${q.codes.map(() => '?').join(', ') || 'NULL'})`;
    params.push(...q.codes);
  }
  if (table === 'orders') text += " AND v.type = 'purchase' AND v.status = 'completed'";
  if (table === 'goals') text += " AND v.type <> 'purchase' AND v.status = 'completed'";
  return { text, params };
}

function groupedQuery(siteId: string, q: ReportQuery, table: Table, dialect: Dialect, measures: string): Sql {
  const keys = q.dims.map((d, i) => `${keyExpr(d, table, dialect)} AS k${i}`);
  const groups = q.dims.map((_, i) => `k${i}`);
  const w = where(siteId, q, table);
  const joins = [
    needsCodes(q.dims, table) ? 'LEFT JOIN codes c ON c.site_id = v.site_id AND c.code = v.code' : '',
    // LEFT: an order sent without items still counts, in the row whose ticket type is null.
    table === 'orders' && q.dims.includes('ticket_type')
      ? 'LEFT JOIN conversion_items i ON i.site_id = v.site_id AND i.order_id = v.order_id'
      : '',
  ].join(' ');
  if (table === 'orders') groups.push('v.currency');
  if (table === 'goals') groups.push('v.type');
  return {
    text:
      `SELECT ${[...keys, measures].join(', ')} FROM ${FROM[table]} v ${joins} ` +
      `WHERE ${w.text}${groups.length ? ` GROUP BY ${groups.join(', ')}` : ''}`,
    params: w.params,
  };
}

const ORDER_MEASURES =
  'v.currency AS currency, COUNT(*) AS orders, SUM(v.tickets) AS tickets, SUM(v.value_minor) AS revenue, ' +
  'SUM(v.new_customer) AS new_customers, SUM(v.scanned) AS scanned';

// By ticket type, an order counts in each type it holds, with that type's tickets and item
// revenue; its scans are shared out pro rata (the door scans orders, not ticket types).
const TYPE_MEASURES =
  'v.currency AS currency, COUNT(DISTINCT v.order_id) AS orders, SUM(COALESCE(i.qty, v.tickets)) AS tickets, ' +
  'SUM(COALESCE(i.qty * i.price_minor, v.value_minor)) AS revenue, ' +
  'COUNT(DISTINCT CASE WHEN v.new_customer = 1 THEN v.order_id END) AS new_customers, ' +
  'SUM(CASE WHEN i.qty IS NULL THEN v.scanned WHEN v.tickets > 0 THEN i.qty * v.scanned / v.tickets ELSE 0 END) AS scanned';

const GOAL_MEASURES = 'v.type AS goal, COUNT(*) AS goals';

export function reportQueries(siteId: string, q: ReportQuery, dialect: Dialect) {
  const byType = q.dims.includes('ticket_type');
  const visitorsWhere = where(siteId, q, 'visits');
  return {
    visits: groupedQuery(siteId, q, 'visits', dialect, 'COUNT(*) AS visits, COUNT(DISTINCT v.vid) AS visitors'),
    clicks: groupedQuery(
      siteId,
      q,
      'clicks',
      dialect,
      "SUM(CASE WHEN v.kind = 'click' THEN 1 ELSE 0 END) AS clicks, " +
        "SUM(CASE WHEN v.kind = 'preview' THEN 1 ELSE 0 END) AS previews",
    ),
    orders: groupedQuery(siteId, q, 'orders', dialect, byType ? TYPE_MEASURES : ORDER_MEASURES),
    // Totals count each order once, whatever the grouping.
    orderTotals: groupedQuery(siteId, { ...q, dims: [] }, 'orders', dialect, ORDER_MEASURES),
    goals: groupedQuery(siteId, q, 'goals', dialect, GOAL_MEASURES),
    goalTotals: groupedQuery(siteId, { ...q, dims: [] }, 'goals', dialect, GOAL_MEASURES),
    visitors: {
      text: `SELECT COUNT(DISTINCT v.vid) AS visitors FROM visits v WHERE ${visitorsWhere.text}`,
      params: visitorsWhere.params,
    },
  };
}

type Num = number | bigint | string | null;
export type ResultRow = Record<string, Num>;

const n = (v: Num | undefined): number => (v === null || v === undefined ? 0 : Number(v));

export function emptyRow(): ReportRow {
  return {
    visits: 0,
    visitors: 0,
    clicks: 0,
    previews: 0,
    orders: 0,
    tickets: 0,
    revenue: {},
    conversion_rate: null,
    new_customers: 0,
    scanned: 0,
    unscanned: 0,
    attendance_rate: null,
    conversions: {},
  };
}

/** A share rounded to 4 decimals, or null when there is nothing to divide by. */
export const ratio = (part: number, whole: number): number | null =>
  whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null;

function rate(row: ReportRow): ReportRow {
  row.unscanned = row.tickets - row.scanned;
  row.conversion_rate = ratio(row.orders, row.visitors);
  row.attendance_rate = ratio(row.scanned, row.tickets);
  return row;
}

/** Merges the three grouped results into rows keyed by the dimension values, plus totals. */
export function mergeReport(
  dims: Dimension[],
  results: Record<'visits' | 'clicks' | 'orders' | 'orderTotals' | 'goals' | 'goalTotals', ResultRow[]> & { visitors: number },
): { rows: ReportRow[]; totals: ReportRow } {
  const rows = new Map<string, ReportRow>();
  const totals = emptyRow();
  const rowFor = (r: ResultRow): ReportRow => {
    const keys = dims.map((_, i) => (r[`k${i}`] === null || r[`k${i}`] === undefined ? null : String(r[`k${i}`])));
    const id = JSON.stringify(keys);
    let row = rows.get(id);
    if (!row) {
      row = dims.length === 1 ? { key: keys[0]!, ...emptyRow() } : { keys, ...emptyRow() };
      rows.set(id, row);
    }
    return row;
  };
  for (const r of results.visits) {
    const row = rowFor(r);
    row.visits += n(r.visits);
    row.visitors += n(r.visitors);
    totals.visits += n(r.visits);
  }
  for (const r of results.clicks) {
    const row = rowFor(r);
    row.clicks += n(r.clicks);
    row.previews += n(r.previews);
    totals.clicks += n(r.clicks);
    totals.previews += n(r.previews);
  }
  const addOrders = (target: ReportRow, r: ResultRow) => {
    const cur = String(r.currency);
    target.orders += n(r.orders);
    target.tickets += n(r.tickets);
    target.new_customers += n(r.new_customers);
    target.scanned += Math.floor(n(r.scanned));
    target.revenue[cur] = (target.revenue[cur] ?? 0) + n(r.revenue);
  };
  for (const r of results.orders) addOrders(rowFor(r), r);
  for (const r of results.orderTotals) addOrders(totals, r);
  const addGoals = (target: ReportRow, r: ResultRow) => {
    const goal = String(r.goal);
    target.conversions[goal] = (target.conversions[goal] ?? 0) + n(r.goals);
  };
  for (const r of results.goals) addGoals(rowFor(r), r);
  for (const r of results.goalTotals) addGoals(totals, r);
  totals.visitors = results.visitors;
  const sorted = [...rows.values()].map(rate).sort(
    (a, b) =>
      b.orders - a.orders ||
      b.visits - a.visits ||
      b.clicks - a.clicks ||
      String(a.key ?? a.keys).localeCompare(String(b.key ?? b.keys)),
  );
  return { rows: sorted, totals: rate(totals) };
}
