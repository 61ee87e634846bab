// Opening a PostgreSQL pool the way the store expects it: BIGINT (times, money, counts)
// read as JavaScript numbers, refusing any that would lose precision, and an optional schema.
import pg from 'pg';
import { isSqlError } from '../errors.js';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

const INT8 = 20;
const NUMERIC = 1700;

function safeInteger(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`PostgreSQL integer ${text} is beyond JavaScript's safe range`);
  return n;
}

// SUM() of BIGINT answers NUMERIC: whole sums must stay exact; others (averages) are floats.
function numeric(text: string): number {
  const n = Number(text);
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) throw new RangeError(`PostgreSQL number ${text} is beyond JavaScript's safe range`);
  return n;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8) return safeInteger;
    if (oid === NUMERIC) return numeric;
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PgPoolOptions {
  /** postgres://user:pass@host:port/db (DATABASE_URL). */
  url: string;
  /** Tables live in this schema (must exist); default: the role's search_path. */
  schema?: string | null;
  /** Connections per process. Default 10. */
  max?: number;
  /** Connecting, or waiting for a free pooled connection, gives up after this. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * The server cancels a statement after this, and the client gives up one second later (a
   * server that does not answer at all). 0: no limit. Default 5 s; reports and other long
   * reads set their own (PgStoreOptions.longReadTimeoutMs).
   */
  statementTimeoutMs?: number;
}

export const CONNECT_TIMEOUT_MS = 5_000;
export const STATEMENT_TIMEOUT_MS = 5_000;
/** How much longer than the server's statement limit the client waits for an answer. */
export const ANSWER_GRACE_MS = 1_000;

/** How to reach the database and its schema: for the pool and for connections of their own. */
export function connectionConfig(options: PgPoolOptions, name = 'linktrail-collector'): pg.ClientConfig {
  return {
    connectionString: options.url,
    types,
    application_name: name,
    // A schema name is an identifier, never user input; quoted anyway.
    options: options.schema ? `-c search_path=${quoteIdent(options.schema)}` : undefined,
  };
}

export function openPgPool(options: PgPoolOptions): PgPool {
  const statement = options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    ...connectionConfig(options),
    max: options.max ?? 10,
    // Without these a server that stops answering (frozen, cut off) holds every request forever.
    connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    statement_timeout: statement || undefined,
    query_timeout: statement ? statement + ANSWER_GRACE_MS : undefined,
    // A collector that stops mid-transaction must not hold its visitors' locks for long.
    idle_in_transaction_session_timeout: 30_000,
    keepAlive: true,
  });
  // An idle client losing its connection (server restart) must not crash the process;
  // the pool drops it and the next query opens a fresh one.
  pool.on('error', () => {});
  // Nor one that is checked out between two queries (the pool listens only while it is idle):
  // its next query fails, and whoever holds it drops it (pg-batcher.ts, pg-store.ts).
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * After a transaction failed on `client`: rolled back when the server refused a statement (the
 * connection is fine), else the connection is broken. What to release the client with: an
 * error drops it from the pool instead of handing it to the next request.
 */
export async function afterFailure(client: PgClient, error: unknown): Promise<Error | undefined> {
  if (!isSqlError(error)) return error as Error;
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Rewrites portable `?` placeholders (report.ts) to PostgreSQL's `$1, $2, …`, skipping quoted text. */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '?') {
      out += `$${++n}`;
      continue;
    }
    out += ch;
  }
  return out;
}
