// Times and currencies from clients are read strictly: a value that means nothing, or means
// something else in another time zone, is a 400 naming the field, never a silently moved row.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, json, postback, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
});
afterEach(() => t.close());

const count = async (table: string) => Number((await t.sql(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
const storedTs = async (order: string) =>
  json(await t.app.inject({ method: 'GET', url: `/api/sites/acme/conversions/${order}`, headers: t.auth })).conversion.ts;
const hits = (batch: Array<Record<string, unknown>>) =>
  t.app.inject({ method: 'POST', url: '/api/sites/acme/hits', headers: t.auth, payload: { hits: batch } });
const event = (id: string, startsAt: unknown) =>
  t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: t.auth, payload: { id, name: 'Fest', url: EVENT_URL, startsAt } });
const pixel = (qs: string) => t.app.inject({ method: 'GET', url: `/p.gif?site=acme&${qs}`, headers: { 'user-agent': BROWSER_UA } });
const reportRes = (qs: string) => t.app.inject({ method: 'GET', url: `/api/sites/acme/report?by=channel&${qs}`, headers: t.auth });

// The clock of the test app is 2026-06-01T12:00:00Z: every date here is in the past.
const IMPOSSIBLE: Array<[string, string]> = [
  ['February 30', '2026-02-30T00:00:00Z'],
  ['a 29 February outside a leap year', '2026-02-29T10:00:00Z'],
  ['month 13', '2026-13-01T00:00:00Z'],
  ['day 0', '2026-05-00T00:00:00Z'],
  ['hour 25', '2026-05-01T25:00:00Z'],
  ['hour 24', '2026-05-01T24:00:00Z'],
  ['minute 60', '2026-05-01T10:60:00Z'],
  ['second 60', '2026-05-01T10:00:60Z'],
  ['an offset of 25 hours', '2026-05-01T10:00:00+25:00'],
];

const AMBIGUOUS: Array<[string, string]> = [
  ['a local-time date in words', '1 2 2026'],
  ['a US or European date', '11/01/2026'],
  ['a date with trailing text', 'Feb 30 2026 (anything here)'],
  ['a date in words with a zone', 'Fri, 01 May 2026 10:00:00 GMT'],
  ['a signed epoch', '-1000'],
];

describe('a conversion ts', () => {
  it.each(IMPOSSIBLE)('naming %s is a 400 that names ts, and nothing is stored', async (_n, ts) => {
    const res = await postback(t, { order: 'T1', value: '1', ts });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe(`ts must be a real date and time, got ${JSON.stringify(ts)}`);
    expect(await count('conversions')).toBe(0);
  });

  it.each(AMBIGUOUS)('written as %s is a 400 asking for ISO 8601', async (_n, ts) => {
    const res = await postback(t, { order: 'T1', value: '1', ts });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/^ts must be an ISO 8601 date or date-time \(like .*; UTC without a zone\) or epoch milliseconds, got /);
    expect(await count('conversions')).toBe(0);
  });

  it.each([
    ['Z', '2026-05-01T10:00:00Z', '2026-05-01T10:00:00.000Z'],
    ['a lowercase t and z', '2026-05-01t10:00:00z', '2026-05-01T10:00:00.000Z'],
    ['an offset', '2026-05-01T10:00:00+02:00', '2026-05-01T08:00:00.000Z'],
    ['an offset without a colon', '2026-05-01T10:00:00-0130', '2026-05-01T11:30:00.000Z'],
    ['no seconds', '2026-05-01T10:00Z', '2026-05-01T10:00:00.000Z'],
    ['microseconds (cut to milliseconds)', '2026-05-01T10:00:00.123999Z', '2026-05-01T10:00:00.123Z'],
    ['a 29 February of a leap year', '2024-02-29T10:00:00Z', '2024-02-29T10:00:00.000Z'],
    ['no time zone (UTC)', '2026-05-01T10:00:00', '2026-05-01T10:00:00.000Z'],
    ["a space for the T and an hour's offset (PostgreSQL's text)", '2026-05-01 10:00:00+00', '2026-05-01T10:00:00.000Z'],
    ["microseconds and an offset (Python's str of a datetime)", '2026-05-01 12:00:00.123456+02:00', '2026-05-01T10:00:00.123Z'],
    ['a bare date (its UTC midnight)', '2026-05-01', '2026-05-01T00:00:00.000Z'],
    ['epoch milliseconds as a string', String(Date.UTC(2026, 4, 1, 10)), '2026-05-01T10:00:00.000Z'],
  ])('with %s is stored at the time it names', async (_n, ts, stored) => {
    expect((await postback(t, { order: 'T1', value: '1', ts })).statusCode).toBe(201);
    expect(await storedTs('T1')).toBe(stored);
  });

  it('as epoch milliseconds (a JSON number) is stored at that time', async () => {
    expect((await postback(t, { order: 'T1', value: '1', ts: Date.UTC(2026, 4, 1, 10) })).statusCode).toBe(201);
    expect(await storedTs('T1')).toBe('2026-05-01T10:00:00.000Z');
  });
});

describe('a server hit ts', () => {
  const hit = (ts: string) => ({ vid: 'visitor-aaaa', url: EVENT_URL, ts });

  it.each([...IMPOSSIBLE, ...AMBIGUOUS])('with %s is a 400 naming hits[i].ts, and the whole batch is refused', async (_n, ts) => {
    const res = await hits([hit('2026-05-01T10:00:00Z'), hit(ts)]);
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/^hits\[1\]\.ts must be (a real date and time|an ISO 8601 date or date-time)/);
    expect(await count('hits')).toBe(0);
  });

  it('with an offset is stored at the instant it names', async () => {
    expect((await hits([hit('2026-05-01T10:00:00+02:00')])).statusCode).toBe(202);
    expect(await t.sql('SELECT ts FROM hits')).toEqual([{ ts: Date.UTC(2026, 4, 1, 8) }]);
  });
});

describe("an event's startsAt", () => {
  it.each([...IMPOSSIBLE, ...AMBIGUOUS])('with %s is a 400 naming startsAt, and no event is made', async (_n, startsAt) => {
    const res = await event('fest', startsAt);
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/^startsAt must be/);
    expect(await count('events')).toBe(0);
  });

  it('with an offset starts at the instant it names', async () => {
    const res = await event('fest', '2026-07-01T20:00:00+02:00');
    expect(res.statusCode).toBe(201);
    expect(json(res).event.startsAt).toBe('2026-07-01T18:00:00.000Z');
  });
});

describe('report bounds', () => {
  it.each([
    ['from', 'from=2026-02-30T00:00:00Z', 'from must be a real date and time, got "2026-02-30T00:00:00Z"'],
    ['to', 'to=2026-05-01T24:00:00Z', 'to must be a real date and time, got "2026-05-01T24:00:00Z"'],
    ['to', 'to=2026-02-30', 'to must be a real date, got "2026-02-30"'],
  ])('an impossible %s is a 400 that names it', async (_n, qs, message) => {
    const res = await reportRes(qs);
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe(message);
  });

  it('to=9999-12-31 is a 400 naming to: its end would be in the year 10000', async () => {
    const res = await reportRes('to=9999-12-31');
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/^to must be at most 9999-12-31T23:59:59\.999Z.*as a whole day, 9999-12-30/);
    const orders = await t.app.inject({ method: 'GET', url: '/api/sites/acme/orders?to=9999-12-31', headers: t.auth });
    expect(orders.statusCode).toBe(400);
    expect(json(orders).message).toMatch(/^to must be at most/);
  });

  it.each([
    ['the last whole day', 'to=9999-12-30', '9999-12-31T00:00:00.000Z'],
    ['the last millisecond', 'to=9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['the last millisecond as epoch', `to=${Date.UTC(9999, 11, 31, 23, 59, 59, 999)}`, '9999-12-31T23:59:59.999Z'],
  ])('to at %s answers a four-digit-year date-time', async (_n, qs, to) => {
    const res = await reportRes(qs);
    expect(res.statusCode).toBe(200);
    expect(json(res).to).toBe(to);
  });

  it('a bound past the last time is refused however it is written', async () => {
    for (const qs of ['to=10000-01-01T00:00:00Z', `to=${Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 1}`, 'from=9999-12-31T23:59:59.999Z&to=9999-12-31T23:59:59.999Z']) {
      const res = await reportRes(qs);
      expect(res.statusCode, qs).toBe(400);
      expect(json(res).message, qs).toMatch(/^(to|from) must be /);
    }
  });
});

describe('a conversion currency', () => {
  const MESSAGE = 'currency "ZZZ" is not an ISO 4217 code';

  it.each([
    ['a signup by pixel without a value', () => pixel('order=CUR-1&type=signup&currency=ZZZ')],
    ['a purchase by pixel with a value', () => pixel('order=CUR-1&value=1.00&currency=ZZZ')],
    ['a priced item by pixel', () => pixel('order=CUR-1&item=vip:1:5.00&currency=ZZZ')],
  ])('unknown on %s is a 400 with the same message, and nothing is stored', async (_n, send) => {
    const res = await send();
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-linktrail-error']).toBe(MESSAGE);
    expect(await count('conversions')).toBe(0);
  });

  it.each([
    ['a signup postback without a value', { order: 'CUR-1', type: 'signup', currency: 'ZZZ' }],
    ['a purchase postback with a value', { order: 'CUR-1', value: '1.00', currency: 'ZZZ' }],
    ['a postback with a priced item', { order: 'CUR-1', currency: 'ZZZ', items: [{ type: 'vip', qty: 1, price: '5.00' }] }],
  ])('unknown on %s is a 400 with the same message, and nothing is stored', async (_n, body) => {
    const res = await postback(t, body);
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe(MESSAGE);
    expect(await count('conversions')).toBe(0);
  });

  it('unknown on a script conversion without a value is a 400 naming currency', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/collect',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
      payload: JSON.stringify({ kind: 'conversion', site: 'acme', type: 'download', order: 'dl-1', vid: 'visitor-aaaa', currency: 'zzz' }),
    });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe('currency "zzz" is not an ISO 4217 code');
    expect(await count('conversions')).toBe(0);
  });

  it('known, in any case, on a signup without a value is stored in upper case', async () => {
    expect((await postback(t, { order: 'CUR-1', type: 'signup', currency: 'usd' })).statusCode).toBe(201);
    expect(await t.sql('SELECT currency, value_minor FROM conversions')).toEqual([{ currency: 'USD', value_minor: 0 }]);
  });
});
