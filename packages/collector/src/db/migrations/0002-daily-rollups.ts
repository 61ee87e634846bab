// Report counts kept per UTC day at write time (see rollups.ts), so a report reads days x
// keys, not every visit. Empty strings stand for "none" (a NULL would defeat the upsert).
// visitors is a distinct-visitor sketch (sketch.ts); lt_sketch() is registered by open-sqlite.
import { rollupTablesSql } from '../rollup-ddl.js';

// Reports scan a range of conversions: a covering index keeps them off the wide rows
// (which carry the attribution's candidates).
const coveringIndex = `
CREATE INDEX IF NOT EXISTS conversions_report ON conversions (site_id, ts, type, status, currency, event, link_code,
  link_affiliate, channel, source, utm_source, utm_medium, utm_campaign, tickets, value_minor, new_customer, scanned);
`;

/** The rollup tables as SQLite holds them. */
export const SQLITE_ROLLUPS = { integer: 'INTEGER', blob: 'BLOB', options: ' STRICT, WITHOUT ROWID', sketchOf: 'lt_sketch(vid)' };

export const up = rollupTablesSql(SQLITE_ROLLUPS) + coveringIndex;
