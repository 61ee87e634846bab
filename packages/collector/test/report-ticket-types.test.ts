// By ticket type, what an order's items don't cover stays in the report, under no ticket type,
// so the rows add up to the totals.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY, EVENT_URL, MINUTE, addMia, json, pageview, postback, report, type TestApp, setup } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await addMia(t);
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: t.auth, payload: { id: 'fest', name: 'Fest', url: `${EVENT_URL}/fest` } });
});
afterEach(() => t.close());

type Row = Record<string, any>;
const row = (r: Row, ...keys: Array<string | null>) => (r.rows as Row[]).find((x) => JSON.stringify(x.keys ?? [x.key]) === JSON.stringify(keys));
const scan = (order: string, scanned: number) =>
  t.app.inject({ method: 'POST', url: `/api/sites/acme/orders/${order}/scans`, headers: t.auth, payload: { scanned } });

const ADDED = ['tickets', 'scanned', 'unscanned'] as const;
function expectRowsToAddUpToTotals(r: Row) {
  const rows = r.rows as Row[];
  for (const k of ADDED) expect(rows.reduce((s, x) => s + x[k], 0), `${r.by} ${k}`).toBe(r.totals[k]);
  const revenue: Record<string, number> = {};
  for (const x of rows) for (const [cur, v] of Object.entries<number>(x.revenue)) revenue[cur] = (revenue[cur] ?? 0) + v;
  expect(revenue, `${r.by} revenue`).toEqual(r.totals.revenue);
}

/** P7's items cover 2 of its 5 tickets and 90.00 of its 100.00; the other orders, all or none. */
async function partlyCovered() {
  await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}/fest?affiliate=mia`, event: 'fest', referrer: 'https://l.instagram.com/' });
  t.clock.advance(MINUTE);
  await postback(t, { order: 'P7', vid: 'visitor-ana1', event: 'fest', customer: 'ana', value: '100.00', tickets: 5, items: [{ type: 'GA', qty: 2, price: '45.00' }] });
  await postback(t, { order: 'A1', event: 'fest', items: [{ type: 'GA', qty: 1, price: '45.00' }, { type: 'VIP', qty: 1, price: '120.00' }] });
  await postback(t, { order: 'C1', value: '15.00', tickets: 1 });
  await scan('P7', 5);
  await scan('A1', 1);
}

describe('reports by ticket type keep what the items do not cover', () => {
  it('the rest of an order beyond its items shows under no ticket type, with its share of the scans', async () => {
    await partlyCovered();
    const r = await report(t, 'by=ticket_type');
    // A1's one scan goes to its second item (floor shares: 0 of 1, then 1 of 1).
    expect(row(r, 'GA')).toMatchObject({ orders: 2, tickets: 3, revenue: { EUR: 13500 }, scanned: 2 });
    expect(row(r, 'VIP')).toMatchObject({ orders: 1, tickets: 1, revenue: { EUR: 12000 }, scanned: 1 });
    // P7's 3 uncovered tickets and 10.00, and C1 (no items at all).
    expect(row(r, null)).toMatchObject({ orders: 2, tickets: 4, revenue: { EUR: 2500 }, scanned: 3, new_customers: 1 });
    expect(r.totals).toMatchObject({ orders: 3, tickets: 8, revenue: { EUR: 28000 }, scanned: 6 });
    expectRowsToAddUpToTotals(r);
  });

  it('an order its items cover whole is not counted under no ticket type', async () => {
    await postback(t, { order: 'A1', items: [{ type: 'GA', qty: 2, price: '45.00' }] });
    const r = await report(t, 'by=ticket_type');
    expect(r.rows.map((x: Row) => [x.key, x.orders, x.tickets])).toEqual([['GA', 1, 2]]);
  });

  it('items worth more than the order (a discount) leave a negative rest, so the rows still add up', async () => {
    await postback(t, { order: 'D1', value: '80.00', items: [{ type: 'GA', qty: 2, price: '45.00' }] });
    const r = await report(t, 'by=ticket_type');
    expect(row(r, 'GA')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 9000 } });
    expect(row(r, null)).toMatchObject({ orders: 1, tickets: 0, revenue: { EUR: -1000 } });
    expectRowsToAddUpToTotals(r);
  });

  it.each(['ticket_type', 'code,ticket_type', 'ticket_type,affiliate', 'event,ticket_type', 'channel,ticket_type', 'ticket_type,day'])(
    'by=%s: the rows add up to the totals',
    async (by) => {
      await partlyCovered();
      t.clock.advance(DAY);
      await postback(t, { order: 'P8', value: '50.00', tickets: 3, items: [{ type: 'VIP', qty: 1, price: '30.00' }] });
      await scan('P8', 2);
      // Whole days, and a range to the millisecond.
      for (const range of ['from=2026-06-01&to=2026-06-02', 'from=2026-06-01T00:00:00.001Z&to=2026-06-02T23:00:00Z']) {
        const r = await report(t, `by=${by}&${range}`);
        expect(r.totals.tickets).toBe(11);
        expectRowsToAddUpToTotals(r);
      }
    },
  );

  it('by=code,ticket_type puts the rest in its code row', async () => {
    await partlyCovered();
    const r = await report(t, 'by=code,ticket_type');
    expect(row(r, 'mia', 'GA')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 9000 }, scanned: 2 });
    expect(row(r, 'mia', null)).toMatchObject({ orders: 1, tickets: 3, revenue: { EUR: 1000 }, scanned: 3, visits: 1 });
    expect(row(r, null, null)).toMatchObject({ orders: 1, tickets: 1, revenue: { EUR: 1500 } });
  });

  it("a promoter's report by ticket type adds up too", async () => {
    const invite = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { affiliate: 'mia' } });
    await partlyCovered();
    const res = await t.app.inject({ method: 'GET', url: '/api/me/report?by=ticket_type', headers: { authorization: `Bearer ${json(invite).token}` } });
    const r = json(res);
    expect(r.rows.map((x: Row) => [x.key, x.tickets, x.revenue.EUR, x.scanned])).toEqual(
      expect.arrayContaining([['GA', 2, 9000, 2], [null, 3, 1000, 3]]),
    );
    expect(r.totals).toMatchObject({ orders: 1, tickets: 5, revenue: { EUR: 10000 }, scanned: 5 });
    expectRowsToAddUpToTotals(r);
  });
});
