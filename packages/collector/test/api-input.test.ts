// Input the API refuses, or must not act on: misspelt fields on authenticated writes, a refused
// recruit, a HEAD of the pixel, and the script's revalidation with every If-None-Match form.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, json, makeApp, pageview, postback, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
});
afterEach(() => t.close());

const count = async (table: string) => Number((await t.sql(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
const hits = (list: Array<Record<string, unknown>>) =>
  t.app.inject({ method: 'POST', url: `/api/sites/${t.site}/hits`, headers: t.auth, payload: { hits: list } });

describe('the server postback', () => {
  it.each([
    ['curency', { order: 'TYPO-1', value: '100', curency: 'USD' }],
    ['timestamp', { order: 'TYPO-1', value: '100', timestamp: '2026-01-01T00:00:00Z' }],
    ['kind', { order: 'TYPO-1', value: '100', kind: 'conversion' }],
  ])('refuses a misspelt or unknown field (%s) with a 400 naming it, and stores nothing', async (field, body) => {
    const res = await postback(t, body);
    expect(res.statusCode).toBe(400);
    expect(json(res)).toEqual({ error: 'invalid_request', message: `body has an unknown field "${field}"` });
    expect(await count('conversions')).toBe(0);
  });

  it('accepts every field the API documents', async () => {
    await pageview(t, { vid: 'visitor-all1', url: EVENT_URL });
    const res = await postback(t, {
      site: 'acme',
      order: 'ALL-1',
      value: '90.00',
      currency: 'USD',
      type: 'purchase',
      items: [{ type: 'day-pass', qty: 2, price: '45.00' }],
      tickets: 2,
      customer: 'c-hash-1',
      vid: 'visitor-all1',
      cid: 'c1',
      ts: '2026-06-01T11:00:00Z',
    });
    expect(res.statusCode).toBe(201);
    expect(json(res).conversion).toMatchObject({ order: 'ALL-1', currency: 'USD', tickets: 2 });
  });

  it('refuses a body naming another site than the URL', async () => {
    const res = await postback(t, { site: 'other', order: 'S-1', value: '1' });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe('body.site must be acme (the site in the URL), not other');
    expect(await count('conversions')).toBe(0);
  });
});

describe('query parameters of the API', () => {
  it.each([
    ['report', '/api/sites/acme/report?by=code&evnt=gala', 'evnt'],
    ['report', '/api/sites/acme/report?by=code&form=2026-11-01', 'form'],
    ['order list', '/api/sites/acme/orders?afiliate=mia', 'afiliate'],
  ])('a misspelt parameter of the %s is a 400 naming it, not an answer for everything', async (_name, url, field) => {
    const res = await t.app.inject({ method: 'GET', url, headers: t.auth });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toEqual({ error: 'invalid_request', message: `querystring has an unknown field "${field}"` });
  });

  it('a promoter report refuses a misspelt parameter too', async () => {
    const invite = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { name: 'Mia', email: 'mia@example.com' } });
    const res = await t.app.inject({ method: 'GET', url: '/api/me/report?by=code&evnt=gala', headers: { authorization: `Bearer ${json(invite).token}` } });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe('querystring has an unknown field "evnt"');
  });

  it('the pixel still ignores parameters a platform appends', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/p.gif?site=acme&order=EXTRA-1&value=10&utm_nooverride=1&fbclid=x', headers: { 'user-agent': BROWSER_UA } });
    expect(res.statusCode).toBe(200);
    expect(await count('conversions')).toBe(1);
  });
});

describe('server-side hits', () => {
  it('refuses a misspelt field (referer) with a 400 naming the hit and the field, and stores nothing', async () => {
    const res = await hits([
      { vid: 'visitor-ok11', url: 'https://tickets.example.com/' },
      { vid: 'visitor-typo1', url: 'https://tickets.example.com/', referer: 'https://www.google.com/' },
    ]);
    expect(res.statusCode).toBe(400);
    expect(json(res)).toEqual({ error: 'invalid_request', message: 'body.hits.1 has an unknown field "referer"' });
    expect(await count('hits')).toBe(0);
  });

  it('accepts every field the API documents, and the script verdict SPEC §4 lists, which it ignores', async () => {
    const res = await hits([
      {
        site: 'acme',
        vid: 'visitor-all2',
        url: 'https://tickets.example.com/',
        referrer: 'https://www.google.com/',
        cid: 'c2',
        ts: '2026-06-01T11:00:00Z',
        ip: '203.0.113.7',
        ua: BROWSER_UA,
        nav: 'navigate',
        channel: 'paid',
        source: 'evil',
        affiliate: null,
        utm: { source: null, medium: null, campaign: null, term: null, content: null },
        clickIds: {},
      },
    ]);
    expect(res.statusCode).toBe(202);
    expect(await t.sql('SELECT channel, source FROM hits')).toEqual([{ channel: 'search', source: 'google' }]);
  });

  it("takes a relayed verdict as long as classify makes from a long utm_source or affiliate", async () => {
    const long = 'x'.repeat(300);
    const res = await hits([{ vid: 'visitor-long1', url: `https://tickets.example.com/?utm_source=${long}&affiliate=${long}`, channel: 'affiliate', source: long, affiliate: long }]);
    expect(res.statusCode).toBe(202);
  });

  it('refuses a hit naming another site than the URL', async () => {
    const res = await hits([{ site: 'other', vid: 'visitor-site1', url: 'https://tickets.example.com/' }]);
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe('hits[0].site must be acme (the site in the URL), not other');
    expect(await count('hits')).toBe(0);
  });
});

describe('POST /collect, public, stays open', () => {
  it('stores a pageview and a script conversion that carry fields it does not know', async () => {
    expect((await pageview(t, { vid: 'visitor-open1', url: EVENT_URL, referer: 'https://www.google.com/' })).statusCode).toBe(204);
    const conversion = { kind: 'conversion', vid: 'visitor-open1', order: 'OPEN-1', value: '10.00', curency: 'USD' };
    expect((await pageview(t, conversion)).statusCode).toBe(204);
    expect(await count('hits')).toBe(1);
    expect(await t.sql('SELECT order_id FROM conversions')).toEqual([{ order_id: 'OPEN-1' }]);
  });
});

describe('a promoter recruiting a sub-promoter', () => {
  it('leaves nothing behind when refused, so a retry gets the plain id', async () => {
    const invited = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { name: 'Mia', email: 'mia@example.com' } });
    const mia = { authorization: `Bearer ${json(invited).token}` };
    const recruit = (extra: Record<string, unknown>) =>
      t.app.inject({ method: 'POST', url: '/api/me/codes', headers: mia, payload: { code: 'subcode', name: 'Sue', email: 'sue@example.com', ...extra } });

    const refused = await recruit({ event: 'nosuch' });
    expect(refused.statusCode).toBe(400);
    expect(json(refused).message).toBe('event nosuch is not an event of this site');
    const affiliates = json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/affiliates', headers: t.auth })).affiliates;
    expect(affiliates.map((a: { id: string }) => a.id)).toEqual(['mia']);

    const retry = await recruit({});
    expect(retry.statusCode).toBe(201);
    expect(json(retry)).toMatchObject({ affiliate: { id: 'sue', parent: 'mia' }, code: 'subcode' });
  });
});

describe('HEAD of a pixel', () => {
  it("answers the GIF's headers and stores nothing; the GET then stores the order", async () => {
    const url = '/p.gif?site=acme&order=HEAD-1&value=10.00';
    const head = await t.app.inject({ method: 'HEAD', url, headers: { 'user-agent': BROWSER_UA } });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('image/gif');
    expect(head.headers['content-length']).toBe('43');
    expect(head.rawPayload.length).toBe(0);
    expect(await count('conversions')).toBe(0);

    expect((await t.app.inject({ method: 'GET', url, headers: { 'user-agent': BROWSER_UA } })).statusCode).toBe(200);
    expect(await count('conversions')).toBe(1);
  });

  it('answers 400 with the reason for a query the GET would refuse', async () => {
    const head = await t.app.inject({ method: 'HEAD', url: '/p.gif?site=acme' });
    expect(head.statusCode).toBe(400);
    expect(head.headers['x-linktrail-error']).toMatch(/order/);
    const fallback = await t.app.inject({ method: 'HEAD', url: '/collect.gif' });
    expect(fallback.statusCode).toBe(400);
    expect(fallback.headers['x-linktrail-error']).toMatch(/site/);
  });

  it('HEAD /collect.gif (the script fallback) stores nothing either; the GET then stores the hit', async () => {
    const url = `/collect.gif?d=${encodeURIComponent(JSON.stringify({ site: 'acme', vid: 'visitor-head1', url: EVENT_URL }))}`;
    const head = await t.app.inject({ method: 'HEAD', url, headers: { 'user-agent': BROWSER_UA } });
    expect([head.statusCode, head.headers['content-type'], head.rawPayload.length]).toEqual([200, 'image/gif', 0]);
    expect(await count('hits')).toBe(0);
    expect((await t.app.inject({ method: 'GET', url, headers: { 'user-agent': BROWSER_UA } })).statusCode).toBe(200);
    expect(await count('hits')).toBe(1);
  });
});

describe('GET /lt.js encodings', () => {
  let s: Awaited<ReturnType<typeof makeApp>>;
  const source = `console.log(${JSON.stringify('linktrail '.repeat(50))})\n`;
  beforeEach(async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lt-js-')), 'lt.js');
    writeFileSync(file, source);
    s = await makeApp({ trackerFile: file });
  });
  afterEach(() => s.close());

  const get = (headers: Record<string, string>) => s.app.inject({ method: 'GET', url: '/lt.js', headers });

  it.each(['gzip, deflate, br, zstd', 'br;q=1.0, gzip;q=0.8', '*'])('gzips for Accept-Encoding %j, with its own ETag', async (accept) => {
    const res = await get({ 'accept-encoding': accept });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(gunzipSync(res.rawPayload).toString()).toBe(source);
    expect(res.rawPayload.length).toBeLessThan(source.length);
    const plain = await get({});
    expect(plain.headers.etag).not.toBe(res.headers.etag);
    expect((await get({ 'accept-encoding': accept, 'if-none-match': res.headers.etag as string })).statusCode).toBe(304);
    expect((await get({ 'accept-encoding': accept, 'if-none-match': plain.headers.etag as string })).statusCode).toBe(200);
  });

  it.each(['', 'identity', 'gzip;q=0', 'gzip; q=0.0, br', 'deflate', 'gzip;q=0, *', '*;q=0'])('sends it as it is for Accept-Encoding %j', async (accept) => {
    const res = await get(accept ? { 'accept-encoding': accept } : {});
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.payload).toBe(source);
  });
});

describe('GET /lt.js revalidation', () => {
  let s: Awaited<ReturnType<typeof makeApp>>;
  let etag: string;
  beforeEach(async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lt-js-')), 'lt.js');
    writeFileSync(file, 'console.log("lt")\n');
    s = await makeApp({ trackerFile: file });
    etag = (await s.app.inject({ method: 'GET', url: '/lt.js' })).headers.etag as string;
  });
  afterEach(() => s.close());

  const revalidate = (ifNoneMatch: string) => s.app.inject({ method: 'GET', url: '/lt.js', headers: { 'if-none-match': ifNoneMatch } });

  it.each([
    ['the strong tag', (e: string) => e],
    ['the weak tag nginx sends after gzip', (e: string) => `W/${e}`],
    ['*', () => '*'],
    ['a list holding the tag', (e: string) => `"older", ${e}`],
    ['a list holding the weak tag', (e: string) => `W/"older",W/${e} , "other"`],
  ])('answers 304 to %s', async (_name, header) => {
    const res = await revalidate(header(etag));
    expect(res.statusCode).toBe(304);
    expect(res.headers.etag).toBe(etag);
    expect(res.rawPayload.length).toBe(0);
  });

  it.each([
    ['another tag', () => '"older"'],
    ['a list without the tag', () => 'W/"older", "other"'],
    ['the tag unquoted', (e: string) => e.slice(1, -1)],
  ])('answers the script to %s', async (_name, header) => {
    const value = header(etag);
    const res = await revalidate(value);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('console.log("lt")\n');
  });
});
