// Signups, downloads and forms are counted apart from purchases and never touch sales.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, json, pageview, postback, report, rowFor, setup, type TestApp, addMia } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await addMia(t);
});
afterEach(() => t.close());

async function story() {
  // Ana comes through Mia's link, signs up twice over (two forms) and buys.
  // Bo comes from Google and downloads the line-up. Cy signs up with no visit at all.
  await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}?affiliate=mia`, referrer: 'https://l.instagram.com/' });
  await pageview(t, { vid: 'visitor-bo11', url: EVENT_URL, referrer: 'https://www.google.com/' });
  await postback(t, { order: 'su-1', type: 'signup', vid: 'visitor-ana1' });
  await postback(t, { order: 'fo-1', type: 'form', vid: 'visitor-ana1' });
  await postback(t, { order: 'A1', vid: 'visitor-ana1', value: '90.00', tickets: 2 });
  await t.app.inject({
    method: 'POST',
    url: '/collect',
    headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
    payload: JSON.stringify({ kind: 'conversion', site: 'acme', type: 'download', order: 'dl-1', vid: 'visitor-bo11' }),
  });
  await t.app.inject({ method: 'GET', url: '/p.gif?site=acme&order=su-2&type=signup', headers: { 'user-agent': BROWSER_UA } });
}

describe('non-purchase conversions', () => {
  it('are counted per type in each row and in totals, apart from orders, tickets and revenue', async () => {
    await story();
    const r = await report(t, 'by=channel');
    expect(rowFor(r, 'affiliate')).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 9000 }, conversions: { signup: 1, form: 1 } });
    expect(rowFor(r, 'search')).toMatchObject({ orders: 0, tickets: 0, revenue: {}, conversions: { download: 1 } });
    expect(rowFor(r, 'unattributed')).toMatchObject({ orders: 0, revenue: {}, conversions: { signup: 1 } });
    expect(r.totals).toMatchObject({ orders: 1, tickets: 2, revenue: { EUR: 9000 }, conversions: { signup: 2, form: 1, download: 1 } });
    expect(r.totals.conversions).not.toHaveProperty('purchase');
  });

  it('follow link attribution in code and affiliate rows', async () => {
    await story();
    const byCode = await report(t, 'by=code');
    expect(rowFor(byCode, 'mia')).toMatchObject({ orders: 1, conversions: { signup: 1, form: 1 } });
    expect(rowFor(byCode, null)).toMatchObject({ orders: 0, conversions: { download: 1, signup: 1 } });
    expect(rowFor(await report(t, 'by=affiliate'), 'mia')).toMatchObject({ conversions: { signup: 1, form: 1 } });
  });

  it('follow channel attribution in source and day rows', async () => {
    await story();
    expect(rowFor(await report(t, 'by=source'), 'google')).toMatchObject({ conversions: { download: 1 } });
    expect(rowFor(await report(t, 'by=day'), '2026-06-01')).toMatchObject({ orders: 1, conversions: { signup: 2, form: 1, download: 1 } });
  });

  it('a row with none has an empty conversions object', async () => {
    await pageview(t, { vid: 'visitor-cy11', url: EVENT_URL, referrer: '' });
    const r = await report(t, 'by=channel');
    expect(rowFor(r, 'direct')).toMatchObject({ conversions: {} });
    expect(r.totals.conversions).toEqual({});
  });

  it('need no value, and never make a new customer', async () => {
    const res = await postback(t, { order: 'su-9', type: 'signup', customer: 'ana@example.com' });
    expect(res.statusCode).toBe(201);
    expect(json(res).conversion).toMatchObject({ type: 'signup', value: '0.00', tickets: 0, new_customer: false });
    await postback(t, { order: 'A9', value: '10.00', customer: 'ana@example.com' });
    expect((await report(t, 'by=channel')).totals).toMatchObject({ orders: 1, new_customers: 1, conversions: { signup: 1 } });
  });

  it('an unknown type slug is rejected with a 400 naming the field', async () => {
    const res = await postback(t, { order: 'x1', type: 'Sign Up!' });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/type/);
  });
});
