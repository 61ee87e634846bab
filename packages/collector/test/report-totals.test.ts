// Reports answer for any range and event, keep every row, and their totals add up.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY, EVENT_URL, MINUTE, json, pageview, postback, report, rowFor, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/affiliates', headers: t.auth, payload: { id: 'mia', name: 'Mia', email: 'mia@example.com' } });
  for (const code of ['mia', 'mia-tt']) {
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code, affiliate: 'mia' } });
  }
  for (const id of ['fest', 'gig']) {
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: t.auth, payload: { id, name: id, url: `${EVENT_URL}/${id}` } });
  }
});
afterEach(() => t.close());

/** Three days of traffic over two events, every channel kind, several currencies. */
async function threeDays() {
  const visit = (vid: string, url: string, referrer: string, event: string) => pageview(t, { vid, url, referrer, event });
  await visit('visitor-ana1', `${EVENT_URL}/fest?affiliate=mia&utm_source=ig&utm_medium=social&utm_campaign=june`, 'https://l.instagram.com/', 'fest');
  await visit('visitor-bo11', `${EVENT_URL}/gig?utm_source=google&utm_medium=cpc`, 'https://www.google.com/', 'gig');
  await visit('visitor-cy11', `${EVENT_URL}/fest`, '', 'fest');
  await visit('visitor-dd11', `${EVENT_URL}/gig`, 'not a url at all', 'gig');
  t.clock.advance(10 * MINUTE);
  await postback(t, { order: 'A1', vid: 'visitor-ana1', event: 'fest', value: '90.00', tickets: 2 });
  await postback(t, { order: 'B1', vid: 'visitor-bo11', event: 'gig', value: '4500', currency: 'JPY', tickets: 1 });
  await postback(t, { order: 'U1', event: 'gig', value: '12.345', currency: 'KWD', tickets: 3 });
  await postback(t, { order: 'S1', vid: 'visitor-cy11', event: 'fest', type: 'signup' });
  t.clock.advance(DAY);
  await visit('visitor-ana1', `${EVENT_URL}/fest?affiliate=mia-tt`, 'https://www.tiktok.com/', 'fest');
  await visit('visitor-ee11', `${EVENT_URL}/gig`, 'https://news.example.org/article', 'gig');
  t.clock.advance(10 * MINUTE);
  await postback(t, { order: 'A2', vid: 'visitor-ana1', event: 'fest', value: '45.00', tickets: 1 });
  await postback(t, { order: 'E1', vid: 'visitor-ee11', event: 'gig', value: '10.00', currency: 'USD', tickets: 1 });
  t.clock.advance(DAY);
  await visit('visitor-ff11', `${EVENT_URL}/fest`, '', 'fest');
}

const SUMMED = ['visits', 'clicks', 'previews', 'orders', 'tickets', 'new_customers', 'scanned'] as const;

function expectTotalsToBeTheSumOfRows(r: Record<string, any>) {
  const rows = r.rows as Array<Record<string, any>>;
  for (const k of SUMMED) expect(rows.reduce((s, x) => s + x[k], 0), k).toBe(r.totals[k]);
  const revenue: Record<string, number> = {};
  const conversions: Record<string, number> = {};
  for (const x of rows) {
    for (const [cur, v] of Object.entries<number>(x.revenue)) revenue[cur] = (revenue[cur] ?? 0) + v;
    for (const [type, v] of Object.entries<number>(x.conversions)) conversions[type] = (conversions[type] ?? 0) + v;
  }
  expect(revenue).toEqual(r.totals.revenue);
  expect(conversions).toEqual(r.totals.conversions);
  // Visitors are distinct: a visitor seen in two rows counts once in totals.
  expect(r.totals.visitors).toBeLessThanOrEqual(rows.reduce((s, x) => s + x.visitors, 0));
}

describe('report totals', () => {
  it.each(['channel', 'source', 'affiliate', 'code', 'event', 'utm_source', 'utm_medium', 'utm_campaign', 'day'])(
    'by=%s: totals are the sum of the rows',
    async (by) => {
      await threeDays();
      const r = await report(t, `by=${by}`);
      expectTotalsToBeTheSumOfRows(r);
      expect(r.totals).toMatchObject({ visits: 7, visitors: 6, clicks: 2, orders: 5, tickets: 8, conversions: { signup: 1 } });
      expect(r.totals.revenue).toEqual({ EUR: 13500, JPY: 4500, KWD: 12345, USD: 1000 });
    },
  );

  it.each(['channel,day', 'code,event', 'event,utm_source', 'affiliate,day'])('by=%s: totals are the sum of the rows', async (by) => {
    await threeDays();
    expectTotalsToBeTheSumOfRows(await report(t, `by=${by}`));
  });

  it('direct, unknown, unattributed and no-code rows are kept', async () => {
    await threeDays();
    const byChannel = await report(t, 'by=channel');
    expect(rowFor(byChannel, 'direct')).toMatchObject({ visits: 2, orders: 0, conversions: { signup: 1 } });
    expect(rowFor(byChannel, 'unknown')).toMatchObject({ visits: 1, orders: 0 });
    expect(rowFor(byChannel, 'unattributed')).toMatchObject({ visits: 0, orders: 1, revenue: { KWD: 12345 }, tickets: 3 });
    expect(rowFor(await report(t, 'by=code'), null)).toMatchObject({ visits: 5, orders: 3 });
    expect(rowFor(await report(t, 'by=utm_campaign'), null)).toMatchObject({ visits: 6, orders: 4 });
  });

  it('several currencies stay apart, each in its own minor units', async () => {
    await threeDays();
    const r = await report(t, 'by=event');
    expect(rowFor(r, 'fest')).toMatchObject({ orders: 2, revenue: { EUR: 13500 } });
    expect(rowFor(r, 'gig')!.revenue).toEqual({ JPY: 4500, KWD: 12345, USD: 1000 });
  });

  it('an order of Number.MAX_SAFE_INTEGER minor units is reported exactly', async () => {
    expect((await postback(t, { order: 'big', value: '90071992547409.91', tickets: 1 })).statusCode).toBe(201);
    expect((await report(t, 'by=channel')).totals.revenue).toEqual({ EUR: Number.MAX_SAFE_INTEGER });
  });

  it('attendance_rate is scanned over tickets, and null without tickets', async () => {
    await threeDays();
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/scans', headers: t.auth, payload: { scanned: 1 } });
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/U1/scans', headers: t.auth, payload: { scanned: 3 } });
    const r = await report(t, 'by=channel');
    expect(rowFor(r, 'affiliate')).toMatchObject({ tickets: 3, scanned: 1, unscanned: 2, attendance_rate: 0.3333 });
    expect(rowFor(r, 'unattributed')).toMatchObject({ scanned: 3, unscanned: 0, attendance_rate: 1 });
    expect(rowFor(r, 'direct')).toMatchObject({ tickets: 0, attendance_rate: null });
    expect(r.totals).toMatchObject({ tickets: 8, scanned: 4, attendance_rate: 0.5 });
  });
});

describe('report ranges and filters', () => {
  it('any from/to range selects what happened in it', async () => {
    await threeDays();
    const day1 = await report(t, 'by=channel&from=2026-06-01&to=2026-06-01');
    expect(day1.totals).toMatchObject({ visits: 4, orders: 3, conversions: { signup: 1 } });
    expect(day1).toMatchObject({ from: '2026-06-01T00:00:00.000Z', to: '2026-06-02T00:00:00.000Z' });
    expect((await report(t, 'by=channel&from=2026-06-02&to=2026-06-03')).totals).toMatchObject({ visits: 3, orders: 2, conversions: {} });
    const t0 = Date.UTC(2026, 5, 2, 12, 15);
    expect((await report(t, `by=channel&from=${t0}&to=2026-06-02T12:25:00Z`)).totals).toMatchObject({ visits: 0, orders: 2 });
  });

  it('a range with nothing in it answers empty rows and zero totals', async () => {
    await threeDays();
    const r = await report(t, 'by=code&from=2025-01-01&to=2025-12-31');
    expect(r.rows).toEqual([]);
    expect(r.totals).toMatchObject({ visits: 0, orders: 0, revenue: {}, conversions: {}, conversion_rate: null, attendance_rate: null });
  });

  it('without from/to, the last 30 days', async () => {
    await threeDays();
    t.clock.advance(29 * DAY);
    expect((await report(t, 'by=channel')).totals.visits).toBe(1);
  });

  it.each([
    ['fest', { visits: 4, orders: 2, tickets: 3, revenue: { EUR: 13500 }, clicks: 2, conversions: { signup: 1 } }],
    ['gig', { visits: 3, orders: 3, tickets: 5, clicks: 0, conversions: {} }],
  ])('event=%s narrows every figure', async (event, totals) => {
    await threeDays();
    for (const by of ['channel', 'code', 'day', 'ticket_type']) {
      const r = await report(t, `by=${by}&event=${event}`);
      expect(r.totals, by).toMatchObject(totals);
      expect(r.event).toBe(event);
    }
  });

  it.each([
    ['to=99999999999999999999', /to must be/],
    ['from=-5', /from must be/],
    ['from=2026-02-30', /from must be/],
    ['to=2026-06-01T25:00:00Z', /to must be/],
    ['event=Not A Slug', /event/],
  ])('%s is a 400 naming the parameter', async (qs, message) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/sites/acme/report?by=code&${qs}`, headers: t.auth });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(message) });
  });
});
