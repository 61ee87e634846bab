// PostgreSQL that stops answering or goes down: requests fail within the pool's limits instead
// of hanging, /healthz says so, and everything works again once the database is back.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createPgStore, type PgStore, type PgStoreOptions } from '../src/db/pg-store.js';
import { ADMIN, BROWSER_UA, EVENT_URL } from './helper.js';
import { startPgProxy, type PgProxy } from './pg-proxy.js';
import { freshDatabase } from './processes.js';
import { PG_URL } from './stores.js';

describe.runIf(PG_URL !== null)('PostgreSQL unreachable', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let proxy: PgProxy;
  let app: FastifyInstance;
  let token = '';

  const open = async (options: Partial<PgStoreOptions>) =>
    buildApp({
      store: await createPgStore({ url: proxy.url, max: 4, ...options }),
      adminToken: ADMIN,
      cookieSecret: 'test-cookie-secret-0123456789-abcdef',
    });
  const collect = (vid: string) =>
    app.inject({
      method: 'POST',
      url: '/collect',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
      payload: JSON.stringify({ site: 'acme', vid, url: EVENT_URL, referrer: '' }),
    });
  /** The answer, and how long it took. */
  const timed = async <T>(work: Promise<T>) => {
    const start = Date.now();
    const answer = await work;
    return { answer, ms: Date.now() - start };
  };

  beforeAll(async () => {
    db = await freshDatabase(PG_URL!);
    proxy = await startPgProxy(db.url);
    // Short limits, so the test waits for them in a second or two.
    app = await open({ statementTimeoutMs: 500, connectTimeoutMs: 500 });
    const site = await app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' } });
    expect(site.statusCode).toBe(201);
    token = site.json().token;
  });
  afterAll(async () => {
    proxy?.thaw();
    await proxy?.restore().catch(() => {});
    await app?.close();
    await proxy?.close();
    await db?.drop();
  });

  it('a database that stops answering fails requests within the limits, and /healthz answers 503', async () => {
    expect((await collect('visitor-before-0001')).statusCode).toBe(204);
    proxy.freeze();
    try {
      const health = await timed(app.inject({ method: 'GET', url: '/healthz' }));
      expect(health.answer.statusCode).toBe(503);
      expect(health.answer.json()).toMatchObject({ ok: false, store: 'postgres', error: 'database_unavailable' });
      expect(health.ms).toBeLessThan(3_000);
      const hit = await timed(collect('visitor-during-0001'));
      expect([hit.answer.statusCode, hit.answer.json().error]).toEqual([503, 'database_unavailable']);
      expect(hit.ms).toBeLessThan(4_000);
    } finally {
      proxy.thaw();
    }
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await collect('visitor-after-0001')).statusCode).toBe(204);
  });

  it('a report is not cut by the statement limit: it has a limit of its own', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      // Reports wait while the visits are locked for a second, longer than a statement may take.
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE visits IN ACCESS EXCLUSIVE MODE');
      const release = new Promise((resolve) => setTimeout(resolve, 1_000)).then(() => admin.query('COMMIT'));
      const [report, order] = await Promise.all([
        // A range to the millisecond: the raw visits are read.
        app.inject({ method: 'GET', url: '/api/sites/acme/report?by=channel&from=2026-01-01T00:00:01Z&to=2030-01-01T00:00:00Z', headers: { authorization: `Bearer ${token}` } }),
        app.inject({ method: 'POST', url: '/api/sites/acme/conversions', headers: { authorization: `Bearer ${token}` }, payload: { order: 'A1', value: '10.00', vid: 'visitor-before-0001' } }),
        release,
      ]);
      expect(report.statusCode).toBe(200);
      expect(report.json().totals.visits).toBe(2);
      // The order's attribution read the visits with the plain limit: refused, not stored.
      expect([order.statusCode, order.json().message]).toEqual([503, 'the database did not answer in time; try again shortly']);
    } finally {
      await admin.end();
    }
    const again = await app.inject({ method: 'POST', url: '/api/sites/acme/conversions', headers: { authorization: `Bearer ${token}` }, payload: { order: 'A1', value: '10.00', vid: 'visitor-before-0001' } });
    expect(again.statusCode).toBe(201);
  });

  it('a database that goes down answers 503 with Retry-After everywhere, and serves again once back', async () => {
    const acknowledged = await Promise.all(['visitor-down-0001', 'visitor-down-0002'].map(async (vid) => ((await collect(vid)).statusCode === 204 ? vid : null)));
    // A connection checked out between two queries when the database goes: no crash, its next query fails.
    const held = await (app.ctx.store as PgStore).pool.connect();
    await proxy.down();
    try {
      const lost = await held.query('SELECT 1').then(() => null, (error: Error) => error);
      expect(lost?.message).toMatch(/not queryable|terminated/);
      held.release(lost!);
      const hit = await collect('visitor-down-0003');
      expect([hit.statusCode, hit.headers['retry-after'], hit.json().error]).toEqual([503, '5', 'database_unavailable']);
      const pixel = await app.inject({ method: 'GET', url: '/p.gif?site=acme&order=A2&value=10.00', headers: { 'user-agent': BROWSER_UA } });
      expect([pixel.statusCode, pixel.headers['content-type'], pixel.headers['x-linktrail-error']]).toEqual([503, 'image/gif', 'the database is unreachable; try again shortly']);
      const report = await app.inject({ method: 'GET', url: '/api/sites/acme/report?by=channel', headers: { authorization: `Bearer ${token}` } });
      expect([report.statusCode, report.json().error]).toEqual([503, 'database_unavailable']);
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(503);
    } finally {
      await proxy.restore();
    }
    expect((await collect('visitor-down-0004')).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const stored = new pg.Client({ connectionString: db.url });
    await stored.connect();
    try {
      const vids = (await stored.query("SELECT vid FROM hits WHERE vid LIKE 'visitor-down-%' ORDER BY vid")).rows.map((r) => r.vid);
      expect(vids).toEqual([...acknowledged.filter((v) => v !== null), 'visitor-down-0004']);
    } finally {
      await stored.end();
    }
  });
});
