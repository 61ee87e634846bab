// The daily rollups on PostgreSQL: the same tables, keys and columns as SQLite's
// 0002-daily-rollups.ts (see rollups.ts), filled from the rows already stored. '' stands for
// "none" in key columns. visitors is a sketch (sketch.ts) built in JavaScript: PostgreSQL has
// no lt_sketch(), so the backfill reads each group's distinct visitors and writes its sketch,
// a chunk of groups at a time.
import { ROLLUPS } from '../../rollups.js';
import { rollupTablesSql } from '../rollup-ddl.js';
import { hashVisitor, sketchAdd } from '../../sketch.js';
import type { PgClient } from '../pg-pool.js';

const DAY_MS = 86_400_000;
const groupBy = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(', ');

// Reports scan a range of conversions: a covering index keeps them off the wide rows
// (which carry the attribution's candidates). Keyed (site_id, ts, order_id), it also serves
// the order list's newest-first keyset pages without a sort (SQLite's index has order_id
// implicitly, from the table's key), so it replaces conversions_site_ts.
const coveringIndex = `
CREATE INDEX conversions_report ON conversions (site_id, ts, order_id) INCLUDE (type, status, currency, event, link_code,
  link_affiliate, channel, source, utm_source, utm_medium, utm_campaign, tickets, value_minor, new_customer, scanned);
DROP INDEX IF EXISTS conversions_site_ts;
`;

// Groups per round trip of the sketch backfill: a cursor keeps a big history's visitor ids out
// of memory but for this many groups at a time, and each chunk is one UPDATE.
const CHUNK = 500;

export async function up(c: PgClient): Promise<void> {
  await c.query(rollupTablesSql({ integer: 'BIGINT', blob: 'BYTEA', options: '', sketchOf: null }) + coveringIndex);
  for (const r of ROLLUPS) {
    const keys = ['site_id', 'day', ...r.columns];
    const types = keys.map((k) => (k === 'day' ? 'integer' : 'text'));
    await c.query(
      `DECLARE visitor_groups NO SCROLL CURSOR FOR
       SELECT site_id, ts / ${DAY_MS} AS day, ${r.columns.map((col) => `COALESCE(${col}, '') AS ${col}`).join(', ')},
         array_agg(DISTINCT vid) AS vids
       FROM visits GROUP BY ${groupBy(keys.length)}`,
    );
    for (;;) {
      const groups = (await c.query(`FETCH ${CHUNK} FROM visitor_groups`)).rows;
      if (groups.length === 0) break;
      await c.query(
        `UPDATE ${r.table} r SET visitors = u.visitors
         FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}, $${keys.length + 1}::bytea[]) AS u(${keys.join(', ')}, visitors)
         WHERE ${keys.map((k) => `r.${k} = u.${k}`).join(' AND ')}`,
        [...keys.map((k) => groups.map((g) => g[k])), groups.map((g) => sketchAdd(null, ...(g.vids as string[]).map(hashVisitor)))],
      );
    }
    await c.query('CLOSE visitor_groups');
  }
}
