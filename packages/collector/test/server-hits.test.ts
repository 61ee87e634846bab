// Server-side hits (POST /api/sites/:site/hits) follow the pageview's 30-minute visit rule even
// when they come out of order or from before what the in-memory visit map holds (SPEC §4).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STORE_KIND } from './stores.js';
import { ADMIN, EVENT_URL, MINUTE, json, makeApp, pageview, setup, type TestApp } from './helper.js';

const HOUR = 60 * MINUTE;

const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';
const iso = (ms: number) => new Date(ms).toISOString();

let t: TestApp;
afterEach(() => t?.close());

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
      await t.close();
      t = undefined as unknown as TestApp;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
