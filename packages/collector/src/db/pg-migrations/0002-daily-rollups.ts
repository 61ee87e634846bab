// The daily rollups on PostgreSQL: the same tables, keys and columns as SQLite's
// 0002-daily-rollups.ts (see rollups.ts), filled from the rows already stored. '' stands for
// "none" in key columns. visitors is a sketch (sketch.ts) built in JavaScript: PostgreSQL has
// no lt_sketch(), so the backfill reads each group's distinct visitors and writes its sketch.
import { ORDER_SOURCE, ROLLUPS } from '../../rollups.js';
import { hashVisitor, sketchAdd } from '../../sketch.js';
import type { PgClient } from '../pg-pool.js';

const DAY_MS = 86_400_000;
const groupBy = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(', ');

const table = (name: string, columns: readonly string[]) => `
CREATE TABLE ${name} (
  site_id  TEXT NOT NULL,
  day      INTEGER NOT NULL,
${columns.map((c) => `  ${c} TEXT NOT NULL,`).join('\n')}
  visits   BIGINT NOT NULL DEFAULT 0,
  clicks   BIGINT NOT NULL DEFAULT 0,
  previews BIGINT NOT NULL DEFAULT 0,
  visitors BYTEA,
  PRIMARY KEY (site_id, day, ${columns.join(', ')})
);

INSERT INTO ${name} (site_id, day, ${columns.join(', ')}, visits)
SELECT site_id, ts / ${DAY_MS}, ${columns.map((c) => `COALESCE(${c}, '')`).join(', ')}, COUNT(*)
FROM visits GROUP BY ${groupBy(columns.length + 2)};

INSERT INTO ${name} AS r (site_id, day, ${columns.join(', ')}, clicks, previews)
SELECT site_id, ts / ${DAY_MS}, ${columns.map((c) => (c.startsWith('utm_') ? "''" : `COALESCE(${c}, '')`)).join(', ')},
       COUNT(*) FILTER (WHERE kind = 'click'), COUNT(*) FILTER (WHERE kind = 'preview')
FROM clicks GROUP BY ${groupBy(columns.length + 2)}
ON CONFLICT (site_id, day, ${columns.join(', ')}) DO UPDATE
  SET clicks = r.clicks + excluded.clicks, previews = r.previews + excluded.previews;
`;

// Completed conversions by day, attribution keys, currency and type (purchase, signup, …).
const orders = (name: string, columns: readonly string[]) => `
CREATE TABLE ${name} (
  site_id       TEXT NOT NULL,
  day           INTEGER NOT NULL,
${columns.map((c) => `  ${c} TEXT NOT NULL,`).join('\n')}
  currency      TEXT NOT NULL,
  type          TEXT NOT NULL,
  orders        BIGINT NOT NULL DEFAULT 0,
  tickets       BIGINT NOT NULL DEFAULT 0,
  revenue       BIGINT NOT NULL DEFAULT 0,
  new_customers BIGINT NOT NULL DEFAULT 0,
  scanned       BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, day, ${columns.join(', ')}, currency, type)
);

INSERT INTO ${name} (site_id, day, ${columns.join(', ')}, currency, type, orders, tickets, revenue, new_customers, scanned)
SELECT site_id, ts / ${DAY_MS}, ${columns.map((c) => `COALESCE(${ORDER_SOURCE[c]}, '')`).join(', ')}, currency, type,
       COUNT(*), SUM(tickets), SUM(value_minor), SUM(new_customer), SUM(scanned)
FROM conversions WHERE status = 'completed'
GROUP BY ${groupBy(columns.length + 4)};
`;

// Reports scan a range of conversions: a covering index keeps them off the wide rows
// (which carry the attribution's candidates). Keyed (site_id, ts, order_id), it also serves
// the order list's newest-first keyset pages without a sort (SQLite's index has order_id
// implicitly, from the table's key), so it replaces conversions_site_ts.
const coveringIndex = `
CREATE INDEX conversions_report ON conversions (site_id, ts, order_id) INCLUDE (type, status, currency, event, link_code,
  link_affiliate, channel, source, utm_source, utm_medium, utm_campaign, tickets, value_minor, new_customer, scanned);
DROP INDEX IF EXISTS conversions_site_ts;
`;

export async function up(c: PgClient): Promise<void> {
  await c.query(ROLLUPS.map((r) => table(r.table, r.columns) + orders(r.orders, r.columns)).join('\n') + coveringIndex);
  for (const r of ROLLUPS) {
    const keys = ['site_id', 'day', ...r.columns];
    const groups = await c.query(
      `SELECT site_id, ts / ${DAY_MS} AS day, ${r.columns.map((col) => `COALESCE(${col}, '') AS ${col}`).join(', ')},
         array_agg(DISTINCT vid) AS vids
       FROM visits GROUP BY ${groupBy(keys.length)}`,
    );
    for (const g of groups.rows) {
      const sketch = sketchAdd(null, ...(g.vids as string[]).map(hashVisitor));
      await c.query(`UPDATE ${r.table} SET visitors = $1 WHERE ${keys.map((k, i) => `${k} = $${i + 2}`).join(' AND ')}`, [
        sketch,
        ...keys.map((k) => g[k]),
      ]);
    }
  }
}
