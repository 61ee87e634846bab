// Every API route, every field, every hostile value: never a 5xx or a crash, always a 4xx
// {error, message} for what is refused, and the app works normally afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, EVENT_URL, json, report, setup, type TestApp } from './helper.js';
import { HOSTILE_BODIES, HOSTILE_VALUES, WRONG_TYPES, expectGraceful } from './hostile.js';

let t: TestApp;
beforeAll(async () => {
  t = await setup();
  await post('/api/sites/acme/affiliates', { id: 'mia', name: 'Mia', email: 'mia@example.com' });
  await post('/api/sites/acme/events', { id: 'fest', name: 'Fest', url: EVENT_URL });
  await post('/api/sites/acme/codes', { code: 'mia', affiliate: 'mia' });
  await post('/api/sites/acme/conversions', { order: 'A-1', value: '10.00' });
});
afterAll(() => t.close());

function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
  const auth = url === '/api/sites' ? `Bearer ${ADMIN}` : t.auth.authorization;
  return t.app.inject({ method: 'POST', url, headers: { authorization: auth, 'content-type': 'application/json', ...headers }, payload: payload as string });
}

/** Each JSON route with a body that is valid on its own. */
const ROUTES: Array<[string, () => Record<string, unknown>]> = [
  ['/api/sites', () => ({ id: `s${Math.random().toString(36).slice(2, 10)}`, name: 'Fest', url: 'https://fest.example', platformHosts: ['fest.example'], windowDays: 28, currency: 'EUR' })],
  ['/api/sites/acme/events', () => ({ id: `e${Math.random().toString(36).slice(2, 10)}`, name: 'Fest', url: EVENT_URL, startsAt: '2026-07-01T18:00:00Z' })],
  ['/api/sites/acme/affiliates', () => ({ name: 'Ana', email: 'ana@example.com', nickname: 'ana', parent: 'mia' })],
  ['/api/sites/acme/codes', () => ({ code: `c${Math.random().toString(36).slice(2, 10)}`, affiliate: 'mia', event: 'fest', target: EVENT_URL })],
  ['/api/sites/acme/hits', () => ({ hits: [{ vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://t.co/', ts: Date.UTC(2026, 5, 1), ip: '192.0.2.1', ua: 'Mozilla/5.0' }] })],
  ['/api/sites/acme/conversions', () => ({ order: `o${Math.random()}`, value: '45.00', currency: 'EUR', event: 'fest', type: 'purchase', items: [{ type: 'day', qty: 1, price: '45.00' }], tickets: 1, customer: 'c1', vid: 'visitor-aaaa', cid: 'cid-1', ts: Date.UTC(2026, 5, 1) })],
  ['/api/sites/acme/orders/A-1/status', () => ({ status: 'completed' })],
  ['/api/sites/acme/orders/A-1/scans', () => ({ scanned: 1 })],
  ['/api/sites/acme/settings', () => ({ honorGpc: false })],
];

/** The same value at a field of the body, or inside its first array item. */
function mutations(body: Record<string, unknown>, value: unknown): Array<[string, Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [];
  for (const [k, v] of Object.entries(body)) {
    out.push([k, { ...body, [k]: value }]);
    if (Array.isArray(v) && typeof v[0] === 'object') {
      for (const ik of Object.keys(v[0] as object)) out.push([`${k}[0].${ik}`, { ...body, [k]: [{ ...(v[0] as object), [ik]: value }] }]);
    }
  }
  return out;
}

describe('hostile input on the API', () => {
  it.each(ROUTES)('%s: every field with every hostile value gets a graceful answer', async (url, valid) => {
    for (const [name, value] of HOSTILE_VALUES) {
      for (const [field, body] of mutations(valid(), value)) {
        expectGraceful(await post(url, JSON.stringify(body)), url, `${url} ${field} = ${name}`);
      }
    }
  });

  it.each(ROUTES)('%s: broken and hostile bodies get a 4xx naming the problem', async (url) => {
    for (const [name, body] of HOSTILE_BODIES) {
      const res = await post(url, body);
      expectGraceful(res, url, `${url} ${name}`);
      expect(res.statusCode, `${url} ${name}`).toBeGreaterThanOrEqual(400);
    }
  });

  it.each(ROUTES)('%s: wrong content types are refused with a 4xx', async (url, valid) => {
    for (const type of WRONG_TYPES) {
      const res = await post(url, JSON.stringify(valid()), { 'content-type': type });
      expectGraceful(res, url, `${url} as ${type}`);
      expect(res.statusCode, `${url} as ${type}`).toBeGreaterThanOrEqual(400);
    }
  });

  it.each(ROUTES)('%s: a body over its limit is a 413', async (url) => {
    const res = await post(url, JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }));
    expect(res.statusCode).toBe(413);
    expect(json(res).error).toBe('body_too_large');
  });

  it('hostile ids in the path and query get a 4xx, never a 5xx', async () => {
    const paths = [
      '/api/sites/%00', '/api/sites/..%2F..%2Fetc', '/api/sites/' + 'a'.repeat(5000), '/api/sites/acme%0d%0aX-Evil:1',
      '/api/sites/acme/conversions/' + encodeURIComponent("' OR 1=1--"), '/api/sites/acme/conversions/%E0%A4%A',
      '/api/sites/acme/conversions/' + 'o'.repeat(300), '/api/sites/acme/report?by=code&from=-99999999999999999',
      '/api/sites/acme/report?by=code&to=99999999999999999999', '/api/sites/acme/report?by=code&from=2026-13-45',
      '/api/sites/acme/report?by=code,code,code', '/api/sites/acme/report?by=' + encodeURIComponent("code'--"),
      '/api/sites/acme/report?by=code&by=channel', '/api/sites/acme/report?by=code&__proto__[x]=1',
      '/api/sites/acme/report?by=code&event=' + encodeURIComponent('=1+1'), '/api/sites/acme/codes?x=' + 'y'.repeat(10_000),
    ];
    for (const url of paths) expectGraceful(await t.app.inject({ method: 'GET', url, headers: t.auth }), url, url);
  });

  it('hostile Authorization headers are a 401', async () => {
    for (const header of ['Bearer ' + 'x'.repeat(10_000), 'Bearer \u00e9t\u00e9', 'Bearer a b', 'Bearer' + ADMIN, 'Basic ' + ADMIN, "Bearer ' OR 1=1--"]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme', headers: { authorization: header } });
      expect(res.statusCode).toBe(401);
      expectGraceful(res, '/api/sites/acme', header.slice(0, 40));
    }
  });

  it('works normally after the sweep, with the hostile strings stored only as data', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const res = await post('/api/sites/acme/conversions', { order: 'after-sweep', value: '12.50' });
    expect(res.statusCode).toBe(201);
    expect(json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/conversions/after-sweep', headers: t.auth })).conversion.value).toBe('12.50');
    expect((await report(t, 'by=code')).rows).toBeDefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    const tables = await t.tables();
    expect(tables).toEqual(expect.arrayContaining(['hits', 'conversions', 'sites', 'codes']));
  });
});
