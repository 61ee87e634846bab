// The store a test app runs on: SQLite in a temp folder, or, when LINKTRAIL_TEST_DATABASE_URL
// is set, PostgreSQL in a fresh schema of that database (dropped on dispose), so test files
// run in parallel without seeing each other's rows. Tests read stored rows through `sql`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPgStore, pgDialect } from '../src/db/pg-store.js';
import { quoteIdent, toPgPlaceholders } from '../src/db/pg-pool.js';
import { migrations } from '../src/db/migrations/index.js';
import { pgMigrations } from '../src/db/pg-migrations/index.js';
import { createSqliteStore, sqliteDialect } from '../src/db/sqlite-store.js';
import { randomId } from '../src/ids.js';
import type { Dialect } from '../src/report.js';
import type { Store } from '../src/store.js';

/** postgres://… of a server the tests may create schemas in; unset: SQLite only. */
export const PG_URL = process.env.LINKTRAIL_TEST_DATABASE_URL || null;
/** The store every test app of this run uses. */
export const STORE_KIND: 'sqlite' | 'postgres' = PG_URL ? 'postgres' : 'sqlite';

export type SqlRow = Record<string, unknown>;

export interface TestStore {
  store: Store;
  dialect: Dialect;
  /** Runs a read with `?` placeholders on the app's database; integers come back as numbers. */
  sql(text: string, ...params: unknown[]): Promise<SqlRow[]>;
  /** The query plan as text, for index checks (PostgreSQL plans with seq scans disabled). */
  explain(text: string, params: unknown[]): Promise<string>;
  /** The names of the app's tables. */
  tables(): Promise<string[]>;
  /** Runs statements without results (DDL), then schema migration `version` of this store again. */
  remigrate(statements: string, version: number): Promise<void>;
  dispose(): Promise<void>;
}

async function admin<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Options of the PostgreSQL store (ignored on SQLite). */
export interface TestStoreOptions {
  /** Default: the store's own. A long delay keeps rollup changes pending until foldRollups(). */
  foldDelayMs?: number;
}

export async function createTestStore(dir?: string, options: TestStoreOptions = {}): Promise<TestStore> {
  if (PG_URL) {
    const url = PG_URL;
    const schema = `lt_test_${randomId(9).toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
    await admin(url, (c) => c.query(`CREATE SCHEMA ${quoteIdent(schema)}`));
    const store = await createPgStore({ url, schema, max: 4, foldDelayMs: options.foldDelayMs });
    return {
      store,
      dialect: pgDialect,
      sql: async (text, ...params) => (await store.pool.query(toPgPlaceholders(text), params)).rows,
      async explain(text, params) {
        const client = await store.pool.connect();
        try {
          await client.query('SET enable_seqscan = off');
          const plan = await client.query(`EXPLAIN ${toPgPlaceholders(text)}`, params);
          return plan.rows.map((r: SqlRow) => String(r['QUERY PLAN'])).join('\n');
        } finally {
          await client.query('RESET enable_seqscan');
          client.release();
        }
      },
      tables: async () =>
        (await store.pool.query('SELECT tablename FROM pg_tables WHERE schemaname = current_schema()')).rows.map((r) => String(r.tablename)),
      async remigrate(statements, version) {
        // Rebuilt rollups hold every change: none may stay pending as well.
        await store.foldRollups();
        const client = await store.pool.connect();
        try {
          // As migratePg runs it: in one transaction.
          await client.query('BEGIN');
          await client.query(statements);
          const { up } = pgMigrations[version - 1]!;
          await (typeof up === 'string' ? client.query(up) : up(client));
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        } finally {
          client.release();
        }
      },
      dispose: () => admin(url, (c) => c.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`)).then(() => undefined),
    };
  }
  const folder = dir ?? mkdtempSync(join(tmpdir(), 'linktrail-test-'));
  const store = createSqliteStore(join(folder, 'test.db'));
  return {
    store,
    dialect: sqliteDialect,
    sql: async (text, ...params) => store.db.prepare(text).all(...params) as SqlRow[],
    explain: async (text, params) =>
      (store.db.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join('\n'),
    tables: async () => store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[],
    remigrate: async (statements, version) => {
      store.db.exec(statements);
      const { up } = migrations[version - 1]!;
      if (typeof up === 'string') store.db.exec(up);
      else up(store.db);
    },
    dispose: async () => {
      if (!dir) rmSync(folder, { recursive: true, force: true });
    },
  };
}
