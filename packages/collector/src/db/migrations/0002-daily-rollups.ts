// Report counts kept per UTC day at write time (see rollups.ts), so a report reads days x
// keys, not every visit. Empty strings stand for "none" (a NULL would defeat the upsert).
// visitors is a distinct-visitor sketch (sketch.ts); lt_sketch() is registered by open-sqlite.
import { ORDER_SOURCE, ROLLUPS } from '../../rollups.js';

const table = (name: string, columns: readonly string[]) => `
CREATE TABLE ${name} (
  site_id  TEXT NOT NULL,
  day      INTEGER NOT NULL,
${columns.map((c) => `  ${c} TEXT NOT NULL,`).join('\n')}
  visits   INTEGER NOT NULL DEFAULT 0,
  clicks   INTEGER NOT NULL DEFAULT 0,
  previews INTEGER NOT NULL DEFAULT 0,
  visitors BLOB,
  PRIMARY KEY (site_id, day, ${columns.join(', ')})
) STRICT, WITHOUT ROWID;

INSERT INTO ${name} (site_id, day, ${columns.join(', ')}, visits, visitors)
SELECT site_id, ts / 86400000, ${columns.map((c) => `COALESCE(${c}, '')`).join(', ')}, COUNT(*), lt_sketch(vid)
FROM visits GROUP BY ${columns.map((_, i) => i + 1).concat([columns.length + 1, columns.length + 2]).join(', ')};

INSERT INTO ${name} (site_id, day, ${columns.join(', ')}, clicks, previews)
SELECT site_id, ts / 86400000, ${columns.map((c) => (c.startsWith('utm_') ? "''" : `COALESCE(${c}, '')`)).join(', ')},
       SUM(kind = 'click'), SUM(kind = 'preview')
FROM clicks WHERE true GROUP BY ${columns.map((_, i) => i + 1).concat([columns.length + 1, columns.length + 2]).join(', ')}
ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks, previews = previews + excluded.previews;
`;

// Completed conversions by day, attribution keys, currency and type (purchase, signup, …).
const orders = (name: string, columns: readonly string[]) => `
CREATE TABLE ${name} (
  site_id       TEXT NOT NULL,
  day           INTEGER NOT NULL,
${columns.map((c) => `  ${c} TEXT NOT NULL,`).join('\n')}
  currency      TEXT NOT NULL,
  type          TEXT NOT NULL,
  orders        INTEGER NOT NULL DEFAULT 0,
  tickets       INTEGER NOT NULL DEFAULT 0,
  revenue       INTEGER NOT NULL DEFAULT 0,
  new_customers INTEGER NOT NULL DEFAULT 0,
  scanned       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, day, ${columns.join(', ')}, currency, type)
) STRICT, WITHOUT ROWID;

INSERT INTO ${name} (site_id, day, ${columns.join(', ')}, currency, type, orders, tickets, revenue, new_customers, scanned)
SELECT site_id, ts / 86400000, ${columns.map((c) => `COALESCE(${ORDER_SOURCE[c]}, '')`).join(', ')}, currency, type,
       COUNT(*), SUM(tickets), SUM(value_minor), SUM(new_customer), SUM(scanned)
FROM conversions WHERE status = 'completed'
GROUP BY ${Array.from({ length: columns.length + 4 }, (_, i) => i + 1).join(', ')};
`;

// Reports scan a range of conversions: a covering index keeps them off the wide rows
// (which carry the attribution's candidates).
const coveringIndex = `
CREATE INDEX IF NOT EXISTS conversions_report ON conversions (site_id, ts, type, status, currency, event, link_code,
  link_affiliate, channel, source, utm_source, utm_medium, utm_campaign, tickets, value_minor, new_customer, scanned);
`;

export const up = ROLLUPS.map((r) => table(r.table, r.columns) + orders(r.orders, r.columns)).join('\n') + coveringIndex;
