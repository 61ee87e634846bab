// The Store on PostgreSQL, for several collector processes sharing one database. Same tables,
// same report SQL (report.ts, `?` rewritten to `$n`) and same answers as the SQLite store.
// Reads go straight to the pool; writes go through the group-commit batcher (pg-batcher.ts).
import { mergeReport, reportQueries, type Dialect, type ResultRow, type Sql } from '../report.js';
import type { Conflict, Store } from '../store.js';
import { createPgBatcher, type PgJob } from './pg-batcher.js';
import { migratePg } from './pg-migrate.js';
import { openPgPool, toPgPlaceholders, type PgPool, type PgPoolOptions } from './pg-pool.js';
import { lockAll, visitorLock, type LastSeen } from './pg-visitors.js';
import { conversionLocks, hitLocks, readConversion, writeClick, writeConversion, writeHits } from './pg-writes.js';
import { str, toAffiliate, toCode, toEvent, toSite, type Row } from './rows.js';

export const pgDialect: Dialect = {
  day: (col) => `to_char(to_timestamp(${col} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
};

const CONFLICT: Conflict = { conflict: true };
const isUniqueViolation = (error: unknown) => (error as { code?: string } | null)?.code === '23505';

export type PgStore = Store & { pool: PgPool };

/** Connects, applies pending migrations (under a lock), and returns the store. */
export async function createPgStore(options: PgPoolOptions): Promise<PgStore> {
  const pool = openPgPool(options);
  try {
    await migratePg(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const batcher = createPgBatcher(pool, { lock: lockAll });

  const rows = async (text: string, params: unknown[] = []): Promise<Row[]> => (await pool.query(text, params)).rows;
  const one = async (text: string, params: unknown[] = []): Promise<Row | undefined> => (await rows(text, params))[0];
  /** A write of one statement; resolves with the number of rows it changed. */
  const write = (text: string, params: unknown[]) =>
    batcher.enqueue(async (c) => (await c.query(text, params)).rowCount ?? 0);

  async function insertOrConflict<T>(value: T, job: PgJob<unknown, LastSeen>): Promise<T | Conflict> {
    try {
      await batcher.enqueue(job);
      return value;
    } catch (error) {
      if (isUniqueViolation(error)) return CONFLICT;
      throw error;
    }
  }

  return {
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

    createSite(site, tokenHash) {
      return insertOrConflict(site, (c) =>
        c.query(
          `INSERT INTO sites (id, name, url, platform_hosts, window_days, currency, token_hash, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [site.id, site.name, site.url, JSON.stringify(site.platformHosts), site.windowDays, site.currency, tokenHash, site.createdAt],
        ),
      );
    },
    async getSite(id) {
      const r = await one('SELECT * FROM sites WHERE id = $1', [id]);
      return r ? toSite(r) : null;
    },
    async siteByTokenHash(tokenHash) {
      const r = await one('SELECT * FROM sites WHERE token_hash = $1', [tokenHash]);
      return r ? toSite(r) : null;
    },
    async setSiteToken(id, tokenHash) {
      await write('UPDATE sites SET token_hash = $1 WHERE id = $2', [tokenHash, id]);
    },

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
    async listCodes(siteId) {
      return (await rows('SELECT * FROM codes WHERE site_id = $1 ORDER BY created_at, code', [siteId])).map(toCode);
    },

    async recentVisitors(sinceTs) {
      const r = await rows('SELECT site_id, vid, MAX(ts) AS ts FROM hits WHERE ts >= $1 GROUP BY site_id, vid', [sinceTs]);
      return r.map((v) => ({ siteId: String(v.site_id), vid: String(v.vid), ts: Number(v.ts) }));
    },

    async recordHits(hits) {
      if (hits.length === 0) return;
      await batcher.enqueueMerged({ kind: 'hits', items: hits, write: writeHits }, hitLocks(hits));
    },
    async recordClick(k) {
      await batcher.enqueue((c) => writeClick(c, k), k.vid ? [visitorLock(k.siteId, k.vid)] : []);
    },

    recordConversion(conv, windowDays, decide) {
      return batcher.enqueue((c) => writeConversion(c, conv, windowDays, decide), conversionLocks(conv));
    },
    getConversion(siteId, order) {
      return readConversion(pool, siteId, order);
    },
    async setOrderStatus(siteId, order, status) {
      return (await write('UPDATE conversions SET status = $1 WHERE site_id = $2 AND order_id = $3', [status, siteId, order])) > 0;
    },
    async setScanned(siteId, order, scanned) {
      const sql = 'UPDATE conversions SET scanned = LEAST($1::integer, tickets) WHERE site_id = $2 AND order_id = $3';
      return (await write(sql, [scanned, siteId, order])) > 0;
    },

    async report(siteId, query) {
      const q = reportQueries(siteId, query, pgDialect);
      // One snapshot for the five queries, so rows and totals always agree.
      const client = await pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const run = async (s: Sql) => (await client.query(toPgPlaceholders(s.text), s.params)).rows as ResultRow[];
        const results = {
          visits: await run(q.visits),
          clicks: await run(q.clicks),
          orders: await run(q.orders),
          orderTotals: await run(q.orderTotals),
          visitors: Number((await run(q.visitors))[0]?.visitors ?? 0),
        };
        await client.query('COMMIT');
        return mergeReport(query.dims, results);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },

    async close() {
      await batcher.drain();
      await pool.end();
    },
  };
}
