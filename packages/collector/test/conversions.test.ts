import { pixelUrl } from '@linktrail/tracker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attribute } from '../src/attribution.js';
import { BROWSER_UA, EVENT_URL, json, pageview, postback, report, rowFor, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
});
afterEach(() => t.close());

const pixel = (qs: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url: `/p.gif?site=acme&${qs}`, headers: { 'user-agent': BROWSER_UA, ...headers } });

describe('the pixel', () => {
  it('records an order for the visitor of the lt_vid cookie and answers a 43-byte GIF', async () => {
    const hit = await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia`, cid: 'c1' });
    const cookie = hit.cookies.find((c) => c.name === 'lt_vid')!;
    const res = await pixel('order=A1&value=90.00&currency=EUR&item=day-pass:2:45.00', { cookie: `lt_vid=${cookie.value}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.rawPayload.length).toBe(43);
    const r = await report(t, 'by=code');
    expect(rowFor(r, 'mia')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 9000 } });
  });

  it('the tracker module pixelUrl carries the visitor and click id where no cookie reaches', async () => {
    await pageview(t, { vid: 'visitor-pixel1', url: `${EVENT_URL}?affiliate=mia`, cid: 'click-id-pixel-0001' });
    await pageview(t, { vid: 'visitor-pixel2', url: `${EVENT_URL}?affiliate=leo`, cid: 'click-id-pixel-0002' });
    const order = { order: 'PX-1', value: '90.00', currency: 'EUR', items: [{ type: 'day-pass', qty: 2, price: '45.00' }] };
    const byVid = new URL(pixelUrl('https://t.example.com/', 'acme', order, { vid: 'visitor-pixel1', clickId: null }));
    expect(byVid.origin + byVid.pathname).toBe('https://t.example.com/p.gif');
    expect((await t.app.inject({ method: 'GET', url: `/p.gif${byVid.search}`, headers: { 'user-agent': BROWSER_UA } })).statusCode).toBe(200);
    const byCid = new URL(pixelUrl('https://t.example.com', 'acme', { ...order, order: 'PX-2' }, { clickId: 'click-id-pixel-0002' }));
    expect((await t.app.inject({ method: 'GET', url: `/p.gif${byCid.search}`, headers: { 'user-agent': BROWSER_UA } })).statusCode).toBe(200);
    const r = await report(t, 'by=code');
    expect(rowFor(r, 'mia')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 9000 } });
    expect(rowFor(r, 'leo')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 9000 } });
  });

  it.each([
    ['a missing order', 'value=1.00', /order/],
    ['a bad value', 'order=A1&value=12,50', /value/],
    ['an unknown currency', 'order=A1&value=1&currency=XXQ', /currency/],
    ['a malformed item', 'order=A1&item=vip:two:45.00', /item 1 .*QTY/],
    ['an item missing its price', 'order=A1&item=vip:2', /item 1 .*TYPE:QTY:PRICE/],
    ['too many decimals', 'order=A1&value=1.005&currency=EUR', /decimals/],
    ['an unknown site', 'order=A1&value=1&site=nope', /not registered/],
  ])('answers 400 with a GIF and the reason for %s, and stores nothing', async (_n, qs, reason) => {
    const res = await t.app.inject({ method: 'GET', url: qs.includes('site=nope') ? `/p.gif?${qs}` : `/p.gif?site=acme&${qs}` });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.headers['x-linktrail-error']).toMatch(reason);
    expect((await t.sql('SELECT COUNT(*) AS n FROM conversions'))[0]).toEqual({ n: 0 });
  });
});

describe('orders', () => {
  it('the same order sent twice counts once: 201 then 200 with the first record', async () => {
    const first = await postback(t, { order: 'A1', value: '45.00' });
    const again = await postback(t, { order: 'A1', value: '99.00' });
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(json(again).conversion.value).toBe('45.00');
    await pixel('order=A1&value=45.00');
    expect((await report(t, 'by=channel')).totals.orders).toBe(1);
  });

  it.each([
    ['EUR', '45.5', 4550, '45.50'],
    ['JPY', '4500', 4500, '4500'],
    ['KWD', '12.345', 12345, '12.345'],
    ['EUR', '10000000000.00', 1_000_000_000_000, '10000000000.00'],
  ])('stores %s %s exactly as %i minor units', async (currency, value, minor, back) => {
    const res = await postback(t, { order: `o-${currency}-${minor}`, value, currency });
    expect(res.statusCode).toBe(201);
    expect(json(res).conversion).toMatchObject({ value_minor: minor, value: back, currency });
  });

  it("rejects an amount beyond one order's ceiling, and a JPY amount with decimals", async () => {
    expect((await postback(t, { order: 'big', value: '10000000000.01' })).statusCode).toBe(400);
    const res = await postback(t, { order: 'jpy', value: '10.5', currency: 'JPY' });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/value has more decimals than JPY allows \(0\)/);
  });

  it('takes the site currency by default and the sum of item quantities as tickets', async () => {
    const res = await postback(t, { order: 'A1', items: [{ type: 'vip', qty: 2, price: '80.00' }, { type: 'day', qty: 1, price: 40 }] });
    expect(json(res).conversion).toMatchObject({ currency: 'EUR', value: '200.00', tickets: 3 });
  });

  it('refunded, transferred, resold and cancelled orders leave the sales figures but are kept', async () => {
    for (const order of ['A1', 'A2', 'A3', 'A4', 'A5']) await postback(t, { order, value: '10.00' });
    for (const [order, status] of [['A2', 'refunded'], ['A3', 'transferred'], ['A4', 'resold'], ['A5', 'cancelled']]) {
      const res = await t.app.inject({ method: 'POST', url: `/api/sites/acme/orders/${order}/status`, headers: t.auth, payload: { status } });
      expect(res.statusCode).toBe(200);
    }
    expect((await report(t, 'by=channel')).totals).toMatchObject({ orders: 1, revenue: { EUR: 1000 } });
    const kept = await t.app.inject({ method: 'GET', url: '/api/sites/acme/conversions/A2', headers: t.auth });
    expect(json(kept).conversion.status).toBe('refunded');
  });

  it('an unknown status or order is a 4xx', async () => {
    await postback(t, { order: 'A1', value: '10.00' });
    const bad = await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/status', headers: t.auth, payload: { status: 'lost' } });
    expect(bad.statusCode).toBe(400);
    const missing = await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/zz/status', headers: t.auth, payload: { status: 'refunded' } });
    expect(missing.statusCode).toBe(404);
  });

  it('counts a new customer only on the first purchase of their key', async () => {
    await postback(t, { order: 'A1', value: '10.00', customer: 'hash-of-ana' });
    await postback(t, { order: 'A2', value: '10.00', customer: 'hash-of-ana' });
    await postback(t, { order: 'A3', value: '10.00', customer: 'hash-of-bo' });
    expect((await report(t, 'by=channel')).totals.new_customers).toBe(2);
  });

  it("a backfilled purchase before a customer's first known one is their first: the new customer moves to it", async () => {
    const day = 86_400_000;
    const at = (ms: number) => new Date(ms).toISOString();
    const dayOf = (ms: number) => at(ms).slice(0, 10);
    const later = t.clock.now - day;
    const earlier = t.clock.now - 4 * day;
    expect(json(await postback(t, { order: 'X1', value: '10.00', customer: 'cust1', ts: at(later) })).conversion.new_customer).toBe(true);
    expect(json(await postback(t, { order: 'X0', value: '10.00', customer: 'cust1', ts: at(earlier) })).conversion.new_customer).toBe(true);
    // A repeat of the first changes nothing; a purchase in between is no first either.
    expect(json(await postback(t, { order: 'X0', value: '10.00', customer: 'cust1', ts: at(earlier) })).conversion.new_customer).toBe(true);
    expect(json(await postback(t, { order: 'X2', value: '10.00', customer: 'cust1', ts: at(earlier + day) })).conversion.new_customer).toBe(false);
    const order = async (id: string) => json(await t.app.inject({ method: 'GET', url: `/api/sites/acme/conversions/${id}`, headers: t.auth })).conversion;
    expect((await order('X1')).new_customer).toBe(false);
    // Whole days (the rollup) and the raw rows agree.
    for (const range of [`from=${dayOf(earlier)}&to=${dayOf(later)}`, `from=${at(earlier - 1)}&to=${at(later + 1)}`]) {
      const r = await report(t, `by=day&${range}`);
      expect(r.totals.new_customers, range).toBe(1);
      expect(r.rows.find((x: any) => x.key === dayOf(earlier)).new_customers, range).toBe(1);
      expect(r.rows.find((x: any) => x.key === dayOf(later)).new_customers, range).toBe(0);
    }
  });

  it('scans are capped at the tickets of the order', async () => {
    await postback(t, { order: 'A1', value: '10.00', tickets: 3 });
    const res = await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/scans', headers: t.auth, payload: { scanned: 5 } });
    expect(json(res)).toEqual({ order: 'A1', scanned: 3, tickets: 3 });
    expect((await report(t, 'by=channel')).totals).toMatchObject({ scanned: 3, unscanned: 0 });
  });

  it('backfills with a past ts, but never a future one', async () => {
    const past = new Date(t.clock.now - 3 * 86_400_000).toISOString();
    expect(json(await postback(t, { order: 'A1', value: '1', ts: past })).conversion.ts).toBe(past);
    const res = await postback(t, { order: 'A2', value: '1', ts: t.clock.now + 3_600_000 });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/ts is in the future/);
  });

  it('a script conversion through /collect is recorded for its visitor', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.bing.com/' });
    const res = await t.app.inject({
      method: 'POST',
      url: '/collect',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ kind: 'conversion', site: 'acme', vid: 'visitor-aaaa', order: 'S1', value: '30.00' }),
    });
    expect(res.statusCode).toBe(204);
    const r = await report(t, 'by=source');
    expect(rowFor(r, 'bing')).toMatchObject({ orders: 1, revenue: { EUR: 3000 } });
  });

  it('a script conversion without an order is a 400', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/collect', payload: { kind: 'conversion', site: 'acme', vid: 'visitor-aaaa', value: '1' } });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/order/);
  });
});

describe('hostile conversions', () => {
  it('a conversion type named constructor is counted like any other and breaks no report', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/collect', payload: { kind: 'conversion', site: 'acme', vid: 'visitor-aaaa', order: 'g1', type: 'constructor' } });
    expect(res.statusCode).toBe(204);
    for (const by of ['channel', 'affiliate', 'code']) {
      const r = await report(t, `by=${by}`);
      expect(r.totals.conversions).toEqual({ constructor: 1 });
    }
    const raw = await report(t, 'by=channel&from=2026-05-01T00:00:01Z&to=2026-06-02T00:00:00Z');
    expect(raw.totals.conversions).toEqual({ constructor: 1 });
  });

  it('public conversions cannot be backdated: the pixel and the script record them now', async () => {
    const past = '2024-01-01T00:00:00Z';
    await t.app.inject({ method: 'POST', url: '/collect', payload: { kind: 'conversion', site: 'acme', vid: 'visitor-aaaa', order: 's1', value: '1', ts: past } });
    await t.app.inject({ method: 'GET', url: `/p.gif?site=acme&order=p1&value=1&ts=${past}` });
    for (const order of ['s1', 'p1']) {
      const c = json(await t.app.inject({ method: 'GET', url: `/api/sites/acme/conversions/${order}`, headers: t.auth }));
      expect(c.conversion.ts).toBe(new Date(t.clock.now).toISOString());
    }
  });
});

describe('every field of a conversion is kept (its copies are field by field)', () => {
  const expectAllKept = (c: Record<string, any>) =>
    expect(c).toMatchObject({
      order: 'F1', event: 'fest', type: 'purchase', currency: 'EUR', valueMinor: 9000, tickets: 3, vid: 'visitor-ffff', cid: 'click-ffff-0123456789',
      items: [{ type: 'day-pass', qty: 2, priceMinor: 4500 }], newCustomer: true, status: 'completed', scanned: 0,
    });

  it('a postback answers what is stored, as reading it back gives it', async () => {
    const res = await postback(t, {
      order: 'F1', event: 'fest', type: 'purchase', currency: 'EUR', value: '90.00', tickets: 3, vid: 'visitor-ffff',
      cid: 'click-ffff-0123456789', customer: 'fay@example.com', items: [{ type: 'day-pass', qty: 2, price: '45.00' }],
    });
    expect(res.statusCode).toBe(201);
    const stored = (await t.app.ctx.store.getConversion('acme', 'F1'))!;
    expectAllKept(stored);
    expect(stored.customer).toMatch(/^[0-9a-f]{64}$/);
    // The answer at write time is the row read back.
    const again = await postback(t, { order: 'F1', value: '90.00' });
    expect(again.statusCode).toBe(200);
    expect(json(res)).toEqual(json(again));
    // And in the store itself: what recording answers is the row read back, field for field.
    const record = { ...stored, order: 'F2', customer: 'f'.repeat(64) };
    const created = await t.app.ctx.store.recordConversion(record, 28, attribute);
    expect(created.created).toBe(true);
    expect(created.conversion).toEqual(await t.app.ctx.store.getConversion('acme', 'F2'));
  });

  it('a conversion from the script keeps every field it sent', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/collect',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
      payload: JSON.stringify({
        site: 'acme', kind: 'conversion', order: 'F1', event: 'fest', type: 'purchase', currency: 'EUR', value: '90.00', tickets: 3,
        vid: 'visitor-ffff', cid: 'click-ffff-0123456789', customer: 'fay@example.com', items: [{ type: 'day-pass', qty: 2, price: '45.00' }],
      }),
    });
    expect(res.statusCode).toBeLessThan(300);
    const stored = (await t.app.ctx.store.getConversion('acme', 'F1'))!;
    expectAllKept(stored);
    expect(stored.customer).toMatch(/^[0-9a-f]{64}$/);
  });
});
