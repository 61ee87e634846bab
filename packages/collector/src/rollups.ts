// The daily rollups: narrow tables, one per group of report keys, so a report reads days x
// its own keys (e.g. 30 x 200 codes), never days x every key combination. A report uses the
// narrowest rollup that has all its dimensions; anything else reads the raw tables.
import type { Dimension } from './report.js';

export interface Rollup {
  table: string;
  /** Key columns besides site_id and day; '' stands for none. */
  columns: readonly string[];
  /** The report dimensions it can answer (with day, and ticket_type as "none"). */
  dims: readonly Dimension[];
  /** Can restrict to a promoter's codes. */
  codes: boolean;
}

export const ROLLUPS: readonly Rollup[] = [
  { table: 'daily_totals', columns: ['event'], dims: ['event'], codes: false },
  { table: 'daily_codes', columns: ['code', 'event'], dims: ['code', 'affiliate', 'event'], codes: true },
  { table: 'daily_sources', columns: ['channel', 'source', 'event'], dims: ['channel', 'source', 'event'], codes: false },
  { table: 'daily_utm', columns: ['utm_source', 'utm_medium', 'utm_campaign', 'event'], dims: ['utm_source', 'utm_medium', 'utm_campaign', 'event'], codes: false },
];

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
  keys: string[];
  visits: number;
  clicks: number;
  previews: number;
  /** Visitor hashes of the visits (see sketch.ts). */
  hashes: number[];
}

/** Accumulates one batch's rollup changes, so each touched row is written once per batch. */
export class RollupBatch {
  readonly deltas = new Map<string, RollupDelta>();

  add(siteId: string, day: number, facts: RollupFacts, change: { visits?: number; clicks?: number; previews?: number; hash?: number }) {
    for (const r of ROLLUPS) {
      const keys = r.columns.map((c) => facts[c as keyof RollupFacts] ?? '');
      const id = `${r.table}\n${siteId}\n${day}\n${keys.join('\n')}`;
      let d = this.deltas.get(id);
      if (!d) {
        d = { table: r.table, day, keys: [siteId, ...keys], visits: 0, clicks: 0, previews: 0, hashes: [] };
        this.deltas.set(id, d);
      }
      d.visits += change.visits ?? 0;
      d.clicks += change.clicks ?? 0;
      d.previews += change.previews ?? 0;
      if (change.hash !== undefined) d.hashes.push(change.hash);
    }
  }

  clear() {
    this.deltas.clear();
  }
}
