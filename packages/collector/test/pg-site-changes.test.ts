// Site changes on PostgreSQL reach every process sharing the database at once (LISTEN/NOTIFY,
// pg-site-watch.ts): two apps on one database stand for two collector processes.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createPgStore } from '../src/db/pg-store.js';
import { connectionConfig } from '../src/db/pg-pool.js';
import { createSiteWatch, notifySiteChange } from '../src/db/pg-site-watch.js';
import { ADMIN, BROWSER_UA, EVENT_URL } from './helper.js';
import { freshDatabase } from './processes.js';
import { PG_URL } from './stores.js';

/** Polls `check` until it holds, for at most `ms` (the change travels between processes). */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.runIf(PG_URL !== null)('site changes between processes on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: FastifyInstance;
  let b: FastifyInstance;
  let token = '';

  const app = async () =>
    buildApp({ store: await createPgStore({ url: db.url, max: 4 }), adminToken: ADMIN, cookieSecret: 'test-cookie-secret-0123456789-abcdef' });
  const collect = (on: FastifyInstance, siteId: string, headers: Record<string, string> = {}) =>
    on.inject({
      method: 'POST',
      url: '/collect',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA, ...headers },
      payload: JSON.stringify({ site: siteId, vid: 'visitor-0123456789ab', url: EVENT_URL, referrer: '' }),
    });
  const createSite = (on: FastifyInstance, id: string) =>
    on.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id, name: id, url: 'https://tickets.example.com' } });

  beforeAll(async () => {
    db = await freshDatabase(PG_URL!);
    a = await app();
    b = await app();
    const created = await createSite(a, 'acme');
    expect(created.statusCode).toBe(201);
    token = created.json().token;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('signed conversions required through one process are required by the other at once', async () => {
    // b has the site cached (its settings are read on every hit).
    expect((await collect(b, 'acme')).statusCode).toBe(204);
    const set = await a.inject({ method: 'POST', url: '/api/sites/acme/settings', headers: { authorization: `Bearer ${token}` }, payload: { requireSignedConversions: true } });
    expect(set.statusCode).toBe(200);
    expect(await within(2_000, async () => (await b.ctx.sites.get('acme'))?.requireSignedConversions === true)).toBe(true);
    const pixel = await b.inject({ method: 'GET', url: '/p.gif?site=acme&order=unsigned-1&value=10.00', headers: { 'user-agent': BROWSER_UA } });
    expect(pixel.statusCode).toBe(400);
    const stored = await b.inject({ method: 'GET', url: '/api/sites/acme/conversions/unsigned-1', headers: { authorization: `Bearer ${token}` } });
    expect(stored.statusCode).toBe(404);
  });

  it('a site created through one process is accepted by another that was asked for it before', async () => {
    expect((await collect(b, 'later')).statusCode).toBe(404);
    expect((await createSite(a, 'later')).statusCode).toBe(201);
    expect(await within(2_000, async () => (await collect(b, 'later')).statusCode === 204)).toBe(true);
  });

  it('the listening connection comes back when it is cut, and hears changes again', async () => {
    const name = `linktrail-test-watch-${process.pid}-${Date.now()}`;
    const heard: string[] = [];
    const states: boolean[] = [];
    const watch = createSiteWatch({ client: { ...connectionConfig({ url: db.url }), application_name: name }, retryMs: 50, onError: () => {} });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      watch.watch({ changed: (id) => heard.push(id), listening: (up) => states.push(up) });
      expect(await within(5_000, async () => watch.up)).toBe(true);
      const before = states.length;
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
      expect(await within(5_000, async () => states.length >= before + 2 && watch.up)).toBe(true);
      expect(states.slice(before)).toEqual([false, true]);
      await notifySiteChange(admin, 'acme');
      expect(await within(2_000, async () => heard.includes('acme'))).toBe(true);
    } finally {
      await admin.end();
      await watch.close();
    }
  });
});
