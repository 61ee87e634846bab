// The daily rollup tables (see rollups.ts) and the SQL that fills them from rows already
// stored, for both stores: the only differences are a few words of dialect. '' stands for
// "none" in key columns (a NULL would defeat the upsert).
//
// Migrations 0002 (both stores) and SQLite's 0007 build from this file as it is now, so a new
// database gets a change here at once: its own migration, for the databases before it, must
// first look whether the change is there already (SQLite has no ADD COLUMN IF NOT EXISTS).
import { ORDER_SOURCE, ROLLUPS } from '../rollups.js';

export interface RollupDialect {
  /** Counter column type: INTEGER (SQLite, 64-bit) or BIGINT. */
  integer: string;
  /** Sketch column type: BLOB or BYTEA. */
  blob: string;
  /** Table options after the closing parenthesis, e.g. SQLite's STRICT. */
  options: string;
  /** An aggregate building a visitor sketch from vid, or null to leave sketches to the caller. */
  sketchOf: string | null;
}

const DAY_MS = 86_400_000;
const groupBy = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(', ');

function traffic(d: RollupDialect, name: string, columns: readonly string[]): string {
  const keys = `site_id, day, ${columns.join(', ')}`;
  return `
CREATE TABLE ${name} (
  site_id  TEXT NOT NULL,
  day      INTEGER NOT NULL,
${columns.map((c) => `  ${c} TEXT NOT NULL,`).join('\n')}
  visits   ${d.integer} NOT NULL DEFAULT 0,
  clicks   ${d.integer} NOT NULL DEFAULT 0,
  previews ${d.integer} NOT NULL DEFAULT 0,
  visitors ${d.blob},
  PRIMARY KEY (${keys})
)${d.options};

INSERT INTO ${name} (${keys}, visits${d.sketchOf ? ', visitors' : ''})
SELECT site_id, ts / ${DAY_MS}, ${columns.map((c) => `COALESCE(${c}, '')`).join(', ')}, COUNT(*)${d.sketchOf ? `, ${d.sketchOf}` : ''}
FROM visits GROUP BY ${groupBy(columns.length + 2)};

INSERT INTO ${name} AS r (${keys}, clicks, previews)
SELECT site_id, ts / ${DAY_MS}, ${columns.map((c) => (c.startsWith('utm_') ? "''" : `COALESCE(${c}, '')`)).join(', ')},
       COUNT(*) FILTER (WHERE kind = 'click'), COUNT(*) FILTER (WHERE kind = 'preview')
FROM clicks WHERE true GROUP BY ${groupBy(columns.length + 2)}
ON CONFLICT (${keys}) DO UPDATE SET clicks = r.clicks + excluded.clicks, previews = r.previews + excluded.previews;
`;
}

// Completed conversions by day, attribution keys, currency and type (purchase, signup, …).
function orders(d: RollupDialect, name: string, columns: readonly string[]): string {
  return `
CREATE TABLE ${name} (
  site_id       TEXT NOT NULL,
  day           INTEGER NOT NULL,
${columns.map((c) => `  ${c} TEXT NOT NULL,`).join('\n')}
  currency      TEXT NOT NULL,
  type          TEXT NOT NULL,
${['orders', 'tickets', 'revenue', 'new_customers', 'scanned'].map((c) => `  ${c.padEnd(13)} ${d.integer} NOT NULL DEFAULT 0,`).join('\n')}
  PRIMARY KEY (site_id, day, ${columns.join(', ')}, currency, type)
)${d.options};

INSERT INTO ${name} (site_id, day, ${columns.join(', ')}, currency, type, orders, tickets, revenue, new_customers, scanned)
SELECT site_id, ts / ${DAY_MS}, ${columns.map((c) => `COALESCE(${ORDER_SOURCE[c]}, '')`).join(', ')}, currency, type,
       COUNT(*), SUM(tickets), SUM(value_minor), SUM(new_customer), SUM(scanned)
FROM conversions WHERE status = 'completed'
GROUP BY ${groupBy(columns.length + 4)};
`;
}

const TRAFFIC_COUNTS = ['visits', 'clicks', 'previews', 'visitors'];
const ORDER_COUNTS = ['currency', 'type', 'orders', 'tickets', 'revenue', 'new_customers', 'scanned'];

/** Every rollup table: its name, its columns in order, and the SQL that creates and fills it. */
export const rollupTables = (d: RollupDialect): Array<{ table: string; columns: string[]; sql: string }> =>
  ROLLUPS.flatMap((r) => [
    { table: r.table, columns: ['site_id', 'day', ...r.columns, ...TRAFFIC_COUNTS], sql: traffic(d, r.table, r.columns) },
    { table: r.orders, columns: ['site_id', 'day', ...r.columns, ...ORDER_COUNTS], sql: orders(d, r.orders, r.columns) },
  ]);

/** Creates every rollup table and fills it from the stored visits, clicks and conversions. */
export const rollupTablesSql = (d: RollupDialect): string =>
  rollupTables(d)
    .map((t) => t.sql)
    .join('\n');
