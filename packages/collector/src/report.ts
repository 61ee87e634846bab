// Source and promoter breakdowns, merged by key from grouped queries: visits, visitors and
// clicks from a daily rollup (whole UTC days) or the raw visits/clicks tables (any other
// range; a range to the millisecond reads the rollup for its whole days and the raw rows of
// the part-days at either end); purchases and other conversions from conversions. Orders and conversions in
// code/affiliate rows come from link attribution, in channel/source/utm rows from channel
// attribution (both stored at write time).
import { rollupFor, type Rollup } from './rollups.js';
import { hashVisitor, SketchUnion } from './sketch.js';

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
  /** Whose view `codes` is: the promoter's affiliate id (the raw-report limits count by it). */
  promoter?: string;
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
  /** The same of a column holding a UTC day number (epoch ms / 86 400 000). */
  dayNumber(column: string): string;
  /** Aggregate of visitor sketches: one merged blob (or an array of blobs) per group. */
  sketchUnion(column: string): string;
  /** Aggregate of visitor ids into a sketch: a blob, or (PostgreSQL) the group's distinct ids. */
  sketchOfIds(column: string): string;
  /** What a report reads a rollup table through; default the table itself. */
  rollup?(table: string): string;
  /**
   * `column` is one of the strings of a JSON array given as one parameter: one statement
   * whatever the list's length (a promoter's codes), never one parameter per entry.
   */
  inJsonList(column: string): string;
}

/** orders: purchases; goals: every other conversion type (signup, download, form, …);
 *  daily: a traffic rollup (visits, clicks, previews, visitor sketches);
 *  dailyOrders / dailyGoals: an order rollup's purchases / other conversions. */
type Table = 'visits' | 'clicks' | 'orders' | 'goals' | 'daily' | 'dailyOrders' | 'dailyGoals';
type RawTable = 'visits' | 'clicks' | 'orders' | 'goals';
const ROLLUP_TABLES: readonly Table[] = ['daily', 'dailyOrders', 'dailyGoals'];

// Key expression per dimension and table; null means "this table has no such key". An
// affiliate is its code's (joined as c, codesJoin), on every path: a code gets its affiliate
// when registered and keeps it, and an order's link code is frozen when the order came. So an
// order credited to an unregistered `?affiliate=` code counts, once the code is registered,
// for the affiliate it was given, like the code's clicks (and the promoter's own report, by
// their codes). An order's link_affiliate records the affiliate as it was then.
const KEY: Record<Dimension, Record<RawTable, string | null>> = {
  channel: { visits: 'v.channel', clicks: 'v.channel', orders: 'v.channel', goals: 'v.channel' },
  source: { visits: 'v.source', clicks: 'v.source', orders: 'v.source', goals: 'v.source' },
  code: { visits: 'v.code', clicks: 'v.code', orders: 'v.link_code', goals: 'v.link_code' },
  affiliate: { visits: 'c.affiliate', clicks: 'c.affiliate', orders: 'c.affiliate', goals: 'c.affiliate' },
  event: { visits: 'v.event', clicks: 'v.event', orders: 'v.event', goals: 'v.event' },
  ticket_type: { visits: null, clicks: null, orders: 'i.type', goals: null },
  utm_source: { visits: 'v.utm_source', clicks: null, orders: 'v.utm_source', goals: 'v.utm_source' },
  utm_medium: { visits: 'v.utm_medium', clicks: null, orders: 'v.utm_medium', goals: 'v.utm_medium' },
  utm_campaign: { visits: 'v.utm_campaign', clicks: null, orders: 'v.utm_campaign', goals: 'v.utm_campaign' },
  day: { visits: 'day', clicks: 'day', orders: 'day', goals: 'day' },
};

const FROM: Record<RawTable, string> = { visits: 'visits', clicks: 'clicks', orders: 'conversions', goals: 'conversions' };
const ATTRIBUTED = (table: Table) => table === 'orders' || table === 'goals';
const DAY_MS = 86_400_000;

/** The rollup a report reads: only for whole UTC days, and only one that has its keys. */
export const rollupOf = (q: ReportQuery): Rollup | null =>
  q.from % DAY_MS === 0 && q.to % DAY_MS === 0 ? rollupFor(q.dims, q.codes !== undefined) : null;

/** Orders by ticket type need the items: those always read the raw tables. */
const orderRollupOf = (q: ReportQuery): Rollup | null => (q.dims.includes('ticket_type') ? null : rollupOf(q));

/**
 * Whether a report reads daily rollups only: its cost is bounded by the days and keys in
 * range. Any other report reads raw rows, which at millions of visits takes seconds.
 */
export const readsRollupsOnly = (q: ReportQuery): boolean => orderRollupOf(q) !== null;

export interface Sql {
  text: string;
  params: unknown[];
}

function keyExpr(dim: Dimension, table: Table, dialect: Dialect): string {
  if (ROLLUP_TABLES.includes(table)) {
    // Rollups store '' for "none".
    if (dim === 'day') return dialect.dayNumber('v.day');
    if (dim === 'ticket_type') return 'NULL';
    return dim === 'affiliate' ? 'c.affiliate' : `NULLIF(v.${dim}, '')`;
  }
  const k = KEY[dim][table as RawTable];
  return k === 'day' ? dialect.day('v.ts') : (k ?? 'NULL');
}

/** The join that gives an affiliate key its code's affiliate (orders: their link code's). */
function codesJoin(dims: Dimension[], table: Table): string {
  if (!dims.includes('affiliate')) return '';
  return `LEFT JOIN codes c ON c.site_id = v.site_id AND c.code = ${ATTRIBUTED(table) ? 'v.link_code' : 'v.code'}`;
}

function where(siteId: string, q: ReportQuery, table: Table, dialect: Dialect): Sql {
  const daily = ROLLUP_TABLES.includes(table);
  const params: unknown[] = daily ? [siteId, q.from / DAY_MS, q.to / DAY_MS] : [siteId, q.from, q.to];
  let text = daily ? 'v.site_id = ? AND v.day >= ? AND v.day < ?' : 'v.site_id = ? AND v.ts >= ? AND v.ts < ?';
  if (q.event !== null) {
    text += ' AND v.event = ?';
    params.push(q.event);
  }
  if (q.codes) {
    const col = ATTRIBUTED(table) ? 'v.link_code' : 'v.code';
    text += ` AND ${dialect.inJsonList(col)}`;
    params.push(JSON.stringify(q.codes));
  }
  if (table === 'orders') text += " AND v.type = 'purchase' AND v.status = 'completed'";
  if (table === 'goals') text += " AND v.type <> 'purchase' AND v.status = 'completed'";
  // Order rollups hold completed conversions only.
  if (table === 'dailyOrders') text += " AND v.type = 'purchase'";
  if (table === 'dailyGoals') text += " AND v.type <> 'purchase'";
  return { text, params };
}

function groupedQuery(siteId: string, q: ReportQuery, table: Table, dialect: Dialect, measures: string, from?: string): Sql {
  const keys = q.dims.map((d, i) => `${keyExpr(d, table, dialect)} AS k${i}`);
  const groups = q.dims.map((_, i) => `k${i}`);
  const w = where(siteId, q, table, dialect);
  const joins = [
    codesJoin(q.dims, table),
    table === 'orders' && q.dims.includes('ticket_type') ? 'JOIN conversion_items i ON i.site_id = v.site_id AND i.order_id = v.order_id' : '',
  ].join(' ');
  if (table === 'orders' || table === 'dailyOrders') groups.push('v.currency');
  if (table === 'goals' || table === 'dailyGoals') groups.push('v.type');
  return {
    text:
      `SELECT ${[...keys, measures].join(', ')} FROM ${from ? (dialect.rollup?.(from) ?? from) : FROM[table as RawTable]} v ${joins} ` +
      `WHERE ${w.text}${groups.length ? ` GROUP BY ${groups.join(', ')}` : ''}` +
      // Refunds, and clicks that moved keys on landing, leave zeroed rollup rows behind: they
      // are no row at all.
      (table === 'dailyOrders' || table === 'dailyGoals'
        ? ' HAVING SUM(v.orders) <> 0'
        : table === 'daily'
          ? ' HAVING SUM(v.visits) <> 0 OR SUM(v.clicks) <> 0 OR SUM(v.previews) <> 0'
          : ''),
    params: w.params,
  };
}

const ORDER_MEASURES =
  'v.currency AS currency, COUNT(*) AS orders, SUM(v.tickets) AS tickets, SUM(v.value_minor) AS revenue, ' +
  'SUM(v.new_customer) AS new_customers, SUM(v.scanned) AS scanned';

// By ticket type, an order counts in each type it holds, with that type's tickets and item
// revenue; its scans are shared out pro rata (the door scans orders, not ticket types), in
// whole tickets that add up to the order's: an item gets floor(S x C / T) - floor(S x (C - q) / T)
// of S scans, C being the tickets of the order's items up to and including it (q its own), T
// the order's tickets (integer division on both stores).
const ITEMS_SO_FAR =
  '(SELECT SUM(j.qty) FROM conversion_items j WHERE j.site_id = i.site_id AND j.order_id = i.order_id AND j.idx <= i.idx)';
const TYPE_MEASURES =
  'v.currency AS currency, COUNT(DISTINCT v.order_id) AS orders, SUM(i.qty) AS tickets, SUM(i.qty * i.price_minor) AS revenue, ' +
  'COUNT(DISTINCT CASE WHEN v.new_customer = 1 THEN v.order_id END) AS new_customers, ' +
  `SUM(CASE WHEN v.tickets > 0 THEN v.scanned * ${ITEMS_SO_FAR} / v.tickets - ` +
  `v.scanned * (${ITEMS_SO_FAR} - i.qty) / v.tickets ELSE 0 END) AS scanned`;

/**
 * Orders by ticket type: the typed part (an order in each type its items hold) and, under no
 * ticket type, what an order's items don't cover: all of an order sent without items, or the
 * rest of one whose tickets or value go beyond its items' (tickets, value minus the items',
 * the scans the items' shares leave; less than nothing when the items say more). So the rows
 * add up to the totals on every grouping.
 */
function ticketTypeQuery(siteId: string, q: ReportQuery, dialect: Dialect): Sql {
  const typed = groupedQuery(siteId, q, 'orders', dialect, TYPE_MEASURES);
  const w = where(siteId, q, 'orders', dialect);
  const keys = q.dims.map((d, i) => `${d === 'ticket_type' ? 'NULL' : keyExpr(d, 'orders', dialect)} AS k${i}`);
  const groups = q.dims.map((_, i) => `k${i}`);
  const qty = 'COALESCE(SUM(i.qty), 0)';
  // Per order first (its items summed), then per key. Grouped in the order of conversions_report
  // (site_id, ts, order_id): the range is read through it, not the whole site by primary key.
  const perOrder =
    `SELECT ${keys.join(', ')}, v.currency AS currency, v.new_customer AS new_customer, v.tickets - ${qty} AS tickets, ` +
    'v.value_minor - COALESCE(SUM(i.qty * i.price_minor), 0) AS revenue, ' +
    `v.scanned - CASE WHEN v.tickets > 0 THEN v.scanned * ${qty} / v.tickets ELSE 0 END AS scanned ` +
    `FROM conversions v ${codesJoin(q.dims, 'orders')} LEFT JOIN conversion_items i ON i.site_id = v.site_id AND i.order_id = v.order_id ` +
    `WHERE ${w.text} GROUP BY v.site_id, v.ts, v.order_id, ${[...groups, 'v.currency'].join(', ')} ` +
    `HAVING COUNT(i.idx) = 0 OR v.tickets <> ${qty} OR v.value_minor <> COALESCE(SUM(i.qty * i.price_minor), 0)`;
  const untyped =
    `SELECT ${groups.join(', ')}, currency, COUNT(*) AS orders, SUM(tickets) AS tickets, SUM(revenue) AS revenue, ` +
    `SUM(new_customer) AS new_customers, SUM(scanned) AS scanned FROM (${perOrder}) o GROUP BY ${[...groups, 'currency'].join(', ')}`;
  return { text: `${typed.text} UNION ALL ${untyped}`, params: [...typed.params, ...w.params] };
}

const GOAL_MEASURES = 'v.type AS goal, COUNT(*) AS goals';

const ROLLUP_ORDER_MEASURES =
  'v.currency AS currency, SUM(v.orders) AS orders, SUM(v.tickets) AS tickets, SUM(v.revenue) AS revenue, ' +
  'SUM(v.new_customers) AS new_customers, SUM(v.scanned) AS scanned';
const ROLLUP_GOAL_MEASURES = 'v.type AS goal, SUM(v.orders) AS goals';

export interface ReportSql {
  /** Visits with visitors: a count (raw) or sketches (rollup, which also gives clicks and previews). */
  visits: Sql;
  /** Raw path only. */
  clicks: Sql | null;
  orders: Sql;
  orderTotals: Sql;
  goals: Sql;
  goalTotals: Sql;
  /** Raw path only: distinct visitors over the range. */
  visitors: Sql | null;
}

/**
 * The whole UTC days inside a range to the millisecond that a rollup can answer, when there
 * are any: the report then reads them there and only the part-days at either end raw (a
 * 30-day range at 10M visits: ~1 day of raw rows instead of 30). Null when the range is whole
 * days already, holds none, or no rollup has the keys (or the orders need their items).
 */
function wholeDaysWithin(q: ReportQuery): { from: number; to: number } | null {
  if (rollupOf(q) || q.dims.includes('ticket_type') || !rollupFor(q.dims, q.codes !== undefined)) return null;
  const from = Math.ceil(q.from / DAY_MS) * DAY_MS;
  const to = Math.floor(q.to / DAY_MS) * DAY_MS;
  return from < to ? { from, to } : null;
}

/**
 * A report's queries, in parts: one, or for a range to the millisecond over whole days the
 * rollup's days and the raw part-days at either end. The results of every part go to
 * mergeReport together (combineParts), in one read transaction.
 */
export function reportParts(siteId: string, q: ReportQuery, dialect: Dialect): ReportSql[] {
  const days = wholeDaysWithin(q);
  if (!days) return [reportQueries(siteId, q, dialect)];
  const parts = [reportQueries(siteId, { ...q, ...days }, dialect)];
  // Visitors as sketches, so that one who came on a part-day and on a whole day counts once.
  if (q.from < days.from) parts.push(reportQueries(siteId, { ...q, to: days.from }, dialect, true));
  if (days.to < q.to) parts.push(reportQueries(siteId, { ...q, from: days.to }, dialect, true));
  return parts;
}

/** What the queries of one part gave, as mergeReport takes it. */
export type ReportResults = Record<'visits' | 'clicks' | 'orders' | 'orderTotals' | 'goals' | 'goalTotals', ResultRow[]> & {
  /** The raw path's distinct count, or null when visits carry sketches. */
  visitors: number | null;
};

/** The results of a report's parts as one (reportParts). */
export function combineParts(parts: ReportResults[]): ReportResults {
  if (parts.length === 1) return parts[0]!;
  const all = (k: Exclude<keyof ReportResults, 'visitors'>) => parts.flatMap((p) => p[k]);
  return {
    visits: all('visits'),
    clicks: all('clicks'),
    orders: all('orders'),
    orderTotals: all('orderTotals'),
    goals: all('goals'),
    goalTotals: all('goalTotals'),
    visitors: null,
  };
}

/** `sketches`: raw visits count their visitors as sketches (a part of reportParts), not as numbers. */
export function reportQueries(siteId: string, q: ReportQuery, dialect: Dialect, sketches = false): ReportSql {
  const byType = q.dims.includes('ticket_type');
  const orderRollup = orderRollupOf(q);
  const all = { ...q, dims: [] };
  const conversions = orderRollup
    ? {
        orders: groupedQuery(siteId, q, 'dailyOrders', dialect, ROLLUP_ORDER_MEASURES, orderRollup.orders),
        orderTotals: groupedQuery(siteId, all, 'dailyOrders', dialect, ROLLUP_ORDER_MEASURES, orderRollup.orders),
        goals: groupedQuery(siteId, q, 'dailyGoals', dialect, ROLLUP_GOAL_MEASURES, orderRollup.orders),
        goalTotals: groupedQuery(siteId, all, 'dailyGoals', dialect, ROLLUP_GOAL_MEASURES, orderRollup.orders),
      }
    : {
        orders: byType ? ticketTypeQuery(siteId, q, dialect) : groupedQuery(siteId, q, 'orders', dialect, ORDER_MEASURES),
        // Totals count each order once, whatever the grouping.
        orderTotals: groupedQuery(siteId, all, 'orders', dialect, ORDER_MEASURES),
        goals: groupedQuery(siteId, q, 'goals', dialect, GOAL_MEASURES),
        goalTotals: groupedQuery(siteId, all, 'goals', dialect, GOAL_MEASURES),
      };
  const rollup = rollupOf(q);
  if (rollup) {
    const measures = `SUM(v.visits) AS visits, SUM(v.clicks) AS clicks, SUM(v.previews) AS previews, ${dialect.sketchUnion('v.visitors')} AS sketch`;
    return { visits: groupedQuery(siteId, q, 'daily', dialect, measures, rollup.table), clicks: null, visitors: null, ...conversions };
  }
  const visitorsWhere = where(siteId, q, 'visits', dialect);
  return {
    ...conversions,
    visits: groupedQuery(
      siteId,
      q,
      'visits',
      dialect,
      sketches ? `COUNT(*) AS visits, ${dialect.sketchOfIds('v.vid')} AS sketch` : 'COUNT(*) AS visits, COUNT(DISTINCT v.vid) AS visitors',
    ),
    clicks: groupedQuery(
      siteId,
      q,
      'clicks',
      dialect,
      "SUM(CASE WHEN v.kind = 'click' THEN 1 ELSE 0 END) AS clicks, " +
        "SUM(CASE WHEN v.kind = 'preview' THEN 1 ELSE 0 END) AS previews",
    ),
    visitors: sketches
      ? null
      : {
          text: `SELECT COUNT(DISTINCT v.vid) AS visitors FROM visits v WHERE ${visitorsWhere.text}`,
          params: visitorsWhere.params,
        },
  };
}

type Num = number | bigint | string | null;
type Blob = Uint8Array | Uint8Array[] | string[] | null;
export type ResultRow = Record<string, Num | Blob>;

const n = (v: Num | Blob | undefined): number => (v === null || v === undefined || typeof v === 'object' ? 0 : Number(v));

/** A group's visitors: one merged sketch, or (PostgreSQL) the group's sketches or visitor ids. */
function sketchOf(v: Num | Blob | undefined): SketchUnion {
  const u = new SketchUnion();
  if (Array.isArray(v)) for (const b of v) typeof b === 'string' ? u.addHash(hashVisitor(b)) : u.addBlob(b);
  else if (v instanceof Uint8Array) u.addBlob(v);
  return u;
}

export function emptyRow(): ReportRow {
  return {
    visits: 0,
    visitors: 0,
    clicks: 0,
    previews: 0,
    orders: 0,
    tickets: 0,
    // No prototype: a conversion type or currency named "constructor" is just a key.
    revenue: Object.create(null) as Record<string, number>,
    conversion_rate: null,
    new_customers: 0,
    scanned: 0,
    unscanned: 0,
    attendance_rate: null,
    conversions: Object.create(null) as Record<string, number>,
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

/** Merges the grouped results into rows keyed by the dimension values, plus totals. */
export function mergeReport(dims: Dimension[], results: ReportResults): { rows: ReportRow[]; totals: ReportRow } {
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
  const everyone = new SketchUnion();
  // A row's visitors: one sketch, or (reportParts) several to unite.
  const visitors = new Map<ReportRow, SketchUnion>();
  for (const r of results.visits) {
    const row = rowFor(r);
    row.visits += n(r.visits);
    row.clicks += n(r.clicks);
    row.previews += n(r.previews);
    if ('sketch' in r) {
      const s = sketchOf(r.sketch);
      const mine = visitors.get(row);
      if (mine) mine.addUnion(s);
      else visitors.set(row, s);
      everyone.addUnion(s);
    } else row.visitors += n(r.visitors);
    totals.visits += n(r.visits);
    totals.clicks += n(r.clicks);
    totals.previews += n(r.previews);
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
  // A sketch past 256 visitors is an estimate (~3%): never more visitors than visits.
  for (const [row, s] of visitors) row.visitors = Math.min(s.count(), row.visits);
  totals.visitors = results.visitors ?? Math.min(everyone.count(), totals.visits);
  // Days in date order (with two dimensions, days first); any other key by its orders.
  const day = dims.indexOf('day');
  const dayOf = (r: ReportRow) => (r.keys ?? [r.key ?? null])[day] ?? '';
  const sorted = [...rows.values()].map(rate).sort(
    (a, b) =>
      (day < 0 ? 0 : dayOf(a) < dayOf(b) ? -1 : dayOf(a) > dayOf(b) ? 1 : 0) ||
      b.orders - a.orders ||
      b.visits - a.visits ||
      b.clicks - a.clicks ||
      String(a.key ?? a.keys).localeCompare(String(b.key ?? b.keys)),
  );
  return { rows: sorted, totals: rate(totals) };
}
