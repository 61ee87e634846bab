import type { RunResult } from 'better-sqlite3';
import type { Conflict } from '../store.js';

export type Row = Record<string, unknown>;

/** What the SQLite repositories share: cached statements on the one connection, and the group commit. */
export interface SqliteAccess {
  get(sql: string, ...params: unknown[]): Row | undefined;
  all(sql: string, ...params: unknown[]): Row[];
  run(sql: string, ...params: unknown[]): RunResult;
  /** Runs a write in the next group commit; settles once it is on disk. */
  write<T>(job: () => T): Promise<T>;
  /** The same, with a unique-key violation answered as a Conflict. */
  insertOrConflict<T>(job: () => T): Promise<T | Conflict>;
}
