// Server-side hits (POST /api/sites/:site/hits) follow the pageview's 30-minute visit rule even
// when they come out of order or from before what the in-memory visit map holds (SPEC §4).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIngest, VISIT_GAP } from '../src/ingest.js';
import type { HitRecord, Site, Store } from '../src/store.js';
import { STORE_KIND } from './stores.js';
import { ADMIN, EVENT_URL, MINUTE, json, makeApp, pageview, setup, type TestApp } from './helper.js';

const HOUR = 60 * MINUTE;

const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';
const iso = (ms: number) => new Date(ms).toISOString();

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const serverHits = async (app: TestApp, hits: Array<{ vid: string; ts: number; referrer?: string; path?: string }>) => {
  const res = await app.app.inject({
    method: 'POST',
    url: '/api/sites/acme/hits',
    headers: app.auth,
    payload: { hits: hits.map((h) => ({ vid: h.vid, ts: iso(h.ts), url: `${EVENT_URL}${h.path ?? ''}`, referrer: h.referrer ?? '', ua: UA })) },
  });
  expect(res.statusCode).toBe(202);
};
const visitsOf = async (app: TestApp, vid: string) =>
  (await app.sql('SELECT ts, channel FROM visits WHERE vid = ? ORDER BY ts', vid)).map((r) => [iso(Number(r.ts)), r.channel]);

describe('server-side hits and the 30-minute visit rule', () => {
  it("a backfill from before a visitor's live pageview continues its own visits, not the live one", async () => {
    t = await setup();
    const now = t.clock.now;
    await pageview(t, { vid: 'visitor-live', url: EVENT_URL, referrer: '' });
    // Three hours earlier: a direct arrival, then two pages of the same visit (5 and 10 minutes on).
    await serverHits(t, [
      { vid: 'visitor-live', ts: now - 3 * HOUR },
      { vid: 'visitor-live', ts: now - 3 * HOUR + 5 * MINUTE, referrer: 'https://tickets.example.com/', path: '/checkout' },
      { vid: 'visitor-live', ts: now - 3 * HOUR + 10 * MINUTE, referrer: 'https://tickets.example.com/', path: '/checkout' },
    ]);
    expect(await visitsOf(t, 'visitor-live')).toEqual([
      [iso(now - 3 * HOUR), 'direct'],
      [iso(now), 'direct'],
    ]);
    // A later batch of that past visit, sent on its own: its predecessor is stored, not in the map.
    await serverHits(t, [{ vid: 'visitor-live', ts: now - 3 * HOUR + 20 * MINUTE, referrer: 'https://tickets.example.com/' }]);
    // And one 40 minutes after the last of them starts a visit of its own.
    await serverHits(t, [{ vid: 'visitor-live', ts: now - 3 * HOUR + 60 * MINUTE }]);
    expect((await visitsOf(t, 'visitor-live')).length).toBe(3);
  });

  it('a batch sent again (a retry after a timeout) stores each hit once: no visit, touch or click twice', async () => {
    t = await setup();
    const start = t.clock.now - 5 * HOUR;
    const batch = {
      hits: [
        { vid: 'visitor-retry-a', ts: iso(start), url: EVENT_URL, referrer: 'https://www.google.com/', ua: UA },
        { vid: 'visitor-retry-a', ts: iso(start + 5 * MINUTE), url: `${EVENT_URL}/seats`, referrer: EVENT_URL, ua: UA },
        { vid: 'visitor-retry-b', ts: iso(start + MINUTE), url: `${EVENT_URL}?affiliate=mia`, referrer: '', ua: UA },
        { vid: 'visitor-retry-c', ts: iso(start + 2 * MINUTE), url: EVENT_URL, referrer: '', ua: UA },
      ],
    };
    const send = async () => json(await t!.app.inject({ method: 'POST', url: '/api/sites/acme/hits', headers: t!.auth, payload: batch }));
    const totals = async () => json(await t!.app.inject({ method: 'GET', url: `/api/sites/acme/report?by=channel&from=${start - HOUR}&to=${t!.clock.now}`, headers: t!.auth })).totals;
    expect(await send()).toEqual({ accepted: 4 });
    const once = await totals();
    expect(once).toMatchObject({ visits: 3, clicks: 1 });
    expect(await send()).toEqual({ accepted: 4 });
    expect(await totals()).toEqual(once);
    expect(await t.sql('SELECT COUNT(*) AS n FROM hits')).toEqual([{ n: 4 }]);
    // The same visitor and time on another page is another hit.
    await serverHits(t, [{ vid: 'visitor-retry-c', ts: start + 2 * MINUTE, path: '/other' }]);
    expect(await t.sql('SELECT COUNT(*) AS n FROM hits')).toEqual([{ n: 5 }]);
  });

  it('a retry sent while the first is still being written stores each hit once too', async () => {
    t = await setup();
    const start = t.clock.now - 5 * HOUR;
    const hits = Array.from({ length: 50 }, (_, i) => ({ vid: `visitor-both-${i}`, ts: iso(start + i * MINUTE), url: `${EVENT_URL}?affiliate=mia`, referrer: '', ua: UA }));
    const send = () => t!.app.inject({ method: 'POST', url: '/api/sites/acme/hits', headers: t!.auth, payload: { hits } });
    expect((await Promise.all([send(), send(), send()])).map((r) => r.statusCode)).toEqual([202, 202, 202]);
    expect(await t.sql('SELECT COUNT(*) AS n FROM hits')).toEqual([{ n: 50 }]);
    expect(await t.sql('SELECT COUNT(*) AS n FROM visits')).toEqual([{ n: 50 }]);
  });

  it('a backfilled touch just before a stored visit that is no touch: one visit, the touch', async () => {
    t = await setup();
    const now = t.clock.now;
    // Stored first: a direct pageview two hours ago (near the map's time), and one five hours ago (past it).
    await serverHits(t, [{ vid: 'visitor-paid', ts: now - 5 * HOUR }, { vid: 'visitor-paid', ts: now - 2 * HOUR }]);
    await serverHits(t, [
      { vid: 'visitor-paid', ts: now - 5 * HOUR - 100_000, path: '?utm_source=google&utm_medium=cpc' },
      { vid: 'visitor-paid', ts: now - 2 * HOUR - 100_000, path: '?utm_source=google&utm_medium=cpc' },
    ]);
    expect(await visitsOf(t, 'visitor-paid')).toEqual([
      [iso(now - 5 * HOUR - 100_000), 'paid'],
      [iso(now - 2 * HOUR - 100_000), 'paid'],
    ]);
    expect((await t.sql('SELECT COUNT(*) AS n FROM hits WHERE vid = ? AND visit = 1', 'visitor-paid'))[0]!.n).toBe(2);
    for (const range of ['', `&from=${iso(now - 6 * HOUR)}&to=${iso(now)}`]) {
      const r = (await t.app.inject({ method: 'GET', url: `/api/sites/acme/report?by=channel${range}`, headers: t.auth })).json();
      expect(r.rows.map((x: { key: string; visits: number }) => [x.key, x.visits]), range).toEqual([['paid', 2]]);
    }
  });

  it('a backfilled hit before a stored touch takes nothing back: a touch always starts a visit', async () => {
    t = await setup();
    const now = t.clock.now;
    await serverHits(t, [{ vid: 'visitor-touch', ts: now - 3 * HOUR, path: '?utm_source=news&utm_medium=email' }]);
    await serverHits(t, [{ vid: 'visitor-touch', ts: now - 3 * HOUR - 10 * MINUTE, path: '?utm_source=google&utm_medium=cpc' }]);
    expect((await visitsOf(t, 'visitor-touch')).map((v) => v[1])).toEqual(['paid', 'email']);
  });

  it.skipIf(STORE_KIND === 'postgres')('a backfill that goes on after a restart continues the visit it began', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linktrail-restart-'));
    try {
      const open = async () => {
        const base = await makeApp({ dir });
        const created = await base.app.inject({
          method: 'POST',
          url: '/api/sites',
          headers: { authorization: `Bearer ${ADMIN}` },
          payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' },
        });
        // The second time the site exists already: its token was the first answer's.
        return { base, token: created.statusCode === 201 ? (json(created).token as string) : null };
      };
      const first = await open();
      const token = first.token!;
      t = { ...first.base, token, site: 'acme', auth: { authorization: `Bearer ${token}` } };
      const start = t.clock.now - 5 * HOUR;
      await serverHits(t, [{ vid: 'visitor-back', ts: start }]);
      await t.close();
      // Restarted: the map is empty; the next batch's first hit is 5 minutes after the stored one.
      const second = await open();
      t = { ...second.base, token, site: 'acme', auth: { authorization: `Bearer ${token}` } };
      await serverHits(t, [{ vid: 'visitor-back', ts: start + 5 * MINUTE, referrer: 'https://tickets.example.com/' }]);
      expect(await visitsOf(t, 'visitor-back')).toEqual([[iso(start), 'direct']]);
    } finally {
      await t?.close();
      t = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('server-side hits against the visit map, on a real clock', () => {
  const site = { id: 'acme', url: 'https://tickets.example.com', platformHosts: [] } as unknown as Site;
  /** An ingest over stored hit times, counting its reads of them. */
  async function ingestOver(stored: Array<{ vid: string; ts: number }>) {
    const reads: Array<[number, number]> = [];
    const store = {
      recentVisitors: async () => [],
      hitTimes: async (_site: string, vids: string[], from: number, to: number) => {
        reads.push([from, to]);
        return stored.filter((h) => vids.includes(h.vid) && h.ts >= from && h.ts <= to);
      },
      storedHits: async () => [],
      recordHits: async () => {},
    } as unknown as Store;
    const ingest = createIngest(store);
    await ingest.warm();
    const send = async (hits: Array<[string, number]>) =>
      (await ingest.prepareServerHits(site, hits.map(([vid, ts]) => ({ hit: { vid, url: `${EVENT_URL}/p`, referrer: '' }, ts, bot: false })))).map((h: HitRecord) => h.visit);
    return { ingest, send, reads };
  }

  it("hits after the map's horizon, in order or a little out of it, are placed by the map alone", async () => {
    const { ingest, send, reads } = await ingestOver([]);
    const now = Date.now();
    ingest.prepare(site, { vid: 'visitor-live', url: EVENT_URL, referrer: '' }, now, false);
    // A shop's server hit a moment before the browser's pageview, and one 10 minutes on.
    expect(await send([['visitor-live', now - 50], ['visitor-live', now + 10 * MINUTE]])).toEqual([false, false]);
    expect(await send([['visitor-new', now]])).toEqual([true]);
    expect(reads).toEqual([]);
  });

  it('a backfilled time the map holds does not hide the stored hits after it', async () => {
    const day = Date.now() - 30 * HOUR;
    // After a restart: a browser's hit at 14:00 yesterday is stored, the map is empty.
    const { send, reads } = await ingestOver([{ vid: 'visitor-back', ts: day + 4 * HOUR }]);
    expect(await send([['visitor-back', day]])).toEqual([true]);
    // 14:05: five minutes after the stored hit, though the map now holds 10:00.
    expect(await send([['visitor-back', day + 4 * HOUR + 5 * MINUTE]])).toEqual([false]);
    // Each read covers the 30 minutes before its hits, never the span between them.
    expect(reads).toEqual([
      [day - VISIT_GAP, day],
      [day + 4 * HOUR + 5 * MINUTE - VISIT_GAP, day + 4 * HOUR + 5 * MINUTE],
    ]);
  });

  it('one batch reads the windows it looks back on, overlapping ones together', async () => {
    const { send, reads } = await ingestOver([]);
    const t0 = Date.now() - 40 * 24 * HOUR;
    const t1 = t0 + 30 * 24 * HOUR;
    expect(await send([['visitor-a', t0], ['visitor-a', t0 + 10 * MINUTE], ['visitor-a', t1]])).toEqual([true, false, true]);
    expect(reads).toEqual([
      [t0 - VISIT_GAP, t0 + 10 * MINUTE],
      [t1 - VISIT_GAP, t1],
    ]);
  });
});
