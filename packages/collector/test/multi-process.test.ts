// Two real collector processes (dist/server.js) on one PostgreSQL database, written to in
// parallel. Runs when LINKTRAIL_TEST_DATABASE_URL names a PostgreSQL server (.ci/run starts one).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, MINUTE } from './helper.js';
import { freshDatabase, startCollector, type Collector } from './processes.js';
import { pgMigrations } from '../src/db/pg-migrations/index.js';
import { PG_URL } from './stores.js';

const ADMIN = 'test-admin-token-0123456789';
const VISITORS = 40;

describe.runIf(PG_URL !== null)('two collector processes on one PostgreSQL database', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: Collector;
  let b: Collector;
  let token = '';

  const call = async (c: Collector, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(c.url + path, {
      method,
      headers: { authorization: `Bearer ${token || ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  };
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    db = await freshDatabase(PG_URL!);
    // Started together: both run migrations and pick a cookie secret at the same moment.
    const env = { DATABASE_URL: db.url, LINKTRAIL_ADMIN_TOKEN: ADMIN };
    [a, b] = await Promise.all([startCollector(env), startCollector(env)]);
    const site = await call(a, 'POST', '/api/sites', { id: 'acme', name: 'Acme', url: 'https://tickets.example.com', platformHosts: ['example.com'] });
    expect(site.status).toBe(201);
    token = site.body.token;
    for (const id of ['mia', 'leo']) {
      expect((await call(b, 'POST', '/api/sites/acme/affiliates', { name: id, email: `${id}@example.com`, nickname: id })).status).toBe(201);
      expect((await call(a, 'POST', '/api/sites/acme/codes', { code: id, affiliate: id })).status).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('they migrate the database once and sign visitor cookies with one shared secret', async () => {
    expect(await query('SELECT version FROM linktrail_schema ORDER BY version')).toEqual(pgMigrations.map((_, i) => ({ version: i + 1 })));
    const collect = (c: Collector, vid: string, cookie?: string) =>
      fetch(`${c.url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA, ...(cookie ? { cookie } : {}) },
        body: JSON.stringify({ site: 'acme', vid, url: EVENT_URL }),
      });
    const first = await collect(a, 'visitor-cookie-a');
    const cookie = first.headers.getSetCookie().find((c) => c.startsWith('lt_vid='))!.split(';')[0]!;
    expect((await collect(b, 'visitor-cookie-b', cookie)).status).toBe(204);
    expect(await query("SELECT DISTINCT vid FROM hits WHERE vid LIKE 'visitor-cookie-%'")).toEqual([{ vid: 'visitor-cookie-a' }]);
  });

  it("a visitor's pageviews within 30 minutes are one visit, whichever process gets them", async () => {
    const now = Date.now();
    const hit = (vid: string, minutesAgo: number) => ({ hits: [{ vid, url: EVENT_URL, referrer: '', ts: now - minutesAgo * MINUTE }] });
    // Two processes, each new to the visitor: 5 minutes apart is one visit, 45 minutes is two.
    expect((await call(a, 'POST', '/api/sites/acme/hits', hit('visitor-hops-1', 10))).status).toBe(202);
    expect((await call(b, 'POST', '/api/sites/acme/hits', hit('visitor-hops-1', 5))).status).toBe(202);
    expect((await call(a, 'POST', '/api/sites/acme/hits', hit('visitor-hops-2', 50))).status).toBe(202);
    expect((await call(b, 'POST', '/api/sites/acme/hits', hit('visitor-hops-2', 5))).status).toBe(202);
    expect(await query("SELECT vid, COUNT(*)::int AS visits FROM visits WHERE vid LIKE 'visitor-hops-%' GROUP BY vid ORDER BY vid")).toEqual([
      { vid: 'visitor-hops-1', visits: 1 },
      { vid: 'visitor-hops-2', visits: 2 },
    ]);
  });

  it('hits and the same orders sent to both at once: every sale counts once, credited to the last click', async () => {
    const now = Date.now();
    const visitors = Array.from({ length: VISITORS }, (_, i) => `visitor-${String(i).padStart(4, '0')}`);
    // Each visitor clicks mia's link on one process, then leo's on the other; a search visit
    // lands on both processes' /collect meanwhile. All visitors at once.
    await Promise.all(
      visitors.map(async (vid, i) => {
        const [p, q] = [i % 2 === 0 ? a : b, i % 2 === 0 ? b : a];
        const hit = (code: string, ts: number) => ({ hits: [{ vid, url: `${EVENT_URL}?affiliate=${code}`, referrer: 'https://l.instagram.com/', ts }] });
        const [mia, search] = await Promise.all([
          call(p, 'POST', '/api/sites/acme/hits', hit('mia', now - 3 * MINUTE)),
          fetch(`${q.url}/collect`, {
            method: 'POST',
            headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
            body: JSON.stringify({ site: 'acme', vid, url: EVENT_URL, referrer: 'https://www.google.com/' }),
          }),
        ]);
        expect([mia.status, search.status]).toEqual([202, 204]);
        expect((await call(q, 'POST', '/api/sites/acme/hits', hit('leo', now - 2 * MINUTE))).status).toBe(202);
      }),
    );

    // Every order goes to both processes at the same moment, and to a's pixel too.
    const answers = await Promise.all(
      visitors.map(async (vid, i) => {
        const order = { order: `order-${i}`, vid, value: '45.00', tickets: 1, customer: `buyer-${i}@example.com` };
        const [fromA, fromB, gif] = await Promise.all([
          call(a, 'POST', '/api/sites/acme/conversions', order),
          call(b, 'POST', '/api/sites/acme/conversions', order),
          fetch(`${a.url}/p.gif?site=acme&order=order-${i}&value=45.00&tickets=1&customer=buyer-${i}%40example.com&vid=${vid}`),
        ]);
        // One of the three created it (201, or the pixel); the others answer the stored order (200).
        const created = [fromA.status, fromB.status].filter((s) => s === 201).length;
        return { created: created <= 1, links: [fromA.body.conversion.attribution.link?.code, fromB.body.conversion.attribution.link?.code], gif: gif.status };
      }),
    );
    for (const answer of answers) expect(answer).toEqual({ created: true, links: ['leo', 'leo'], gif: 200 });

    for (const c of [a, b]) {
      const byCode = (await call(c, 'GET', '/api/sites/acme/report?by=code')).body;
      const row = (key: string) => byCode.rows.find((r: { key: string }) => r.key === key);
      expect(row('leo')).toMatchObject({ clicks: VISITORS, orders: VISITORS, tickets: VISITORS, revenue: { EUR: VISITORS * 4500 } });
      expect(row('mia')).toMatchObject({ clicks: VISITORS, orders: 0 });
      expect(byCode.totals).toMatchObject({ orders: VISITORS, new_customers: VISITORS, revenue: { EUR: VISITORS * 4500 } });
      const byChannel = (await call(c, 'GET', '/api/sites/acme/report?by=channel')).body;
      expect(byChannel.totals.orders).toBe(VISITORS);
    }
    expect(await query("SELECT COUNT(*)::int AS n FROM conversions WHERE order_id LIKE 'order-%'")).toEqual([{ n: VISITORS }]);
  });
});
