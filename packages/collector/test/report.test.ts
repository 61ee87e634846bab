import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeReport, reportQueries, type Dimension } from '../src/report.js';
import { hashVisitor, SketchUnion } from '../src/sketch.js';
import { STORE_KIND } from './stores.js';
import { DAY, EVENT_URL, MINUTE, json, pageview, postback, report, rowFor, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/affiliates', headers: t.auth, payload: { name: 'Mia Lopez', email: 'mia@example.com', nickname: 'mia' } });
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'mia', affiliate: 'mia' } });
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'mia-tiktok', affiliate: 'mia' } });
});
afterEach(() => t.close());

async function story() {
  // Ana: Mia's link from Instagram, buys 2 tickets. Bo: Google, buys 1. Cy: direct, buys nothing.
  // Di: buys with no visit at all (unattributed).
  await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}?affiliate=mia&utm_source=instagram&utm_medium=social`, referrer: 'https://l.instagram.com/', cid: 'c-ana' });
  await pageview(t, { vid: 'visitor-bo11', url: `${EVENT_URL}?utm_source=google&utm_medium=cpc&utm_campaign=summer`, referrer: 'https://www.google.com/' });
  await pageview(t, { vid: 'visitor-cy11', url: EVENT_URL, referrer: '' });
  await pageview(t, { vid: 'visitor-ana2', url: `${EVENT_URL}?affiliate=mia-tiktok`, referrer: 'https://www.tiktok.com/' });
  t.clock.advance(10 * MINUTE);
  await postback(t, { order: 'A1', vid: 'visitor-ana1', value: '90.00', items: [{ type: 'vip', qty: 2, price: '45.00' }] });
  await postback(t, { order: 'B1', vid: 'visitor-bo11', value: '45.00', tickets: 1 });
  await postback(t, { order: 'D1', vid: 'visitor-di11', value: '10.00', currency: 'USD', tickets: 1 });
}

describe('GET /report', () => {
  it('by=channel keeps direct and unattributed rows, and totals add up', async () => {
    await story();
    const r = await report(t, 'by=channel');
    expect(rowFor(r, 'affiliate')).toMatchObject({ visits: 2, visitors: 2, clicks: 2, orders: 1, tickets: 2, revenue: { EUR: 9000 }, conversion_rate: 0.5 });
    expect(rowFor(r, 'paid')).toMatchObject({ visits: 1, orders: 1, revenue: { EUR: 4500 } });
    expect(rowFor(r, 'direct')).toMatchObject({ visits: 1, orders: 0, conversion_rate: 0 });
    expect(rowFor(r, 'unattributed')).toMatchObject({ visits: 0, orders: 1, revenue: { USD: 1000 }, conversion_rate: null });
    expect(r.totals).toMatchObject({ visits: 4, visitors: 4, clicks: 2, orders: 3, tickets: 4, revenue: { EUR: 13500, USD: 1000 } });
    for (const k of ['visits', 'clicks', 'orders', 'tickets'] as const) {
      expect(r.rows.reduce((s: number, x: any) => s + x[k], 0)).toBe(r.totals[k]);
    }
  });

  it('by=code and by=affiliate credit orders by link attribution', async () => {
    await story();
    const byCode = await report(t, 'by=code');
    expect(rowFor(byCode, 'mia')).toMatchObject({ clicks: 1, orders: 1, revenue: { EUR: 9000 } });
    expect(rowFor(byCode, 'mia-tiktok')).toMatchObject({ clicks: 1, orders: 0 });
    expect(rowFor(byCode, null)).toMatchObject({ orders: 2 });
    const byAffiliate = await report(t, 'by=affiliate');
    expect(rowFor(byAffiliate, 'mia')).toMatchObject({ clicks: 2, visits: 2, orders: 1 });
  });

  it("by=affiliate: an order on a code registered later goes to the code's affiliate, on every range", async () => {
    // Zoe's code zed is used before it is registered; the order is credited to the code.
    await pageview(t, { vid: 'visitor-zed1', url: `${EVENT_URL}?affiliate=zed`, referrer: '' });
    t.clock.advance(10 * MINUTE);
    const order = json(await postback(t, { order: 'Z1', vid: 'visitor-zed1', value: '10.00', tickets: 1 }));
    expect(order.conversion.attribution.link).toMatchObject({ code: 'zed', affiliate: null });
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/affiliates', headers: t.auth, payload: { id: 'zoe', name: 'Zoe', email: 'zoe@example.com' } });
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'zed', affiliate: 'zoe' } });
    // Whole days (the rollup), to the millisecond within a day (raw), and across days (both).
    for (const range of ['from=2026-06-01&to=2026-06-01', 'from=2026-06-01T00:00:00.001Z&to=2026-06-01T23:00:00Z', 'from=2026-05-30T12:00:00Z&to=2026-06-02T12:00:00Z']) {
      const r = await report(t, `by=affiliate&${range}`);
      expect(rowFor(r, 'zoe'), range).toMatchObject({ visits: 1, clicks: 1, orders: 1, revenue: { EUR: 1000 } });
      expect(rowFor(r, null), range).toBeUndefined();
    }
    // The order list for payouts says the same.
    const orders = json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/orders?affiliate=zoe', headers: t.auth }));
    expect(orders.orders.map((o: any) => [o.order, o.affiliate])).toEqual([['Z1', 'zoe']]);
    // The conversion still tells how it was credited when it came.
    const stored = json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/conversions/Z1', headers: t.auth }));
    expect(stored.attribution.link).toMatchObject({ code: 'zed', affiliate: null });
  });

  it('by=source, utm_source, utm_medium, utm_campaign, event and day', async () => {
    await story();
    expect(rowFor(await report(t, 'by=source'), 'instagram')).toMatchObject({ orders: 1 });
    expect(rowFor(await report(t, 'by=utm_source'), 'google')).toMatchObject({ visits: 1, orders: 1 });
    expect(rowFor(await report(t, 'by=utm_medium'), 'cpc')).toMatchObject({ orders: 1 });
    expect(rowFor(await report(t, 'by=utm_campaign'), 'summer')).toMatchObject({ orders: 1 });
    expect(rowFor(await report(t, 'by=event'), null)).toMatchObject({ visits: 4, orders: 3 });
    expect(rowFor(await report(t, 'by=day'), '2026-06-01')).toMatchObject({ visits: 4, orders: 3 });
  });

  it('two dimensions give keys', async () => {
    await story();
    const r = await report(t, 'by=code,ticket_type');
    expect(r.rows.find((x: any) => x.keys[0] === 'mia' && x.keys[1] === 'vip')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 9000 } });
  });

  it('from/to select the range, a bare date meaning the whole UTC day', async () => {
    await story();
    t.clock.advance(2 * DAY);
    await pageview(t, { vid: 'visitor-late', url: EVENT_URL, referrer: 'https://www.bing.com/' });
    expect((await report(t, 'by=channel&from=2026-06-01&to=2026-06-01')).totals.visits).toBe(4);
    expect((await report(t, 'by=channel&from=2026-06-02')).totals).toMatchObject({ visits: 1, orders: 0 });
  });

  it('the event filter narrows every figure', async () => {
    await pageview(t, { vid: 'visitor-ana1', url: EVENT_URL, event: 'fest', referrer: 'https://www.bing.com/' });
    await pageview(t, { vid: 'visitor-bo11', url: EVENT_URL, event: 'gig', referrer: 'https://www.bing.com/' });
    await postback(t, { order: 'A1', vid: 'visitor-ana1', value: '1', event: 'fest' });
    expect((await report(t, 'by=channel&event=fest')).totals).toMatchObject({ visits: 1, orders: 1 });
  });

  it.each([
    ['by=nope', /by must be/],
    ['by=code,channel,day', /one or two/],
    ['by=code&from=yesterday', /from must be/],
    ['by=code&from=2026-06-02&to=2026-06-01', /from must be before to/],
    ['', /by/],
    ['by=code&format=pdf', /^querystring\/format must be equal to one of the allowed values: json, csv, xlsx$/],
  ])('rejects %s with a 400 naming the parameter', async (qs, message) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/sites/acme/report?${qs}`, headers: t.auth });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(message);
  });
});

describe('dates in ISO 8601 basic form (YYYYMMDD)', () => {
  it('are whole UTC days in a report, as YYYY-MM-DD are', async () => {
    await story();
    t.clock.advance(2 * DAY);
    await pageview(t, { vid: 'visitor-late', url: EVENT_URL, referrer: 'https://www.bing.com/' });
    const compact = await report(t, 'by=channel&from=20260601&to=20260601');
    expect(compact).toMatchObject({ from: '2026-06-01T00:00:00.000Z', to: '2026-06-02T00:00:00.000Z' });
    expect(compact.totals).toMatchObject({ visits: 4, orders: 3 });
    expect(compact).toEqual(await report(t, 'by=channel&from=2026-06-01&to=2026-06-01'));
    expect((await report(t, 'by=channel&from=20260602&to=20260603')).totals).toMatchObject({ visits: 1, orders: 0 });
  });

  it('bound the order list too', async () => {
    await story();
    const list = json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/orders?from=20260601&to=20260601', headers: t.auth }));
    expect(list).toMatchObject({ from: '2026-06-01T00:00:00.000Z', to: '2026-06-02T00:00:00.000Z' });
    expect(list.orders.map((o: any) => o.order).sort()).toEqual(['A1', 'B1', 'D1']);
  });

  it('that do not exist are a 400 naming the bound; other numbers stay epoch milliseconds', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme/report?by=channel&from=20261332', headers: t.auth });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/^from must be a real date/);
    const epoch = await report(t, `by=channel&from=${Date.UTC(2026, 5, 1, 12)}&to=${Date.UTC(2026, 5, 1, 13)}`);
    expect(epoch).toMatchObject({ from: '2026-06-01T12:00:00.000Z', to: '2026-06-01T13:00:00.000Z' });
  });
});

describe('rows by day', () => {
  /** More orders every day: an order by orders would put the last day first. */
  async function busierEveryDay() {
    for (const [day, orders] of [[0, 1], [1, 2], [2, 3]] as const) {
      t.clock.now = Date.UTC(2026, 5, 1 + day, 12);
      await pageview(t, { vid: `visitor-day${day}`, url: EVENT_URL, referrer: day === 1 ? 'https://www.google.com/' : '' });
      for (let i = 0; i < orders; i++) await postback(t, { order: `D${day}-${i}`, vid: `visitor-day${day}`, value: '10.00', tickets: 1 });
    }
  }
  const DAYS = ['2026-06-01', '2026-06-02', '2026-06-03'];

  it('come in date order, on whole days and on a range to the millisecond', async () => {
    await busierEveryDay();
    for (const range of ['from=2026-06-01&to=2026-06-03', 'from=2026-06-01T06:00:00Z&to=2026-06-03T18:00:00Z']) {
      expect((await report(t, `by=day&${range}`)).rows.map((r: any) => r.key), range).toEqual(DAYS);
    }
  });

  it('with two dimensions, come in date order whichever place day takes', async () => {
    await busierEveryDay();
    for (const by of ['day,channel', 'channel,day', 'day,ticket_type']) {
      const r = await report(t, `by=${by}&from=2026-06-01&to=2026-06-03`);
      const days = r.rows.map((x: any) => x.keys[by.split(',').indexOf('day')]);
      expect(days, by).toEqual([...days].sort());
      expect(new Set(days), by).toEqual(new Set(DAYS));
    }
  });

  it('other dimensions still come by orders', async () => {
    await busierEveryDay();
    expect((await report(t, 'by=channel&from=2026-06-01&to=2026-06-03')).rows.map((r: any) => [r.key, r.orders])).toEqual([
      ['direct', 4],
      ['search', 2],
    ]);
  });
});

describe('report query plans', () => {
  const plan = (sql: { text: string; params: unknown[] }) => t.explain(sql.text, sql.params);

  // PostgreSQL plans from statistics: give it a month of rows for 5,000 visitors to plan with.
  beforeEach(async () => {
    if (t.kind !== 'postgres') return;
    await t.sql(`INSERT INTO visits (site_id, ts, vid, channel, touch)
      SELECT 'acme', g::bigint * 60000, 'v' || (g % 5000), 'direct', 0 FROM generate_series(1, 40000) g`);
    await t.sql(`INSERT INTO clicks (site_id, cid, ts, vid, code, channel, kind)
      SELECT 'acme', 'c' || g, g::bigint * 60000, 'v' || (g % 5000), 'mia', 'affiliate', 'click' FROM generate_series(1, 40000) g`);
    await t.sql(`INSERT INTO conversions (site_id, order_id, ts, type, currency, value_minor, tickets, new_customer,
        vid, channel, rule, candidates, created_at)
      SELECT 'acme', 'o' || g, g::bigint * 60000, 'purchase', 'EUR', 100, 1, 0, 'v' || (g % 5000), 'direct', 'r', '[]', 0
      FROM generate_series(1, 40000) g`);
    await t.sql('ANALYZE visits, clicks, conversions');
  });

  it.each(['channel', 'code', 'affiliate', 'day'] as const)('by=%s over part of a day reads the raw range through the site/time indexes', async (dim) => {
    const q = reportQueries('acme', { dims: [dim], from: 0, to: 1, event: null }, t.dialect);
    expect(await plan(q.visits)).toMatch(/visits_site_ts/);
    expect(await plan(q.clicks!)).toMatch(/clicks_site_ts/);
    expect(await plan(q.orders)).toMatch(/conversions_report/);
    expect(await plan(q.goals)).toMatch(/conversions_report/);
  });

  it.each(['ticket_type', 'code,ticket_type'])('by=%s reads the orders of the range, not of the whole site', async (by) => {
    const q = reportQueries('acme', { dims: by.split(',') as Dimension[], from: 0, to: 1, event: null }, t.dialect);
    const orders = await plan(q.orders);
    expect(orders).toMatch(/conversions_report/);
    // Both parts (the typed and the rest) seek the range; neither walks the site by its key.
    expect(orders).not.toMatch(/SEARCH v USING PRIMARY KEY|Scan using conversions_pkey|Seq Scan on conversions/);
  });

  it.runIf(STORE_KIND === 'sqlite')('reads orders and goals from the covering index alone on SQLite', async () => {
    const q = reportQueries('acme', { dims: ['code'], from: 0, to: 1, event: null }, t.dialect);
    expect(await plan(q.orders)).toMatch(/COVERING INDEX conversions_report/);
    expect(await plan(q.goals)).toMatch(/COVERING INDEX conversions_report/);
  });

  it('attribution reads a visitor through the visitor indexes', async () => {
    const clicks = await plan({ text: "SELECT * FROM clicks WHERE site_id = ? AND vid = ? AND kind = 'click' AND ts <= ? ORDER BY ts DESC", params: ['a', 'v', 1] });
    expect(clicks).toMatch(/clicks_visitor/);
    if (STORE_KIND === 'sqlite') {
      // The visits' own index is visitor_visits there, written in sorted runs (visitor-index.ts).
      const visits = await plan({
        text: 'SELECT v.* FROM visitor_visits i JOIN visits v ON v.id = i.visit WHERE i.site_id = ? AND i.vid = ? AND i.ts <= ? ORDER BY i.ts DESC, i.visit DESC',
        params: ['a', 'v', 1],
      });
      expect(visits).toMatch(/SEARCH i USING PRIMARY KEY \(site_id=\? AND vid=\? AND ts<\?\)/);
      expect(visits).toMatch(/SEARCH v USING INTEGER PRIMARY KEY/);
      expect(visits).not.toMatch(/TEMP B-TREE/);
    } else {
      const visits = await plan({ text: 'SELECT * FROM visits WHERE site_id = ? AND vid = ? AND ts <= ? ORDER BY ts DESC', params: ['a', 'v', 1] });
      expect(visits).toMatch(/visits_visitor/);
    }
  });
});

describe('visitors from sketches', () => {
  it('never exceed visits, in a row or the totals (past 256 a sketch is an estimate)', () => {
    const u = new SketchUnion();
    for (let i = 0; i < 3000; i++) u.addHash(hashVisitor(`visitor-${i}`));
    const estimate = u.count();
    expect(estimate).not.toBe(3000);
    // Fewer visits than the estimate: the estimate can't be right.
    const visits = Math.min(estimate, 3000) - 1;
    const merged = mergeReport(['code'], {
      visits: [{ k0: 'mia', visits, clicks: 0, previews: 0, sketch: u.toBlob() }],
      clicks: [], orders: [], orderTotals: [], goals: [], goalTotals: [], visitors: null,
    });
    expect(merged.rows[0]!.visitors).toBe(visits);
    expect(merged.totals.visitors).toBe(visits);
  });
});

describe("a promoter's codes in a report", () => {
  it('go in one parameter: one statement whatever their number, and 40,000 of them answer', async () => {
    await story();
    const query = (codes: string[]) => ({ dims: ['code' as Dimension], from: 0, to: t.clock.now + DAY, event: null, codes });
    const many = ['mia', ...Array.from({ length: 40_000 }, (_, i) => `code-${i}`), 'mia-tiktok'];
    // The statements' text never names how many codes (a text per count filled the statement cache).
    expect(JSON.stringify(reportQueries('acme', query(['mia']), t.dialect).visits.text)).toBe(
      JSON.stringify(reportQueries('acme', query(many), t.dialect).visits.text),
    );
    const r = await t.app.ctx.store.report('acme', query(many));
    expect(r.rows.map((x) => [x.key, x.visits, x.orders])).toEqual([
      ['mia', 1, 1],
      ['mia-tiktok', 1, 0],
    ]);
    expect((await t.app.ctx.store.report('acme', query([]))).rows).toEqual([]);
  });
});
