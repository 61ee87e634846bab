// The Store on PostgreSQL, for several collector processes sharing one database. Same tables,
// same report SQL (report.ts, `?` rewritten to `$n`) and same answers as the SQLite store.
// Reads go straight to the pool; writes go through the group-commit batcher (pg-batcher.ts).
import { orderListQuery, toOrderSummary } from '../order-list.js';
import { FROM_DATABASE } from '../errors.js';
import { combineParts, mergeReport, reportParts, type Dialect, type ResultRow, type Sql } from '../report.js';
import { RollupBatch } from '../rollups.js';
import type { Conflict, Store } from '../store.js';
import { createPgBatcher, type PgJob } from './pg-batcher.js';
import { migratePg } from './pg-migrate.js';
import { afterFailure, ANSWER_GRACE_MS, connectionConfig, openPgPool, toPgPlaceholders, type PgClient, type PgPool, type PgPoolOptions } from './pg-pool.js';
import { createSiteWatch } from './pg-site-watch.js';
import { createRollupFolder } from './pg-folder.js';
import { appendPending, liveRollup } from './pg-rollups.js';
import { pgSites } from './pg-sites.js';
import { lockAll, orderLock, visitorLock } from './pg-visitors.js';
import {
  conversionLocks, hitLocks, readConversion, writeClick, writeConversion, writeHits, writeOrderStatus, writeScanned,
  type BatchContext,
} from './pg-writes.js';
import { str, toAffiliate, toCode, toEvent, type Row } from './rows.js';

export const pgDialect: Dialect = {
  day: (col) => `to_char(to_timestamp(${col} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  dayNumber: (col) => `to_char(to_timestamp(${col}::bigint * 86400) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  // No sketch merge in SQL: the group's sketches, merged by report.ts (sketchOf).
  sketchUnion: (col) => `array_agg(${col})`,
  sketchOfIds: (col) => `array_agg(DISTINCT ${col})`,
  // Rollup rows plus the changes not yet folded into them (pg-rollups.ts): reads see every commit.
  rollup: liveRollup,
  inJsonList: (col) => `${col} IN (SELECT json_array_elements_text(?::json))`,
};

const CONFLICT: Conflict = { conflict: true };
const isUniqueViolation = (error: unknown) => (error as { code?: string } | null)?.code === '23505';

export type PgStore = Store & {
  pool: PgPool;
  /** Folds every pending rollup change now (pg-folder.ts); writes never need to wait for it. */
  foldRollups(): Promise<void>;
};

export interface PgStoreOptions extends PgPoolOptions {
  /** Wait between a batch's commit and folding its rollup changes. Default 50 ms. */
  foldDelayMs?: number;
  /** Where a failed rollup fold is reported (its changes stay pending). Default: stderr. */
  onFoldError?: (error: unknown) => void;
  /** The statement limit of reports and other reads that may rightly take long (start-up's). Default 60 s. */
  longReadTimeoutMs?: number;
}

/**
 * The store with every error it rejects with marked as the database's, so that the app answers
 * a lost or unreachable database with 503 (errors.ts databaseUnavailable), and only that.
 */
function markingErrors<T extends object>(store: T): T {
  const mark = (error: unknown): never => {
    if (typeof error === 'object' && error !== null && !(FROM_DATABASE in error)) Object.defineProperty(error, FROM_DATABASE, { value: true });
    throw error;
  };
  const methods = store as Record<string, unknown>;
  for (const [key, value] of Object.entries(methods)) {
    if (typeof value !== 'function') continue;
    methods[key] = (...args: unknown[]) => {
      const result: unknown = value(...args);
      return result instanceof Promise ? result.catch(mark) : result;
    };
  }
  return store;
}


/** Rejects with a timeout (ETIMEDOUT) unless `work` settles within `ms`. */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

const logFoldError = (error: unknown) =>
  console.error(`linktrail: folding rollup changes failed, they stay pending: ${error instanceof Error ? error.message : String(error)}`);

/** Connects, applies pending migrations (under a lock), and returns the store. */
export async function createPgStore(options: PgStoreOptions): Promise<PgStore> {
  // Migrations may rightly take long (a backfill): on a connection without a statement limit.
  const migrating = openPgPool({ ...options, max: 1, statementTimeoutMs: 0 });
  try {
    await migratePg(migrating);
  } finally {
    await migrating.end();
  }
  const pool = openPgPool(options);
  const longRead = options.longReadTimeoutMs ?? 60_000;
  const folder = createRollupFolder(pool, { delayMs: options.foldDelayMs, onError: options.onFoldError ?? logFoldError });
  const batcher = createPgBatcher<BatchContext>(pool, {
    lock: async (c, keys) => ({ lastSeen: await lockAll(c, keys), rollup: new RollupBatch(), pending: false }),
    beforeCommit: async (c, ctx) => {
      if (await appendPending(c, ctx.rollup)) ctx.pending = true;
    },
    afterCommit: (ctx) => {
      if (ctx.pending) folder.request();
    },
  });
  // What a process killed earlier left pending.
  folder.request();
  const sites = createSiteWatch({ client: connectionConfig(options, 'linktrail-site-changes') });

  const rows = async (text: string, params: unknown[] = []): Promise<Row[]> => (await pool.query(text, params)).rows;

  /** Runs `work` in a read-only transaction whose statements may take up to longReadTimeoutMs. */
  async function reading<T>(work: (run: (text: string, params: unknown[]) => Promise<Row[]>) => Promise<T>, isolation = ''): Promise<T> {
    const client: PgClient = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN${isolation} READ ONLY`);
      await client.query("SELECT set_config('statement_timeout', $1, true)", [String(longRead)]);
      const run = async (text: string, params: unknown[]) =>
        (await client.query({ text, values: params, query_timeout: longRead + ANSWER_GRACE_MS } as { text: string; values: unknown[] })).rows;
      const result = await work(run);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that did not answer is dropped, not handed to the next request.
      broken = await afterFailure(client, error);
      throw error;
    } finally {
      client.release(broken);
    }
  }
  const one = async (text: string, params: unknown[] = []): Promise<Row | undefined> => (await rows(text, params))[0];
  /** A write of one statement; resolves with the number of rows it changed. */
  const write = (text: string, params: unknown[]) =>
    batcher.enqueue(async (c) => (await c.query(text, params)).rowCount ?? 0);

  async function insertOrConflict<T>(value: T, job: PgJob<unknown, BatchContext>): Promise<T | Conflict> {
    try {
      await batcher.enqueue(job);
      return value;
    } catch (error) {
      if (isUniqueViolation(error)) return CONFLICT;
      throw error;
    }
  }

  return markingErrors({
    kind: 'postgres',
    pool,

    async getSetting(key) {
      return str((await one('SELECT value FROM settings WHERE key = $1', [key]))?.value);
    },
    async setSetting(key, value) {
      await write('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
    },
    initSetting(key, value) {
      return batcher.enqueue(async (c) => {
        await c.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
        return String((await c.query('SELECT value FROM settings WHERE key = $1', [key])).rows[0].value);
      });
    },

    ...pgSites({ pool, write: (job) => batcher.enqueue(job), insertOrConflict }),

    createEvent(siteId, e) {
      return insertOrConflict(e, (c) =>
        c.query('INSERT INTO events (site_id, id, name, url, starts_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          siteId, e.id, e.name, e.url, e.startsAt, Date.now(),
        ]),
      );
    },
    async getEvent(siteId, id) {
      const r = await one('SELECT * FROM events WHERE site_id = $1 AND id = $2', [siteId, id]);
      return r ? toEvent(r) : null;
    },

    createAffiliate(siteId, a) {
      return insertOrConflict(a, (c) =>
        c.query('INSERT INTO affiliates (site_id, id, name, nickname, email, parent, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          siteId, a.id, a.name, a.nickname, a.email, a.parent, Date.now(),
        ]),
      );
    },
    async getAffiliate(siteId, id) {
      const r = await one('SELECT * FROM affiliates WHERE site_id = $1 AND id = $2', [siteId, id]);
      return r ? toAffiliate(r) : null;
    },
    async listAffiliates(siteId) {
      return (await rows('SELECT * FROM affiliates WHERE site_id = $1 ORDER BY created_at, id', [siteId])).map(toAffiliate);
    },
    async countRecruits(siteId, ids, since) {
      const r = await one(
        'SELECT COUNT(*) AS n FROM affiliates WHERE site_id = $1 AND parent IS NOT NULL AND created_at >= $2 AND id = ANY($3::text[])',
        [siteId, since, ids],
      );
      return Number(r?.n ?? 0);
    },
    async setAffiliateToken(siteId, id, tokenHash) {
      await write('UPDATE affiliates SET token_hash = $1 WHERE site_id = $2 AND id = $3', [tokenHash, siteId, id]);
    },
    async affiliateByTokenHash(tokenHash) {
      const r = await one('SELECT * FROM affiliates WHERE token_hash = $1', [tokenHash]);
      return r ? { siteId: String(r.site_id), affiliate: toAffiliate(r) } : null;
    },

    createCode(siteId, c) {
      return insertOrConflict(c, (client) =>
        client.query('INSERT INTO codes (site_id, code, affiliate, event, target, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          siteId, c.code, c.affiliate, c.event, c.target, c.createdAt,
        ]),
      );
    },
    async getCode(siteId, code) {
      const r = await one('SELECT * FROM codes WHERE site_id = $1 AND code = $2', [siteId, code]);
      return r ? toCode(r) : null;
    },
    async findCode(code) {
      const r = await one('SELECT * FROM codes WHERE code = $1 ORDER BY created_at, site_id LIMIT 1', [code]);
      return r ? { siteId: String(r.site_id), code: toCode(r) } : null;
    },
    async codeSeen(siteId, code) {
      const seen = `SELECT 1 AS seen FROM ${liveRollup('daily_codes')} v WHERE site_id = $1 AND code = $2 LIMIT 1`;
      return (await one(seen, [siteId, code])) !== undefined;
    },
    async listCodes(siteId) {
      return (await rows('SELECT * FROM codes WHERE site_id = $1 ORDER BY created_at, code', [siteId])).map(toCode);
    },

    async recentVisitors(sinceTs) {
      // Every visitor of the last 30 minutes, at start-up: a long read on a busy database.
      const r = await reading((run) => run('SELECT site_id, vid, MAX(ts) AS ts FROM hits WHERE ts >= $1 GROUP BY site_id, vid', [sinceTs]));
      return r.map((v) => ({ siteId: String(v.site_id), vid: String(v.vid), ts: Number(v.ts) }));
    },

    async hitTimes(siteId, vids, from, to) {
      // Read by the time index: every site's hits of the window pass by.
      const r = await reading((run) => run('SELECT vid, ts FROM hits WHERE ts >= $1 AND ts <= $2 AND site_id = $3 AND vid = ANY($4::text[])', [from, to, siteId, vids]));
      return r.map((h) => ({ vid: String(h.vid), ts: Number(h.ts) }));
    },

    async storedHits(siteId, hits) {
      const times = [...new Set(hits.map((h) => h.ts))];
      const vids = [...new Set(hits.map((h) => h.vid))];
      const r = await reading((run) => run('SELECT vid, ts, url FROM hits WHERE ts = ANY($1::bigint[]) AND site_id = $2 AND vid = ANY($3::text[])', [times, siteId, vids]));
      return r.map((h) => ({ vid: String(h.vid), ts: Number(h.ts), url: String(h.url) }));
    },

    async recordHits(hits) {
      if (hits.length === 0) return;
      await batcher.enqueueMerged({ kind: 'hits', items: hits, write: writeHits }, hitLocks(hits));
    },
    async recordClick(k) {
      await batcher.enqueue((c, ctx) => writeClick(c, k, ctx), k.vid ? [visitorLock(k.siteId, k.vid)] : []);
    },

    recordConversion(conv, windowDays, decide) {
      return batcher.enqueue((c, ctx) => writeConversion(c, conv, windowDays, decide, ctx), conversionLocks(conv));
    },
    getConversion(siteId, order) {
      return readConversion(pool, siteId, order);
    },
    setOrderStatus(siteId, order, status) {
      return batcher.enqueue((c, ctx) => writeOrderStatus(c, siteId, order, status, ctx), [orderLock(siteId, order)]);
    },
    setScanned(siteId, order, scanned) {
      return batcher.enqueue((c, ctx) => writeScanned(c, siteId, order, scanned, ctx), [orderLock(siteId, order)]);
    },
    async listOrders(siteId, query) {
      const q = orderListQuery(siteId, query);
      return (await rows(toPgPlaceholders(q.text), q.params)).map(toOrderSummary);
    },

    async report(siteId, query) {
      const parts = reportParts(siteId, query, pgDialect);
      // One snapshot for all the queries, so rows and totals always agree.
      return reading(async (read) => {
        const run = async (s: Sql) => (await read(toPgPlaceholders(s.text), s.params)) as ResultRow[];
        const results = [];
        for (const q of parts) {
          results.push({
            visits: await run(q.visits),
            clicks: q.clicks ? await run(q.clicks) : [],
            orders: await run(q.orders),
            orderTotals: await run(q.orderTotals),
            goals: await run(q.goals),
            goalTotals: await run(q.goalTotals),
            visitors: q.visitors ? Number((await run(q.visitors))[0]?.visitors ?? 0) : null,
          });
        }
        return mergeReport(query.dims, combineParts(results));
      }, ' ISOLATION LEVEL REPEATABLE READ');
    },

    foldRollups: () => folder.flush(),

    async ping(timeoutMs) {
      await within(pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as { text: string }), timeoutMs, 'PostgreSQL');
    },

    watchSites: (listener) => sites.watch(listener),

    async close() {
      await batcher.drain();
      // Tidy, not needed: whatever stays pending is read by reports and folded by any process.
      await folder.flush().catch(options.onFoldError ?? logFoldError);
      await folder.close();
      await sites.close();
      await pool.end();
    },
  });
}
