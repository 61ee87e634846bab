// PostgreSQL keeps rollup changes pending and folds them into the rollup tables later
// (pg-rollups.ts, pg-folder.ts): reports must be exact at every moment, and a fold, however
// many run at once and whether or not it fails, must count every change exactly once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attribute } from '../src/attribution.js';
import { createPgStore, type PgStore } from '../src/db/pg-store.js';
import { ROLLUPS } from '../src/rollups.js';
import type { ConversionRecord, HitRecord } from '../src/store.js';
import { createTestStore, PG_URL, type TestStore } from './stores.js';

const DAY = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;
const site = { id: 'acme', name: 'Acme', url: 'https://tickets.example.com', platformHosts: [], windowDays: 28, currency: 'EUR', createdAt: 0, requireSignedConversions: false, honorGpc: false };
const visit = (vid: string, ts: number, source = 'google'): HitRecord => ({
  siteId: 'acme', ts, vid, cid: null, event: null, url: 'https://tickets.example.com/', referrer: null,
  channel: 'search', source, code: null, utm: { source: null, medium: null, campaign: null, term: null, content: null },
  nav: null, visit: true, touch: true, bot: false,
});
const order = (id: string, vid: string, ts: number): ConversionRecord => ({
  siteId: 'acme', order: id, ts, event: null, type: 'purchase', currency: 'EUR', valueMinor: 4500, tickets: 2, items: [],
  customer: null, vid, cid: null,
});
const vid = (i: number) => `visitor-${String(i).padStart(4, '0')}`;

describe.runIf(PG_URL !== null)('rollup changes pending on PostgreSQL', () => {
  let s: TestStore;
  let store: PgStore;
  const byDay = () => store.report('acme', { dims: ['channel'], from: DAY, to: DAY + 24 * HOUR, event: null });
  const pending = async () => Number((await s.sql('SELECT COUNT(*) AS n FROM rollup_pending'))[0]!.n);
  /** The folded rollups alone, without what is pending. */
  const folded = async () =>
    (await s.sql('SELECT SUM(visits) AS visits, SUM(clicks) AS clicks FROM daily_totals'))[0]!;
  const foldedOrders = async () => (await s.sql('SELECT SUM(orders) AS orders, SUM(revenue) AS revenue FROM daily_sources_orders'))[0]!;

  beforeEach(async () => {
    // Folds only when told (foldRollups), so each step below sees a known state.
    s = await createTestStore(undefined, { foldDelayMs: 10 * HOUR });
    store = s.store as PgStore;
    await store.createSite(site, 'hash-1');
  });
  afterEach(async () => {
    await store.close();
    await s.dispose();
  });

  it('a report counts a write before its rollup change is folded, and the same once it is', async () => {
    await store.recordHits([visit(vid(1), DAY + HOUR), visit(vid(2), DAY + 2 * HOUR)]);
    await store.recordHits([visit(vid(1), DAY + 3 * HOUR)]);
    await store.recordConversion(order('A1', vid(1), DAY + 4 * HOUR), 28, attribute);
    await store.recordClick({ siteId: 'acme', cid: 'click-1', ts: DAY + HOUR, vid: vid(2), code: 'mia', event: null, kind: 'click' });
    expect(await pending()).toBeGreaterThan(0);
    const before = await byDay();
    expect(before.totals).toMatchObject({ visits: 3, visitors: 2, orders: 1, revenue: { EUR: 4500 } });
    expect(await store.codeSeen('acme', 'mia')).toBe(true);

    await store.foldRollups();
    expect(await pending()).toBe(0);
    expect(await folded()).toEqual({ visits: 3, clicks: 1 });
    expect(await foldedOrders()).toEqual({ orders: 1, revenue: 4500 });
    expect(await byDay()).toEqual(before);
  });

  it('an order refunded while its sale is still pending leaves the figures', async () => {
    await store.recordHits([visit(vid(1), DAY + HOUR)]);
    await store.recordConversion(order('A1', vid(1), DAY + 2 * HOUR), 28, attribute);
    await store.setOrderStatus('acme', 'A1', 'refunded');
    expect((await byDay()).totals).toMatchObject({ visits: 1, orders: 0 });
    await store.foldRollups();
    expect((await byDay()).totals).toMatchObject({ visits: 1, orders: 0 });
    expect(await foldedOrders()).toEqual({ orders: 0, revenue: 0 });
  });

  it('folds of two processes at once, between writes, count every visit and visitor once', async () => {
    const schema = String((await s.sql('SELECT current_schema() AS s'))[0]!.s);
    const other = await createPgStore({ url: PG_URL!, schema, max: 4, foldDelayMs: 10 * HOUR });
    try {
      const stores = [store, other];
      // Every batch lands on the same daily rows; folds of both stores run while they commit.
      const writes = Array.from({ length: 120 }, (_, i) => stores[i % 2]!.recordHits([visit(vid(i), DAY + i, i % 3 ? 'google' : 'bing')]));
      const folds = Array.from({ length: 6 }, (_, i) => stores[i % 2]!.foldRollups());
      await Promise.all([...writes, ...folds]);
      await Promise.all([store.foldRollups(), other.foldRollups()]);
      expect(await pending()).toBe(0);
      expect(await folded()).toEqual({ visits: 120, clicks: 0 });
      const r = await byDay();
      expect(r.totals).toMatchObject({ visits: 120, visitors: 120 });
      expect(r.rows.map((x) => [x.key, x.visits])).toEqual([['search', 120]]);
    } finally {
      await other.close();
    }
  });

  it('a fold that fails leaves every change pending, and a later fold takes them all', async () => {
    await store.recordHits([visit(vid(1), DAY + HOUR), visit(vid(2), DAY + HOUR)]);
    // A change the fold can't take (a count beyond JavaScript's integers): it fails after claiming.
    await s.sql("INSERT INTO rollup_pending (rollup, site_id, day, key1, count1, count2, count3) VALUES ('daily_totals', 'acme', ?, 'x', 9007199254740993, 0, 0)", DAY / (24 * HOUR));
    const before = await pending();
    await expect(store.foldRollups()).rejects.toThrow(/safe range/);
    expect(await pending()).toBe(before);
    expect(Number((await s.sql("SELECT SUM(count1) AS n FROM rollup_pending WHERE rollup = 'daily_totals' AND key1 = ''"))[0]!.n)).toBe(2);

    await s.sql("DELETE FROM rollup_pending WHERE key1 = 'x'");
    await store.foldRollups();
    expect(await pending()).toBe(0);
    expect(await folded()).toEqual({ visits: 2, clicks: 0 });
    expect((await byDay()).totals).toMatchObject({ visits: 2, visitors: 2 });
  });

  it('migration 0002 rebuilds the visitor sketches of more groups than it reads at once', async () => {
    // 600 days of two visitors each: 600 groups per rollup, more than one chunk of the backfill.
    await store.recordHits(Array.from({ length: 1200 }, (_, i) => visit(vid(i % 2), DAY + Math.floor(i / 2) * 24 * HOUR)));
    const all = { dims: ['day' as const], from: DAY, to: DAY + 600 * 24 * HOUR, event: null };
    const before = await store.report('acme', all);
    expect(before.rows).toHaveLength(600);
    expect(before.rows.every((r) => r.visits === 2 && r.visitors === 2)).toBe(true);
    await s.remigrate(ROLLUPS.map((r) => `DROP TABLE ${r.table}; DROP TABLE ${r.orders};`).join(' ') + ' DROP INDEX conversions_report;', 2);
    expect(await store.report('acme', all)).toEqual(before);
  });

  it('leaves changes to rollup tables it does not know for a collector that does', async () => {
    await store.recordHits([visit(vid(1), DAY + HOUR)]);
    await s.sql("INSERT INTO rollup_pending (rollup, site_id, day, key1, count1) VALUES ('daily_future', 'acme', 0, 'x', 1)");
    await store.foldRollups();
    expect(await s.sql('SELECT rollup FROM rollup_pending')).toEqual([{ rollup: 'daily_future' }]);
    expect(await folded()).toEqual({ visits: 1, clicks: 0 });
  });
});
