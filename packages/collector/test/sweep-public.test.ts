// The public endpoints under hostile input: never a 5xx or a crash; JSON routes answer a 4xx
// {error, message}, pixels a 400 GIF with X-Linktrail-Error; shortlinks never redirect off
// the site; and the endpoints work normally afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, json, pageview, postback, report, rowFor, setup, type TestApp } from './helper.js';
import { HOSTILE_BODIES, HOSTILE_VALUES, WRONG_TYPES, expectGraceful } from './hostile.js';

let t: TestApp;
beforeAll(async () => {
  t = await setup();
  const post = (url: string, payload: object) => t.app.inject({ method: 'POST', url: `/api/sites/acme${url}`, headers: t.auth, payload });
  await post('/affiliates', { id: 'mia', name: 'Mia', email: 'mia@example.com' });
  await post('/codes', { code: 'mia', affiliate: 'mia' });
});
afterAll(() => t.close());

const collect = (payload: string, type = 'text/plain;charset=UTF-8') =>
  t.app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': type, 'user-agent': BROWSER_UA }, payload });
const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers: { 'user-agent': BROWSER_UA, ...headers } });

const PAGEVIEW = { site: 'acme', vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://t.co/x', event: 'fest', cid: 'cid-1', nav: 'navigate' };
const CONVERSION = { site: 'acme', kind: 'conversion', order: 'S-1', value: '45.00', currency: 'EUR', items: [{ type: 'day', qty: 1, price: '45.00' }], tickets: 1, customer: 'c', vid: 'visitor-aaaa' };
const PIXEL = { site: 'acme', order: 'P-1', value: '45.00', currency: 'EUR', event: 'fest', tickets: '1', type: 'purchase', customer: 'c', vid: 'visitor-aaaa', cid: 'cid-1', item: 'day:1:45.00' };

/** Encodes a query value; a lone surrogate goes as the invalid UTF-8 bytes a hostile client would send. */
const enc = (v: string) => v.split(/([\uD800-\uDFFF])/).map((p) => (/^[\uD800-\uDFFF]$/.test(p) ? '%ED%A0%80' : encodeURIComponent(p))).join('');
const pixelUrl = (params: Record<string, unknown>) =>
  `/p.gif?${Object.entries(params).map(([k, v]) => `${enc(k)}=${enc(typeof v === 'string' ? v : JSON.stringify(v))}`).join('&')}`;

describe('hostile input on the public endpoints', () => {
  it.each([
    ['a pageview', PAGEVIEW],
    ['a script conversion', CONVERSION],
  ])('POST /collect: every field of %s with every hostile value gets a graceful answer', async (_name, base) => {
    for (const [name, value] of HOSTILE_VALUES) {
      for (const field of Object.keys(base)) {
        const res = await collect(JSON.stringify({ ...base, order: `S-${Math.random()}`, [field]: value }));
        expectGraceful(res, '/collect', `/collect ${field} = ${name}`);
      }
    }
  });

  it('POST /collect: broken bodies, wrong content types and oversized bodies get a 4xx', async () => {
    for (const [name, body] of HOSTILE_BODIES) {
      const res = await collect(body);
      expectGraceful(res, '/collect', name);
      expect(res.statusCode, name).toBeGreaterThanOrEqual(400);
    }
    for (const type of WRONG_TYPES) {
      const res = await collect(JSON.stringify(PAGEVIEW), type);
      expectGraceful(res, '/collect', type);
      expect(res.statusCode, type).toBeGreaterThanOrEqual(400);
    }
    expect((await collect(JSON.stringify({ ...PAGEVIEW, pad: 'x'.repeat(200_000) }))).statusCode).toBe(413);
  });

  it('GET /p.gif: every parameter with every hostile value, repeated or polluted, answers a GIF', async () => {
    for (const [name, value] of HOSTILE_VALUES) {
      for (const field of Object.keys(PIXEL)) {
        const url = pixelUrl({ ...PIXEL, order: `P-${Math.random()}`, [field]: value });
        const res = await get(url.slice(0, 12_000));
        expectGraceful(res, '/p.gif', `/p.gif ${field} = ${name}`);
        expect(res.headers['content-type'], `${field} = ${name}`).toBe('image/gif');
      }
    }
    const odd = ['/p.gif', '/p.gif?site=acme&site=other&order=x&value=1', '/p.gif?site=acme&order=x&value=1&__proto__[admin]=1',
      '/p.gif?site=acme&order=x&value=1&constructor[prototype][admin]=1', '/p.gif?site=acme&order=%E0%A4%A&value=1',
      '/p.gif?site=acme&order[]=x&value=1', '/p.gif?' + 'a=1&'.repeat(2000), '/p.gif?site=acme&order=x&value=1&item=' + 'a:1:1&item='.repeat(200)];
    for (const url of odd) {
      const res = await get(url);
      expectGraceful(res, '/p.gif', url.slice(0, 80));
      expect(res.headers['content-type']).toBe('image/gif');
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('GET /collect.gif: hostile d answers a GIF', async () => {
    const ds = ['', '{', 'null', '[]', JSON.stringify({ ...PAGEVIEW, url: 'javascript:alert(1)' }), '{"__proto__":{"x":1}}', 'x'.repeat(20_000)];
    for (const d of ds) {
      const res = await get(`/collect.gif?d=${encodeURIComponent(d)}`);
      expectGraceful(res, '/collect.gif', d.slice(0, 40));
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toBe('image/gif');
    }
  });

  it('GET /r/:code never redirects off the site, whatever the path or query tries', async () => {
    const attempts = ['/r/%2F%2Fevil.example', '/r//evil.example', '/r/..%2F..%2Fevil', '/r/mia%0d%0aLocation:%20https://evil.example',
      '/r/mia?target=https://evil.example', '/r/mia?url=//evil.example&next=https://evil.example', '/r/@evil.example', '/r/mia@evil.example',
      '/r/https:%2F%2Fevil.example', '/r/' + 'm'.repeat(500), '/r/%00', '/r/acme/%2F%2Fevil.example', '/r/evil.example/mia', '/r/MIA%20'];
    for (const url of attempts) {
      const res = await get(url);
      expectGraceful(res, url, url);
      if (res.statusCode === 302) expect(new URL(String(res.headers.location)).host, url).toBe('tickets.example.com');
    }
    const ok = await get('/r/mia?target=https://evil.example');
    expect(ok.statusCode).toBe(302);
    expect(String(ok.headers.location)).toMatch(/^https:\/\/tickets\.example\.com\/\?affiliate=mia&lt_cid=/);
  });

  it('hostile cookies and headers are ignored, not fatal', async () => {
    const headers = [{ cookie: 'lt_vid=' + 'x'.repeat(4000) }, { cookie: 'lt_vid=%E0%A4%A; a=b; ;;=' }, { cookie: 'lt_vid="\\u0000"' },
      { 'sec-gpc': '1'.repeat(100) }, { origin: 'null' }, { accept: 'application/json'.repeat(100) }, { 'user-agent': 'x'.repeat(8000) }];
    for (const h of headers) {
      const res = await t.app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain', ...h }, payload: JSON.stringify(PAGEVIEW) });
      expectGraceful(res, '/collect', JSON.stringify(h).slice(0, 60));
    }
  });

  it('works normally after the sweep', async () => {
    expect((await pageview(t, { vid: 'visitor-after', url: `${EVENT_URL}?affiliate=mia`, cid: 'after-1' })).statusCode).toBe(204);
    expect((await postback(t, { order: 'after-1', value: '30.00', vid: 'visitor-after' })).statusCode).toBe(201);
    expect((await get('/p.gif?site=acme&order=after-2&value=15.00&vid=visitor-after')).statusCode).toBe(200);
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ orders: 2 });
    expect(json(await get('/healthz'))).toMatchObject({ ok: true });
  });
});
