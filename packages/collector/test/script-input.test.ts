// What the script sends from ordinary tag settings and linktrail() calls is kept: the script
// cannot show a 400, so refusing the body would lose the visit, the click or the sale unseen.
// Hostile values still get a 4xx with a reason.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, json, pageview, postback, type TestApp, setup } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
});
afterEach(() => t.close());

const VID = 'visitor-aaaa';
const verdict = { accept: 'application/json' };
const collect = (body: Record<string, unknown>) => pageview(t, body);
const gif = (body: Record<string, unknown>) =>
  t.app.inject({ method: 'GET', url: `/collect.gif?d=${encodeURIComponent(JSON.stringify({ site: t.site, ...body }))}`, headers: { 'user-agent': BROWSER_UA } });
const conversion = (fields: Record<string, unknown>) => collect({ kind: 'conversion', vid: VID, value: '45.00', ...fields });
const hits = () => t.sql('SELECT event, url, channel FROM hits ORDER BY ts, url');
const order = async (id: string) => (await t.sql('SELECT order_id, event, tickets FROM conversions WHERE order_id = ?', id))[0];

describe('data-event', () => {
  it('in capitals is stored lowercased, on POST /collect and /collect.gif', async () => {
    expect((await collect({ vid: VID, url: EVENT_URL, event: 'Summer-Fest' })).statusCode).toBe(204);
    expect((await gif({ vid: VID, url: `${EVENT_URL}?b`, event: 'SUMMER-FEST' })).statusCode).toBe(200);
    expect((await hits()).map((h) => h.event)).toEqual(['summer-fest', 'summer-fest']);
  });

  it('that is no slug even lowercased keeps the hit, without an event', async () => {
    for (const event of ['Summer Fest 2026', 'fête', '-fest', 'x'.repeat(65)]) {
      expect((await collect({ vid: VID, url: `${EVENT_URL}?e=${encodeURIComponent(event)}`, event })).statusCode, event).toBe(204);
    }
    expect((await hits()).map((h) => h.event)).toEqual([null, null, null, null]);
  });

  it("of a conversion (linktrail('conversion', { event })) is stored lowercased, or left out", async () => {
    expect((await conversion({ order: 'E-2', event: 'Other-Fest' })).statusCode).toBe(204);
    expect((await conversion({ order: 'E-3', event: 'Other Fest' })).statusCode).toBe(204);
    expect(await order('E-2')).toMatchObject({ event: 'other-fest' });
    expect(await order('E-3')).toMatchObject({ event: null });
  });
});

describe('data-platform', () => {
  it.each([
    ['an IDN', 'bücher.de,example.org', 'https://shop.bücher.de/'],
    ['semicolons', 'partner.example; pay.example.org', 'https://pay.example.org/return'],
    ['a wildcard', '*.example.org', 'https://pay.example.org/return'],
    ['a scheme, path and port', 'https://pay.example.org:8443/checkout', 'https://pay.example.org/return'],
    ['spaces', 'partner.example pay.example.org', 'https://pay.example.org/return'],
  ])('written with %s keeps the hit and counts its hosts as the platform', async (_name, platform, referrer) => {
    const res = await pageview(t, { vid: VID, url: EVENT_URL, referrer, platform }, verdict);
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({ channel: 'platform' });
  });

  it('entries that name no host are left out, the others still count', async () => {
    const res = await pageview(t, { vid: VID, url: EVENT_URL, referrer: 'https://pay.example.org/', platform: 'mailto:x, %zz, <b>, pay.example.org' }, verdict);
    expect(json(res)).toMatchObject({ channel: 'platform' });
    const other = await pageview(t, { vid: VID, url: `${EVENT_URL}?2`, referrer: 'https://news.example.net/', platform: 'mailto:x, %zz' }, verdict);
    expect(json(other)).toMatchObject({ channel: 'referral', source: 'news.example.net' });
  });

  it('too long to be a list of hosts is a 400 naming it', async () => {
    const res = await collect({ vid: VID, url: EVENT_URL, platform: 'a.example,'.repeat(500) });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe('body/platform must NOT have more than 4096 characters');
  });
});

describe('data-param', () => {
  it('with a dot or brackets keeps the hit and reads that parameter', async () => {
    const dotted = await pageview(t, { vid: VID, url: `${EVENT_URL}?ref.code=Crew42`, param: 'ref.code' }, verdict);
    expect(json(dotted)).toMatchObject({ channel: 'affiliate', affiliate: 'crew42' });
    const bracketed = await pageview(t, { vid: VID, url: `${EVENT_URL}?aff%5Bid%5D=Crew43`, param: 'aff[id]' }, verdict);
    expect(json(bracketed)).toMatchObject({ channel: 'affiliate', affiliate: 'crew43' });
  });

  it('that cannot name a parameter is ignored: the hit is kept and ?affiliate= still applies', async () => {
    for (const param of ['ref=1', 'my ref', 'a\u0000b', 'x'.repeat(65), ' ']) {
      const res = await pageview(t, { vid: VID, url: `${EVENT_URL}?affiliate=Mia&n=${Math.random()}`, param }, verdict);
      expect(res.statusCode, param).toBe(200);
      expect(json(res), param).toMatchObject({ channel: 'affiliate', affiliate: 'mia' });
    }
  });
});

describe('a long page URL', () => {
  it('past 8,192 characters is kept, its first 2,048 stored, and classified from the whole', async () => {
    const url = `${EVENT_URL}?pad=${'x'.repeat(20_000)}&affiliate=mia`;
    const res = await pageview(t, { vid: VID, url }, verdict);
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({ channel: 'affiliate', affiliate: 'mia' });
    const [hit] = await hits();
    expect(hit!.url).toBe(url.slice(0, 2048));
  });

  it('longer than the body limit is still refused', async () => {
    expect((await collect({ vid: VID, url: `${EVENT_URL}?${'x'.repeat(70_000)}` })).statusCode).toBe(413);
  });
});

describe("linktrail('conversion') with shops' own values", () => {
  it('takes a numeric order id as its decimal string: the same order as the string', async () => {
    expect((await conversion({ order: 12345 })).statusCode).toBe(204);
    expect(await order('12345')).toMatchObject({ order_id: '12345' });
    expect((await conversion({ order: '12345' })).statusCode).toBe(204);
    expect(await t.sql('SELECT order_id FROM conversions')).toHaveLength(1);
  });

  it('takes tickets and item quantities given as numeral strings', async () => {
    expect((await conversion({ order: 'Q-1', tickets: '2' })).statusCode).toBe(204);
    expect(await order('Q-1')).toMatchObject({ tickets: 2 });
    const res = await conversion({ order: 'Q-2', value: undefined, items: [{ type: 'day', qty: '3', price: '45.00' }] });
    expect(res.statusCode).toBe(204);
    expect(await order('Q-2')).toMatchObject({ tickets: 3 });
    expect(await t.sql('SELECT qty FROM conversion_items WHERE order_id = ?', 'Q-2')).toEqual([{ qty: 3 }]);
  });

  it.each([
    ['a negative order number', { order: -1 }, 'body/order must be >= 0'],
    ['a fractional order number', { order: 1.5 }, 'body/order must be string,integer'],
    ['an order number past 2^53', { order: 2 ** 60 }, 'body/order must be <= 9007199254740991'],
    ['tickets in words', { order: 'W-1', tickets: 'two' }, 'body/tickets must match pattern "^ *[0-9]{1,9} *$"'],
    ['too many tickets as a string', { order: 'W-2', tickets: '99999999' }, 'body/tickets must be <= 1000000'],
    ['a quantity of zero as a string', { order: 'W-3', items: [{ type: 'day', qty: '0', price: '1.00' }] }, 'body/items/0/qty must be >= 1'],
  ])('with %s is a 400 with the reason', async (_name, fields, message) => {
    const res = await conversion(fields);
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe(message);
  });

  it('the authenticated postback stays typed: a numeric order or string counts are a 400 naming the field', async () => {
    expect(json(await postback(t, { order: 12345, value: '1.00' })).message).toBe('body/order must be string');
    expect(json(await postback(t, { order: 'P-1', value: '1.00', tickets: '2' })).message).toBe('body/tickets must be integer');
    expect(json(await postback(t, { order: 'P-2', items: [{ type: 'day', qty: '2', price: '1.00' }] })).message).toBe('body/items/0/qty must be integer');
    expect(json(await postback(t, { order: 'P-3', value: '1.00', event: 'Other-Fest' })).message).toMatch(/^body\/event must match pattern/);
  });
});
