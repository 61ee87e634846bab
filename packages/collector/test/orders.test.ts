// The order list an organiser checks payouts against.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { orderListQuery } from '../src/order-list.js';
import { DAY, EVENT_URL, MINUTE, json, pageview, postback, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/affiliates', headers: t.auth, payload: { id: 'mia', name: 'Mia', email: 'mia@example.com' } });
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/affiliates', headers: t.auth, payload: { id: 'sam', name: 'Sam', email: 'sam@example.com' } });
  for (const [code, affiliate] of [['mia', 'mia'], ['mia-tt', 'mia'], ['sam', 'sam']]) {
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code, affiliate } });
  }
});
afterEach(() => t.close());

const list = async (qs = '') => {
  const res = await t.app.inject({ method: 'GET', url: `/api/sites/acme/orders?${qs}`, headers: t.auth });
  if (res.statusCode !== 200) throw new Error(`orders failed: ${res.statusCode} ${res.body}`);
  return json(res);
};
const ids = (r: Record<string, any>) => (r.orders as Array<{ order: string }>).map((o) => o.order);

async function sales() {
  await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}?affiliate=mia`, referrer: 'https://l.instagram.com/' });
  await pageview(t, { vid: 'visitor-bo11', url: `${EVENT_URL}?affiliate=sam`, referrer: 'https://t.co/x' });
  await pageview(t, { vid: 'visitor-cy11', url: `${EVENT_URL}?affiliate=mia-tt`, referrer: 'https://www.tiktok.com/' });
  t.clock.advance(MINUTE);
  await postback(t, { order: 'A1', vid: 'visitor-ana1', value: '90.00', tickets: 2, customer: 'ana@example.com' });
  t.clock.advance(MINUTE);
  await postback(t, { order: 'B1', vid: 'visitor-bo11', value: '4500', currency: 'JPY', tickets: 1 });
  t.clock.advance(MINUTE);
  await postback(t, { order: 'C1', vid: 'visitor-cy11', value: '12.345', currency: 'KWD', tickets: 3 });
  t.clock.advance(MINUTE);
  await postback(t, { order: 'S1', vid: 'visitor-ana1', type: 'signup' });
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/status', headers: t.auth, payload: { status: 'refunded' } });
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/C1/scans', headers: t.auth, payload: { scanned: 2 } });
}

describe('GET /api/sites/:site/orders', () => {
  it('lists orders newest first with status, value, tickets, scans and both attributions', async () => {
    await sales();
    const r = await list();
    expect(ids(r)).toEqual(['S1', 'C1', 'B1', 'A1']);
    expect(r.next).toBeNull();
    expect(r.orders[1]).toEqual({
      order: 'C1',
      ts: '2026-06-01T12:03:00.000Z',
      event: null,
      type: 'purchase',
      status: 'completed',
      value: '12.345',
      currency: 'KWD',
      tickets: 3,
      scanned: 2,
      code: 'mia-tt',
      affiliate: 'mia',
      channel: 'affiliate',
      source: 'tiktok',
    });
    expect(r.orders[2]).toMatchObject({ order: 'B1', value: '4500', currency: 'JPY', code: 'sam' });
  });

  it('keeps refunded orders visible with their status, and never shows the customer key', async () => {
    await sales();
    const r = await list();
    expect(r.orders.find((o: any) => o.order === 'A1')).toMatchObject({ status: 'refunded', value: '90.00' });
    expect(JSON.stringify(r)).not.toMatch(/customer|ana@example/);
  });

  it.each([
    ['code=mia', ['S1', 'A1']],
    ['code=MIA-TT', ['C1']],
    ['affiliate=mia', ['S1', 'C1', 'A1']],
    ['status=refunded', ['A1']],
    ['status=completed&affiliate=mia', ['S1', 'C1']],
    ['type=signup', ['S1']],
    ['type=purchase&code=sam', ['B1']],
  ])('filters by %s', async (qs, expected) => {
    await sales();
    expect(ids(await list(qs))).toEqual(expected);
  });

  it('from/to select a range, a bare date meaning the whole UTC day', async () => {
    await sales();
    t.clock.advance(2 * DAY);
    await postback(t, { order: 'D1', value: '1.00' });
    expect(ids(await list('from=2026-06-03'))).toEqual(['D1']);
    expect(ids(await list('to=2026-06-01'))).toEqual(['S1', 'C1', 'B1', 'A1']);
    expect(ids(await list('from=2026-06-01T12:02:00Z&to=2026-06-01T12:04:00Z'))).toEqual(['C1', 'B1']);
  });

  it('pages through every order once with the next cursor, ties in time broken by order id', async () => {
    for (let i = 0; i < 7; i++) {
      await postback(t, { order: `o${i}`, value: '1.00' });
      if (i % 3 === 2) t.clock.advance(MINUTE);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Record<string, any> = await list(`limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.orders.length).toBeLessThanOrEqual(3);
      seen.push(...ids(r));
      cursor = r.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['o6', 'o5', 'o4', 'o3', 'o2', 'o1', 'o0']);
  });

  it('answers at most 100 orders by default', async () => {
    for (let i = 0; i < 101; i++) await postback(t, { order: `o${String(i).padStart(3, '0')}`, value: '1.00' });
    const r = await list();
    expect(r.orders).toHaveLength(100);
    expect(r.next).toEqual(expect.any(String));
    expect(ids(await list(`cursor=${r.next}`))).toEqual(['o000']);
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=1001', /limit/],
    ['limit=ten', /limit/],
    ['status=lost', /status/],
    ['code=not%20a%20code', /code/],
    ['affiliate=Mia!', /affiliate/],
    ['cursor=abc', /cursor is not valid/],
    ['cursor=not%2Bbase64', /cursor/],
    ['from=yesterday', /from must be/],
    ['from=2026-06-02&to=2026-06-01', /from must be before to/],
  ])('%s is a 400 naming the parameter', async (qs, message) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/sites/acme/orders?${qs}`, headers: t.auth });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(message) });
  });

  it('needs the site token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/sites/acme/orders' })).statusCode).toBe(401);
  });

  it('seeks pages through the site/time index without sorting', async () => {
    const q = orderListQuery('acme', { from: 0, to: 1, code: 'mia', affiliate: null, status: null, type: null, before: { ts: 1, order: 'x' }, limit: 101 });
    const plan = await t.explain(q.text, q.params);
    expect(plan).toMatch(/conversions_report/);
    expect(plan).not.toMatch(/TEMP B-TREE|Sort/);
  });
});
