// The 30-minute visit rule on PostgreSQL, where a visitor's pageviews may reach the database in
// any order: batches of one process commit four at once, and several processes race. Whatever
// the order, the first pageview with none in the 30 minutes before it is the visit (SPEC §4).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '@linktrail/tracker';
import { attribute } from '../src/attribution.js';
import { createPgStore, type PgStore } from '../src/db/pg-store.js';
import type { HitRecord } from '../src/store.js';
import { createTestStore, PG_URL, type TestStore } from './stores.js';

const T = Date.UTC(2026, 5, 1, 12);
const MINUTE = 60_000;
const site = { id: 'acme', name: 'Acme', url: 'https://tickets.example.com', platformHosts: [], windowDays: 28, currency: 'EUR', createdAt: 0, requireSignedConversions: false, honorGpc: false };
const TOUCH = new Set<Channel>(['search', 'affiliate', 'social', 'paid', 'email', 'referral', 'campaign']);

/** A pageview as ingest.ts makes it; `visit` is the process's own guess, which must not matter. */
const hit = (vid: string, ts: number, channel: Channel = 'platform', visit = false): HitRecord => ({
  siteId: 'acme', ts, vid, cid: null, event: null, url: 'https://tickets.example.com/e/fest', referrer: null,
  channel, source: channel === 'search' ? 'google' : null, code: null,
  utm: { source: null, medium: null, campaign: null, term: null, content: null },
  nav: null, visit: visit || TOUCH.has(channel), touch: TOUCH.has(channel), bot: false,
});

describe.runIf(PG_URL !== null)('visits on PostgreSQL, whatever order pageviews commit in', () => {
  let s: TestStore;
  let store: PgStore;
  const visitsOf = async (vid: string) =>
    (await s.sql('SELECT ts, channel FROM visits WHERE vid = ? ORDER BY ts', vid)).map((r) => [Number(r.ts) - T, r.channel]);
  const flagsOf = async (vid: string) =>
    (await s.sql('SELECT ts, visit FROM hits WHERE vid = ? ORDER BY ts', vid)).map((r) => [Number(r.ts) - T, Number(r.visit)]);
  const byChannel = async () =>
    (await store.report('acme', { dims: ['channel'], from: Date.UTC(2026, 5, 1), to: Date.UTC(2026, 5, 2), event: null }));

  beforeEach(async () => {
    s = await createTestStore(undefined, { foldDelayMs: 3_600_000 });
    store = s.store as PgStore;
    await store.createSite(site, 'hash-1');
  });
  afterEach(async () => {
    await store.close();
    await s.dispose();
  });

  it('a first pageview committed after the next one is still the visit, and its order is credited to it', async () => {
    // The process saw the direct arrival first (a visit) and the next page 1 ms later (none),
    // but the second batch committed first.
    await store.recordHits([hit('visitor-1', T + 1, 'platform', false)]);
    await store.recordHits([hit('visitor-1', T, 'direct', true)]);
    expect(await visitsOf('visitor-1')).toEqual([[0, 'direct']]);
    expect(await flagsOf('visitor-1')).toEqual([[0, 1], [1, 0]]);
    const before = await byChannel();
    expect(before.totals).toMatchObject({ visits: 1, visitors: 1 });
    expect(before.rows.map((r) => [r.key, r.visits])).toEqual([['direct', 1]]);
    await store.foldRollups();
    expect(await byChannel()).toEqual(before);

    const { conversion } = await store.recordConversion(
      { siteId: 'acme', order: 'A1', ts: T + MINUTE, event: null, type: 'purchase', currency: 'EUR', valueMinor: 4500, tickets: 1, items: [], customer: null, vid: 'visitor-1', cid: null },
      28,
      attribute,
    );
    expect(conversion.attribution.channel).toBe('direct');
  });

  it("a visitor's pageviews committed in every order give the same visits", async () => {
    // A direct arrival, two pages of the same visit, a direct return 40 minutes after the last.
    const pages: Array<[number, Channel]> = [[0, 'direct'], [5 * MINUTE, 'platform'], [10 * MINUTE, 'platform'], [50 * MINUTE, 'direct']];
    const orders: number[][] = [];
    const permute = (rest: number[], done: number[]) =>
      rest.length === 0 ? orders.push(done) : rest.forEach((i) => permute(rest.filter((j) => j !== i), [...done, i]));
    permute([0, 1, 2, 3], []);
    for (const [n, order] of orders.entries()) {
      const vid = `visitor-order-${n}`;
      // Each commits alone, guessed a visit by a process that had not seen the others.
      for (const i of order) await store.recordHits([hit(vid, T + pages[i]![0], pages[i]![1], true)]);
      expect([order, await visitsOf(vid)]).toEqual([order, [[0, 'direct'], [50 * MINUTE, 'direct']]]);
    }
    await store.foldRollups();
    expect((await byChannel()).rows.map((r) => [r.key, r.visits, r.visitors])).toEqual([['direct', 48, 24]]);
  });

  it('a late pageview between two visits joins them: the later one, within 30 minutes of it, is no visit', async () => {
    await store.recordHits([hit('visitor-2', T - 20 * MINUTE, 'direct', true)]);
    await store.recordHits([hit('visitor-2', T + 20 * MINUTE, 'direct', true)]);
    expect((await visitsOf('visitor-2')).length).toBe(2);
    await store.recordHits([hit('visitor-2', T, 'platform', true)]);
    expect(await visitsOf('visitor-2')).toEqual([[-20 * MINUTE, 'direct']]);
    expect(await flagsOf('visitor-2')).toEqual([[-20 * MINUTE, 1], [0, 0], [20 * MINUTE, 0]]);
    // And the next one after the joined run is placed from it.
    await store.recordHits([hit('visitor-2', T + 45 * MINUTE, 'direct', false)]);
    await store.recordHits([hit('visitor-2', T + 15 * MINUTE, 'platform', true)]);
    expect(await visitsOf('visitor-2')).toEqual([[-20 * MINUTE, 'direct']]);
  });

  it('a touch keeps its visit when a pageview from before it arrives late', async () => {
    await store.recordHits([hit('visitor-3', T + 5 * MINUTE, 'search')]);
    await store.recordHits([hit('visitor-3', T, 'direct', false)]);
    expect(await visitsOf('visitor-3')).toEqual([[0, 'direct'], [5 * MINUTE, 'search']]);
  });

  it('a visitor whose run start is not recorded (a row from before it was kept) is placed from the stored hits', async () => {
    await store.recordHits([hit('visitor-4', T + 10 * MINUTE, 'direct', true)]);
    await s.sql("UPDATE visitors_seen SET first_ts = NULL, before_ts = NULL WHERE vid = 'visitor-4'");
    await store.recordHits([hit('visitor-4', T, 'direct', false)]);
    expect(await visitsOf('visitor-4')).toEqual([[0, 'direct']]);
    await s.sql("UPDATE visitors_seen SET first_ts = NULL, before_ts = NULL WHERE vid = 'visitor-4'");
    await store.recordHits([hit('visitor-4', T + 5 * MINUTE, 'platform', true)]);
    expect(await visitsOf('visitor-4')).toEqual([[0, 'direct']]);
  });

  it('two processes given the pageviews of many visitors at once record one visit each, at the first', async () => {
    const schema = String((await s.sql('SELECT current_schema() AS s'))[0]!.s);
    const other = await createPgStore({ url: PG_URL!, schema, max: 4 });
    try {
      const stores = [store, other];
      const visitors = Array.from({ length: 150 }, (_, v) => `visitor-many-${v}`);
      // Each visitor's direct arrival, then five pages a millisecond apart, on both processes.
      await Promise.all(
        visitors.flatMap((vid, v) =>
          Array.from({ length: 6 }, (_, k) => stores[(v + k) % 2]!.recordHits([hit(vid, T + k, k === 0 ? 'direct' : 'platform', k === 0)])),
        ),
      );
      const rows = await s.sql("SELECT vid, COUNT(*) AS n, MIN(ts) AS ts, MIN(channel) AS channel FROM visits WHERE vid LIKE 'visitor-many-%' GROUP BY vid");
      expect(rows.length).toBe(visitors.length);
      expect(rows.filter((r) => Number(r.n) !== 1 || Number(r.ts) !== T || r.channel !== 'direct')).toEqual([]);
      expect((await byChannel()).totals).toMatchObject({ visits: visitors.length, visitors: visitors.length });
    } finally {
      await other.close();
    }
  });
});
