import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './migrations/index.js';

export type Sqlite = Database.Database;

/**
 * Opens (creating if needed) a SQLite database in WAL mode and applies pending migrations.
 * `wal` is true when the WAL is on: the caller then owes an fsync of it before acknowledging
 * (wal-sync.ts); otherwise every commit syncs itself.
 */
export function openSqlite(file: string): { db: Sqlite; wal: boolean } {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  const wal = db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  // NORMAL in WAL mode: a commit reaches the OS without blocking the event loop on fsync;
  // the batcher fsyncs the WAL off-thread before it acknowledges. FULL where there is no WAL.
  db.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return { db, wal };
}

export function migrate(db: Sqlite): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(
      `database schema version ${current} is newer than this collector (knows ${migrations.length}); upgrade linktrail`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!.up);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
