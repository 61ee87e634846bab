// Databases made by early builds ran an older 0002, which this file's version replaced (it
// was edited after it shipped, against the rule in index.ts): some lack the order rollups
// (daily_*_orders) or have rollups of other columns (daily_stats), and every order, and
// every report they answer, then failed. Each rollup table the code writes is made here when
// it is missing or not as the code has it, and filled from the stored rows, as 0002 does.
import type { Database } from 'better-sqlite3';
import { rollupTables } from '../rollup-ddl.js';
import { SQLITE_ROLLUPS } from './0002-daily-rollups.js';

export function up(db: Database): void {
  for (const { table, columns, sql } of rollupTables(SQLITE_ROLLUPS)) {
    const held = (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);
    if (held.join() === columns.join()) continue;
    if (held.length > 0) db.exec(`DROP TABLE ${table}`);
    db.exec(sql);
  }
  // The one wide rollup the first builds kept, read by nothing since.
  db.exec('DROP TABLE IF EXISTS daily_stats');
}
