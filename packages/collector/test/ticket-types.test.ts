// Ticket types arrive with every kind of conversion and break the report down by type.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, json, pageview, postback, report, setup, type TestApp, addMia } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await addMia(t);
  for (const id of ['fest', 'gig']) {
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: t.auth, payload: { id, name: id, url: `${EVENT_URL}/${id}` } });
  }
});
afterEach(() => t.close());

const pixel = (qs: string) => t.app.inject({ method: 'GET', url: `/p.gif?site=acme&${qs}`, headers: { 'user-agent': BROWSER_UA } });
const script = (body: Record<string, unknown>) =>
  t.app.inject({
    method: 'POST',
    url: '/collect',
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER_UA },
    payload: JSON.stringify({ kind: 'conversion', site: 'acme', ...body }),
  });
const items = async (order: string) =>
  json(await t.app.inject({ method: 'GET', url: `/api/sites/acme/conversions/${order}`, headers: t.auth })).conversion.items;
const row = (r: Record<string, any>, ...keys: Array<string | null>) =>
  (r.rows as Array<Record<string, any>>).find((x) => JSON.stringify(x.keys ?? [x.key]) === JSON.stringify(keys));

describe('items by ticket type arrive through every path', () => {
  it('the pixel takes repeated item=TYPE:QTY:PRICE and sums the tickets', async () => {
    expect((await pixel('order=P1&item=vip:2:80.00&item=day-pass:3:45.50')).statusCode).toBe(200);
    expect(await items('P1')).toEqual([
      { type: 'vip', qty: 2, price: '80.00' },
      { type: 'day-pass', qty: 3, price: '45.50' },
    ]);
    expect(json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/conversions/P1', headers: t.auth })).conversion).toMatchObject({ tickets: 5, value: '296.50' });
  });

  it('a script call through POST /collect keeps its items', async () => {
    expect((await script({ vid: 'visitor-aaaa', order: 'S1', items: [{ type: 'vip', qty: 1, price: '80.00' }, { type: 'day-pass', qty: 2, price: 45 }] })).statusCode).toBe(204);
    expect(await items('S1')).toEqual([
      { type: 'vip', qty: 1, price: '80.00' },
      { type: 'day-pass', qty: 2, price: '45.00' },
    ]);
  });

  it('a server postback keeps its items', async () => {
    expect((await postback(t, { order: 'B1', value: '100.00', items: [{ type: 'early-bird', qty: 4, price: '25.00' }] })).statusCode).toBe(201);
    expect(await items('B1')).toEqual([{ type: 'early-bird', qty: 4, price: '25.00' }]);
  });

  it.each([
    ['no quantity', 'item=vip:two:45.00', /item 1 .*QTY must be a whole number/],
    ['a price with a comma', 'item=vip:2:45,00', /item 1 .*PRICE must be a decimal amount/],
    ['too few parts', 'item=vip:2', /item 1 .*TYPE:QTY:PRICE/],
    ['an empty type', 'item=:2:45.00', /item 1 .*TYPE must be/],
    ['a bad second item', 'item=vip:1:10.00&item=day:0:5.00', /item 2 .*QTY/],
    ['decimals JPY does not have', 'currency=JPY&item=vip:1:4500.5', /item 1 PRICE has more decimals than JPY allows/],
    ['a line total beyond one order\'s ceiling', 'value=1&item=vip:100000:10000001.00', /item 1: quantity times price is too large/],
  ])('the pixel answers 400 naming the wrong part for %s', async (_name, qs, reason) => {
    const res = await pixel(`order=X1&${qs}`);
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-linktrail-error']).toMatch(reason);
    expect(json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/conversions/X1', headers: t.auth })).error).toBe('not_found');
  });

  it.each([
    ['a quantity that is not a number', { type: 'vip', qty: 'two', price: '45.00' }, /items\/0\/qty/],
    ['a price with a comma', { type: 'vip', qty: 1, price: '45,00' }, /items\[0\]\.price must be a decimal amount/],
    ['a missing type', { qty: 1, price: '45.00' }, /items\/0 must have required property 'type'/],
  ])('a script conversion with %s is a 400 naming the item', async (_name, item, reason) => {
    const res = await script({ vid: 'visitor-aaaa', order: 'S1', items: [item] });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(reason);
  });
});

describe('reports by ticket type', () => {
  async function sales() {
    await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}/fest?affiliate=mia`, event: 'fest', referrer: 'https://l.instagram.com/' });
    await pageview(t, { vid: 'visitor-bo11', url: `${EVENT_URL}/gig`, event: 'gig', referrer: 'https://www.google.com/' });
    // Ana buys two types in one order through Mia's link; Bo buys one type; Cy sends no items.
    await postback(t, { order: 'A1', vid: 'visitor-ana1', event: 'fest', customer: 'ana', items: [{ type: 'vip', qty: 2, price: '80.00' }, { type: 'day', qty: 1, price: '40.00' }] });
    await postback(t, { order: 'B1', vid: 'visitor-bo11', event: 'gig', items: [{ type: 'day', qty: 3, price: '40.00' }] });
    await postback(t, { order: 'C1', event: 'gig', value: '15.00', tickets: 1 });
  }

  it('by=ticket_type gives each type its tickets and revenue; an order with two types counts in both', async () => {
    await sales();
    const r = await report(t, 'by=ticket_type');
    expect(row(r, 'vip')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 16000 }, new_customers: 1 });
    expect(row(r, 'day')).toMatchObject({ orders: 2, tickets: 4, revenue: { EUR: 16000 }, new_customers: 1 });
    // An order sent without items is not dropped: it shows under no ticket type.
    expect(row(r, null)).toMatchObject({ orders: 1, tickets: 1, revenue: { EUR: 1500 }, visits: 2 });
    // Totals count every order once.
    expect(r.totals).toMatchObject({ orders: 3, tickets: 7, revenue: { EUR: 33500 }, new_customers: 1 });
  });

  it('by=code,ticket_type splits each code by type, with keys', async () => {
    await sales();
    const r = await report(t, 'by=code,ticket_type');
    expect(r.by).toBe('code,ticket_type');
    expect(row(r, 'mia', 'vip')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 16000 } });
    expect(row(r, 'mia', 'day')).toMatchObject({ orders: 1, tickets: 1, revenue: { EUR: 4000 } });
    expect(row(r, null, 'day')).toMatchObject({ orders: 1, tickets: 3, revenue: { EUR: 12000 } });
    expect(row(r, 'mia', null)).toMatchObject({ orders: 0, clicks: 1, visits: 1 });
    expect(r.totals).toMatchObject({ orders: 3, tickets: 7 });
  });

  it('by=affiliate,ticket_type credits the affiliate of the winning link', async () => {
    await sales();
    const r = await report(t, 'by=affiliate,ticket_type');
    expect(row(r, 'mia', 'vip')).toMatchObject({ orders: 1, tickets: 2 });
    expect(row(r, 'mia', 'day')).toMatchObject({ orders: 1, tickets: 1 });
    expect(row(r, null, 'day')).toMatchObject({ orders: 1, tickets: 3 });
  });

  it('by=event,ticket_type splits each event by type', async () => {
    await sales();
    const r = await report(t, 'by=event,ticket_type');
    expect(row(r, 'fest', 'vip')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 16000 } });
    expect(row(r, 'fest', 'day')).toMatchObject({ orders: 1, tickets: 1, revenue: { EUR: 4000 } });
    expect(row(r, 'gig', 'day')).toMatchObject({ orders: 1, tickets: 3, revenue: { EUR: 12000 } });
    expect(row(r, 'gig', null)).toMatchObject({ orders: 1, tickets: 1, revenue: { EUR: 1500 } });
  });

  it('door scans are shared out among the types of an order by their tickets', async () => {
    await sales();
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/scans', headers: t.auth, payload: { scanned: 3 } });
    const r = await report(t, 'by=ticket_type');
    expect(row(r, 'vip')).toMatchObject({ scanned: 2, unscanned: 0, attendance_rate: 1 });
    expect(row(r, 'day')).toMatchObject({ scanned: 1, unscanned: 3, attendance_rate: 0.25 });
    expect(r.totals).toMatchObject({ scanned: 3, unscanned: 4, attendance_rate: 0.4286 });
  });

  it("shared-out scans are whole tickets that add up to the order's, even when no share is whole", async () => {
    await sales();
    // A1: 2 vip and 1 day; one ticket scanned: a third of it each would round to none anywhere.
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/scans', headers: t.auth, payload: { scanned: 1 } });
    const r = await report(t, 'by=ticket_type');
    expect(r.rows.reduce((n: number, x: any) => n + x.scanned, 0)).toBe(1);
    expect(r.totals.scanned).toBe(1);
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/scans', headers: t.auth, payload: { scanned: 2 } });
    const two = await report(t, 'by=ticket_type');
    expect(two.rows.reduce((n: number, x: any) => n + x.scanned, 0)).toBe(2);
  });

  it('a refunded order leaves every ticket type row', async () => {
    await sales();
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/status', headers: t.auth, payload: { status: 'refunded' } });
    const r = await report(t, 'by=ticket_type');
    expect(row(r, 'vip')).toBeUndefined();
    expect(row(r, 'day')).toMatchObject({ orders: 1, tickets: 3 });
  });
});
