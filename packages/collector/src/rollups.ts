// The daily rollups: narrow tables, one per group of report keys, so a report reads days x
// its own keys (e.g. 30 x 200 codes), never days x every key combination. A report uses the
// narrowest rollup that has all its dimensions; anything else reads the raw tables.
import type { Dimension } from './report.js';

export interface Rollup {
  /** Traffic: visits, clicks, previews, visitor sketches. */
  table: string;
  /** Conversions (completed ones) by currency and type: orders, tickets, revenue, new customers, scans. */
  orders: string;
  /** Key columns besides site_id and day; '' stands for none. */
  columns: readonly string[];
  /** The report dimensions it can answer (with day, and ticket_type as "none"). */
  dims: readonly Dimension[];
  /** Can restrict to a promoter's codes. */
  codes: boolean;
}

export const ROLLUPS: readonly Rollup[] = [
  { table: 'daily_totals', orders: 'daily_totals_orders', columns: ['event'], dims: ['event'], codes: false },
  { table: 'daily_codes', orders: 'daily_codes_orders', columns: ['code', 'event'], dims: ['code', 'affiliate', 'event'], codes: true },
  {
    table: 'daily_sources',
    orders: 'daily_sources_orders',
    columns: ['channel', 'source', 'event'],
    dims: ['channel', 'source', 'event'],
    codes: false,
  },
  {
    table: 'daily_utm',
    orders: 'daily_utm_orders',
    columns: ['utm_source', 'utm_medium', 'utm_campaign', 'event'],
    dims: ['utm_source', 'utm_medium', 'utm_campaign', 'event'],
    codes: false,
  },
];

/** Columns of a conversion row that feed each rollup key (its attribution, frozen at write time). */
export const ORDER_SOURCE: Record<string, string> = {
  code: 'link_code',
  event: 'event',
  channel: 'channel',
  source: 'source',
  utm_source: 'utm_source',
  utm_medium: 'utm_medium',
  utm_campaign: 'utm_campaign',
};
export const TRAFFIC_COUNTS = ['visits', 'clicks', 'previews'] as const;
export const ORDER_COUNTS = ['orders', 'tickets', 'revenue', 'new_customers', 'scanned'] as const;

export function rollupFor(dims: readonly Dimension[], codes: boolean): Rollup | null {
  return (
    ROLLUPS.find((r) => (!codes || r.codes) && dims.every((d) => d === 'day' || d === 'ticket_type' || r.dims.includes(d))) ?? null
  );
}

/** The values a visit or click contributes under, by column name. */
export interface RollupFacts {
  channel: string;
  source: string | null;
  code: string | null;
  event: string | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
}

export interface RollupDelta {
  table: string;
  day: number;
  /** site_id, then the rollup's key columns (and, for order tables, currency and type). */
  keys: string[];
  counts: Record<string, number>;
  /** Visitor hashes of the visits (see sketch.ts); traffic tables only. */
  hashes: number[];
}

/** A conversion as the order rollups see it. */
export interface OrderFacts extends RollupFacts {
  currency: string;
  type: string;
}

/** Accumulates one batch's rollup changes, so each touched row is written once per batch. */
export class RollupBatch {
  readonly deltas = new Map<string, RollupDelta>();

  /**
   * The batch's row of `table` for these keys (`extra`: an order table's currency and type).
   * Found by a key string alone, so a row the batch has already seen costs no arrays.
   */
  private delta(table: string, columns: readonly string[], day: number, siteId: string, facts: RollupFacts, extra?: readonly string[]): RollupDelta {
    // Joined by NUL, which no stored value holds (ingest.ts drops it): a newline could.
    let id = `${table}\0${day}\0${siteId}`;
    for (const c of columns) id += `\0${facts[c as keyof RollupFacts] ?? ''}`;
    if (extra) for (const e of extra) id += `\0${e}`;
    let d = this.deltas.get(id);
    if (!d) {
      const keys = [siteId, ...columns.map((c) => facts[c as keyof RollupFacts] ?? ''), ...(extra ?? [])];
      d = { table, day, keys, counts: {}, hashes: [] };
      this.deltas.set(id, d);
    }
    return d;
  }

  add(siteId: string, day: number, facts: RollupFacts, change: { visits?: number; clicks?: number; previews?: number; hash?: number }) {
    for (const r of ROLLUPS) {
      const d = this.delta(r.table, r.columns, day, siteId, facts);
      for (const k of TRAFFIC_COUNTS) d.counts[k] = (d.counts[k] ?? 0) + (change[k] ?? 0);
      if (change.hash !== undefined) d.hashes.push(change.hash);
    }
  }

  /** A completed conversion enters (sign 1) or leaves (sign -1) the figures, or changes by `change`. */
  addOrder(siteId: string, day: number, facts: OrderFacts, change: Partial<Record<(typeof ORDER_COUNTS)[number], number>>) {
    const extra = [facts.currency, facts.type];
    for (const r of ROLLUPS) {
      const d = this.delta(r.orders, r.columns, day, siteId, facts, extra);
      for (const k of ORDER_COUNTS) d.counts[k] = (d.counts[k] ?? 0) + (change[k] ?? 0);
    }
  }

  clear() {
    this.deltas.clear();
  }
}
