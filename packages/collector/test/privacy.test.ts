import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, BROWSER_UA, EVENT_URL, json, makeApp } from './helper.js';

type T = Awaited<ReturnType<typeof makeApp>>;
let t: T;
let token: string;
afterEach(() => t.close());

async function start(siteBody: object = {}, logs?: string[]) {
  const stream = new Writable({ write: (chunk, _enc, done) => (logs?.push(String(chunk)), done()) });
  t = await makeApp(logs ? { logger: { level: 'trace', stream } } : {});
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/sites',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com', ...siteBody },
  });
  token = json(res).token;
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: { authorization: `Bearer ${token}` }, payload: { code: 'mia' } });
}

const IP = '203.0.113.77';
const count = async (table: string) => Number((await t.sql(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);

/** One of everything a visitor's browser sends, from IP, with the given extra headers. */
async function visit(headers: Record<string, string> = {}) {
  const h = { 'user-agent': BROWSER_UA, 'x-forwarded-for': IP, ...headers };
  const pageview = await t.app.inject({ method: 'POST', url: '/collect', remoteAddress: IP, headers: { ...h, 'content-type': 'text/plain' }, payload: JSON.stringify({ site: 'acme', vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia` }) });
  const d = encodeURIComponent(JSON.stringify({ site: 'acme', vid: 'visitor-aaaa', url: EVENT_URL }));
  const fallback = await t.app.inject({ method: 'GET', url: `/collect.gif?d=${d}`, remoteAddress: IP, headers: h });
  const redirect = await t.app.inject({ method: 'GET', url: '/r/mia', remoteAddress: IP, headers: h });
  const pixel = await t.app.inject({ method: 'GET', url: '/p.gif?site=acme&order=A-1&value=45.00', remoteAddress: IP, headers: h });
  const script = await t.app.inject({ method: 'POST', url: '/collect', remoteAddress: IP, headers: { ...h, 'content-type': 'text/plain' }, payload: JSON.stringify({ site: 'acme', kind: 'conversion', order: 'A-2', value: '10.00' }) });
  return { pageview, fallback, redirect, pixel, script };
}

describe('Global Privacy Control', () => {
  it('a site that honours it stores nothing from a browser sending Sec-GPC: 1, and answers as usual', async () => {
    await start({ honorGpc: true });
    const r = await visit({ 'sec-gpc': '1' });
    expect([r.pageview.statusCode, r.fallback.statusCode, r.redirect.statusCode, r.pixel.statusCode, r.script.statusCode]).toEqual([204, 200, 302, 200, 204]);
    expect(r.pixel.headers['content-type']).toBe('image/gif');
    expect(r.pageview.headers['set-cookie']).toBeUndefined();
    // The visitor still lands with the code on the page, only unrecorded: no click id.
    expect(String(r.redirect.headers.location)).toBe('https://tickets.example.com/?affiliate=mia');
    expect(await Promise.all([count('hits'), count('clicks'), count('conversions')])).toEqual([0, 0, 0]);
  });

  it('a site that does not honour it, or a browser without the signal, is recorded', async () => {
    await start({ honorGpc: false });
    await visit({ 'sec-gpc': '1' });
    expect(await Promise.all([count('hits'), count('clicks'), count('conversions')])).toEqual([2, 2, 2]);
  });

  it('honouring it can be switched on in the settings, and Sec-GPC: 0 is no opt-out', async () => {
    await start();
    const res = await t.app.inject({ method: 'POST', url: '/api/sites/acme/settings', headers: { authorization: `Bearer ${token}` }, payload: { honorGpc: true } });
    expect(json(res).site.honorGpc).toBe(true);
    await visit({ 'sec-gpc': '1' });
    expect(await count('hits')).toBe(0);
    await visit({ 'sec-gpc': '0' });
    expect(await count('hits')).toBe(2);
  });
});

describe('no raw IP address stored', () => {
  it('the address of a visitor is in no table and no log line, whatever it sends', async () => {
    const logs: string[] = [];
    await start({}, logs);
    await visit();
    await t.app.inject({
      method: 'POST',
      url: '/api/sites/acme/hits',
      remoteAddress: IP,
      headers: { authorization: `Bearer ${token}` },
      payload: { hits: [{ vid: 'visitor-bbbb', url: EVENT_URL, ip: IP, ua: BROWSER_UA }] },
    });
    await t.app.inject({ method: 'GET', url: '/api/sites/acme', remoteAddress: IP, headers: { authorization: 'Bearer wrong-token' } });
    expect(await count('hits')).toBe(3);
    for (const table of await t.tables()) {
      const rows = await t.sql(`SELECT * FROM ${table}`);
      expect(JSON.stringify(rows), table).not.toContain(IP);
    }
    expect(logs.length).toBeGreaterThan(5);
    expect(logs.join('')).not.toContain(IP);
  });
});
