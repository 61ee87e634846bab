import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reportParts, reportQueries } from '../src/report.js';
import { RollupBatch, ROLLUPS } from '../src/rollups.js';
import { DAY, EVENT_URL, MINUTE, pageview, postback, report, setup, type TestApp } from './helper.js';
import { STORE_KIND } from './stores.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'mia' } });
  // Three days of traffic; visitor-ana1 comes back on each of them.
  for (let day = 0; day < 3; day++) {
    await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}?affiliate=mia`, referrer: 'https://l.instagram.com/' });
    await pageview(t, { vid: `visitor-new${day}`, url: `${EVENT_URL}?utm_source=news&utm_medium=email`, referrer: '' });
    await pageview(t, { vid: `visitor-dir${day}`, url: EVENT_URL, referrer: '' });
    await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': 'WhatsApp/2.23' } });
    t.clock.advance(DAY);
  }
  await postback(t, { order: 'A1', vid: 'visitor-ana1', value: '45.00', tickets: 2, customer: 'ana' });
  await postback(t, { order: 'A2', vid: 'visitor-new1', value: '20.00', currency: 'USD', tickets: 1 });
  await postback(t, { order: 'A3', vid: 'visitor-dir2', value: '10.00', tickets: 1 });
  await postback(t, { order: 'S1', vid: 'visitor-new2', type: 'signup' });
  // Order life: a refund leaves the figures, a reinstated order comes back, scans count.
  const status = (order: string, s: string) =>
    t.app.inject({ method: 'POST', url: `/api/sites/acme/orders/${order}/status`, headers: t.auth, payload: { status: s } });
  await status('A3', 'refunded');
  await status('A2', 'cancelled');
  await status('A2', 'completed');
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/scans', headers: t.auth, payload: { scanned: 1 } });
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/scans', headers: t.auth, payload: { scanned: 2 } });
});
afterEach(() => t.close());

/** A plan reading `table` by its primary key's (site_id, day) prefix. */
const byPrimaryKey = (table: string) =>
  t.kind === 'sqlite' ? /USING PRIMARY KEY \(site_id=\? AND day>\? AND day<\?\)/ : new RegExp(`Index (Only )?Scan using ${table}_pkey`);
const strip = (r: Record<string, any>) => ({ rows: r.rows, totals: r.totals });
/** A query reading `table` (on PostgreSQL with its pending changes, pg-rollups.ts). */
const readsFrom = (table: string) => new RegExp(`FROM ${table}\\b`);

describe('the daily rollup', () => {
  it.each(['channel', 'source', 'code', 'affiliate', 'utm_source', 'day', 'code,channel'])(
    'by=%s gives the same rows, orders included, from the rollups (whole days) as from the raw tables',
    async (by) => {
      for (const day of ['2026-06-01', '2026-06-02', '2026-06-03', '2026-06-04']) {
        const fromRollup = await report(t, `by=${by}&from=${day}&to=${day}`);
        // Within one day, so no whole day inside: the raw tables answer.
        const fromRaw = await report(t, `by=${by}&from=${day}T00:00:00.001Z&to=${day}T23:59:59Z`);
        expect(strip(fromRollup)).toEqual(strip(fromRaw));
      }
    },
  );

  it.each(['channel', 'code', 'affiliate', 'utm_source', 'day'])(
    'by=%s to the millisecond over days: the whole days from the rollup, the part-days raw, a visitor of both once',
    async (by) => {
      // Traffic at noon on June 1 to 3, orders at noon on June 4: the part-days hold some.
      const whole = await report(t, `by=${by}&from=2026-06-01&to=2026-06-04`);
      const mixed = await report(t, `by=${by}&from=2026-06-01T06:00:00Z&to=2026-06-04T18:00:00Z`);
      expect(strip(mixed)).toEqual(strip(whole));
      expect(mixed.totals).toMatchObject({ visits: 9, visitors: 7, orders: 2 });
    },
  );

  it('a range to the millisecond reads its whole days from the rollup and only the part-days raw', () => {
    const from = Date.UTC(2026, 5, 1, 6);
    const to = Date.UTC(2026, 5, 4, 18);
    const parts = reportParts('acme', { dims: ['code'], from, to, event: null }, t.dialect);
    expect(parts.map((p) => p.visits.params.slice(1, 3))).toEqual([
      [Date.UTC(2026, 5, 2) / DAY, Date.UTC(2026, 5, 4) / DAY],
      [from, Date.UTC(2026, 5, 2)],
      [Date.UTC(2026, 5, 4), to],
    ]);
    expect(parts[0]!.visits.text).toMatch(readsFrom('daily_codes'));
    expect(parts[0]!.orders.text).toMatch(readsFrom('daily_codes_orders'));
    for (const raw of parts.slice(1)) {
      expect(raw.visits.text).toMatch(readsFrom('visits'));
      expect(raw.orders.text).toMatch(readsFrom('conversions'));
    }
    // No whole day inside, two dimensions no rollup holds, or items: raw only, as one part.
    expect(reportParts('acme', { dims: ['code'], from, to: from + DAY, event: null }, t.dialect)).toHaveLength(1);
    expect(reportParts('acme', { dims: ['code', 'channel'], from, to, event: null }, t.dialect)).toHaveLength(1);
    expect(reportParts('acme', { dims: ['code', 'ticket_type'], from, to, event: null }, t.dialect)).toHaveLength(1);
    // By affiliate too: every path reads the affiliate of the code.
    expect(reportParts('acme', { dims: ['affiliate'], from, to, event: null }, t.dialect)).toHaveLength(3);
  });

  it('counts a visitor who came on three days once, and every visit', async () => {
    const r = await report(t, 'by=code&from=2026-05-20&to=2026-06-10');
    expect(r.rows.find((x: any) => x.key === 'mia')).toMatchObject({ visits: 3, visitors: 1, clicks: 3, previews: 3, orders: 1, scanned: 2 });
    expect(r.totals).toMatchObject({
      visits: 9,
      visitors: 7,
      orders: 2,
      tickets: 3,
      revenue: { EUR: 4500, USD: 2000 },
      new_customers: 1,
      scanned: 2,
      conversions: { signup: 1 },
    });
  });

  it('is rebuilt from the raw tables by its migration', async () => {
    const before = strip(await report(t, 'by=channel'));
    await t.remigrate(ROLLUPS.map((r) => `DROP TABLE ${r.table}; DROP TABLE ${r.orders};`).join(' ') + ' DROP INDEX conversions_report;', 2);
    expect(strip(await report(t, 'by=channel'))).toEqual(before);
  });

  it.skipIf(STORE_KIND !== 'sqlite')('are made whole by migration 0007 where an early build made them otherwise, and filled from the raw tables', async () => {
    const reports = async () => Promise.all(['by=channel', 'by=code', 'by=utm_source', 'by=day&from=2026-05-20&to=2026-06-10'].map(async (q) => strip(await report(t, q))));
    const before = await reports();
    // As an early build left it: no order rollups, one traffic rollup of other columns, the old wide table.
    const early = [
      ...ROLLUPS.map((r) => `DROP TABLE ${r.orders};`),
      'DROP TABLE daily_utm; CREATE TABLE daily_utm (site_id TEXT NOT NULL, day INTEGER NOT NULL, visits INTEGER NOT NULL DEFAULT 0);',
      'CREATE TABLE daily_stats (site_id TEXT NOT NULL, day INTEGER NOT NULL, visits INTEGER NOT NULL);',
    ].join(' ');
    await t.remigrate(early, 7);
    expect(await reports()).toEqual(before);
    expect(await t.tables()).not.toContain('daily_stats');
    // And it leaves rollups as the code has them alone.
    await t.remigrate("INSERT INTO daily_totals (site_id, day, event, visits) VALUES ('acme', 1, '', 1);", 7);
    expect(await t.sql("SELECT visits FROM daily_totals WHERE day = 1")).toEqual([{ visits: 1 }]);
  });

  it.each([
    ['code', 'daily_codes'],
    ['affiliate', 'daily_codes'],
    ['channel', 'daily_sources'],
    ['source,channel', 'daily_sources'],
    ['utm_campaign', 'daily_utm'],
    ['day', 'daily_totals'],
    ['event,day', 'daily_totals'],
  ])('by=%s reads whole days of %s through its primary key', async (by, table) => {
    const q = reportQueries('acme', { dims: by.split(',') as any, from: 0, to: 30 * DAY, event: null }, t.dialect);
    expect(q.visits.text).toMatch(readsFrom(table));
    expect(await t.explain(q.visits.text, q.visits.params)).toMatch(byPrimaryKey(table));
  });

  it('a mix of keys no rollup holds reads the raw tables', () => {
    const q = reportQueries('acme', { dims: ['code', 'channel'], from: 0, to: 30 * DAY, event: null }, t.dialect);
    expect(q.visits.text).toContain('FROM visits v');
    expect(q.orders.text).toContain('FROM conversions v');
  });

  it('orders by ticket type read the raw conversions, visits still the rollup', () => {
    const q = reportQueries('acme', { dims: ['code', 'ticket_type'], from: 0, to: 30 * DAY, event: null }, t.dialect);
    expect(q.visits.text).toMatch(readsFrom('daily_codes'));
    expect(q.orders.text).toContain('FROM conversions v');
  });

  it.each([
    ['code', 'daily_codes_orders'],
    ['channel', 'daily_sources_orders'],
    ['day', 'daily_totals_orders'],
  ])('by=%s reads whole days of orders from %s through its primary key', async (by, table) => {
    const q = reportQueries('acme', { dims: [by as any], from: 0, to: 30 * DAY, event: null }, t.dialect);
    for (const sql of [q.orders, q.orderTotals, q.goals, q.goalTotals]) {
      expect(sql.text).toMatch(readsFrom(table));
      expect(await t.explain(sql.text, sql.params)).toMatch(byPrimaryKey(table));
    }
  });

  it('a visit late in a day and one early the next fall on their own UTC days', async () => {
    t.clock.now = Date.UTC(2026, 6, 1, 23, 59);
    await pageview(t, { vid: 'visitor-late', url: EVENT_URL, referrer: 'https://www.bing.com/' });
    t.clock.advance(2 * MINUTE);
    await pageview(t, { vid: 'visitor-late', url: EVENT_URL, referrer: 'https://www.bing.com/' });
    const r = await report(t, 'by=day&from=2026-07-01&to=2026-07-02');
    expect(r.rows.map((x: any) => [x.key, x.visits, x.visitors])).toEqual([
      ['2026-07-01', 1, 1],
      ['2026-07-02', 1, 1],
    ]);
    expect(r.totals.visitors).toBe(1);
  });
});

describe('RollupBatch', () => {
  it('keeps rows apart whose keys differ only in where a newline falls', () => {
    const batch = new RollupBatch();
    const facts = { channel: 'email', source: null, code: null, event: null, utm_medium: null, utm_campaign: null };
    batch.add('acme', 1, { ...facts, utm_source: 'a\nb', utm_medium: 'c' }, { visits: 1 });
    batch.add('acme', 1, { ...facts, utm_source: 'a', utm_medium: 'b\nc' }, { visits: 1 });
    const utm = [...batch.deltas.values()].filter((d) => d.table === 'daily_utm');
    expect(utm.map((d) => [d.keys, d.counts.visits])).toEqual([
      [['acme', 'a\nb', 'c', '', ''], 1],
      [['acme', 'a', 'b\nc', '', ''], 1],
    ]);
  });
});
