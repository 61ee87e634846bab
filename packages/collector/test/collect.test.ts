import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, MINUTE, json, pageview, report, rowFor, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
});
afterEach(() => t.close());

describe('POST /collect', () => {
  it('accepts a minimal text/plain pageview and answers 204', async () => {
    const res = await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: '' });
    expect(res.statusCode).toBe(204);
    expect(await t.sql('SELECT channel, vid FROM hits')).toEqual([{ channel: 'direct', vid: 'visitor-aaaa' }]);
  });

  it('accepts application/json too', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/collect', payload: { site: 'acme', vid: 'visitor-aaaa', url: EVENT_URL } });
    expect(res.statusCode).toBe(204);
  });

  it('takes hits at //collect and //p.gif too (data-api written with a trailing slash), CORS and all', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '//collect',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA, origin: 'https://tickets.example.com' },
      payload: JSON.stringify({ site: 'acme', vid: 'visitor-aaaa', url: EVENT_URL }),
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://tickets.example.com');
    const pixel = await t.app.inject({ method: 'GET', url: '//p.gif?site=acme&order=A-1&value=10.00', headers: { 'user-agent': BROWSER_UA } });
    expect([pixel.statusCode, pixel.headers['content-type']]).toEqual([200, 'image/gif']);
    expect(await t.sql('SELECT vid FROM hits')).toEqual([{ vid: 'visitor-aaaa' }]);
  });

  it('stores the page without its fragment, and takes any navigation type a browser names (only reload and back/forward are replays)', async () => {
    const sent = async (vid: string, nav: string, url = EVENT_URL) =>
      (await t.app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA }, payload: JSON.stringify({ site: 'acme', vid, url, nav }) })).statusCode;
    expect(await sent('visitor-frag', 'navigate', `${EVENT_URL}?affiliate=mia#access_token=secret`)).toBe(204);
    expect(await sent('visitor-next', 'some_future_type')).toBe(204);
    expect(await t.sql('SELECT vid, url, visit FROM hits ORDER BY vid')).toEqual([
      { vid: 'visitor-frag', url: `${EVENT_URL}?affiliate=mia`, visit: 1 },
      { vid: 'visitor-next', url: EVENT_URL, visit: 1 },
    ]);
  });

  it('classifies from url and referrer itself and ignores the script verdict', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://l.instagram.com/', channel: 'paid', source: 'evil' });
    expect((await t.sql('SELECT channel, source FROM hits'))[0]).toEqual({ channel: 'social', source: 'instagram' });
  });

  it.each([
    ['an affiliate', 'https://tickets.example.com/checkout?return=/e/fest?seat=1&affiliate=mia', '', 'affiliate', null, 'mia'],
    ['a paid click id', 'https://tickets.example.com/e/fest?next=/cart?x=1&gclid=abc', 'https://www.google.com/', 'paid', 'google', null],
    ['utm parameters', 'https://tickets.example.com/e/fest?next=/a?b&utm_source=newsletter&utm_medium=email', 'https://www.google.com/', 'email', 'newsletter', null],
  ])('reads %s after a second ? in the query (a value may hold one)', async (_name, url, referrer, channel, source, code) => {
    await pageview(t, { vid: 'visitor-aaaa', url, referrer });
    expect((await t.sql('SELECT channel, source, code FROM hits'))[0]).toEqual({ channel, source, code });
  });

  it('sets a signed HttpOnly lt_vid cookie that later requests are recognised by', async () => {
    const res = await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL });
    const cookie = res.cookies.find((c) => c.name === 'lt_vid')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie.value).toContain('visitor-aaaa.');
    // A new script id (cookie cleared by the browser's 7-day cap) still maps to the server's visitor.
    await pageview(t, { vid: 'visitor-bbbb', url: EVENT_URL }, { cookie: `lt_vid=${cookie.value}` });
    expect(await t.sql('SELECT DISTINCT vid FROM hits')).toEqual([{ vid: 'visitor-aaaa' }]);
  });

  it('ignores a forged lt_vid cookie', async () => {
    await pageview(t, { vid: 'visitor-bbbb', url: EVENT_URL }, { cookie: 'lt_vid=visitor-aaaa.forged' });
    expect((await t.sql('SELECT vid FROM hits'))[0]).toEqual({ vid: 'visitor-bbbb' });
  });

  it.each([
    ['broken JSON', '{"site":', 400, 'invalid_json'],
    ['a missing vid', JSON.stringify({ site: 'acme', url: EVENT_URL }), 400, 'invalid_request'],
    ['a non-http url', JSON.stringify({ site: 'acme', vid: 'visitor-aaaa', url: 'javascript:alert(1)' }), 400, 'invalid_request'],
    ['a short vid', JSON.stringify({ site: 'acme', vid: 'x', url: EVENT_URL }), 400, 'invalid_request'],
    ['an unknown site', JSON.stringify({ site: 'nope', vid: 'visitor-aaaa', url: EVENT_URL }), 404, 'unknown_site'],
    ['a JSON array', '[1,2]', 400, 'invalid_request'],
    ['prototype pollution', '{"site":"acme","vid":"visitor-aaaa","url":"https://a.b/","__proto__":{"x":1}}', 400, 'invalid_json'],
  ])('rejects %s with a 4xx naming the problem', async (_name, payload, status, error) => {
    const res = await t.app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain' }, payload });
    expect(res.statusCode).toBe(status);
    expect(json(res)).toMatchObject({ error });
    expect(json(res).message.length).toBeGreaterThan(5);
    expect((await t.sql('SELECT COUNT(*) AS n FROM hits'))[0]).toEqual({ n: 0 });
  });

  it('names the field that is wrong', async () => {
    const res = await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 42 as unknown as string });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/referrer/);
  });

  it('names an unknown field of a ticket line, in the body and in the image fallback alike', async () => {
    const conversion = { site: 'acme', kind: 'conversion', order: 'S1', vid: 'visitor-aaaa', items: [{ type: 'vip', qty: 1, price: '5.00', colour: 'red' }] };
    const res = await t.app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(conversion) });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toBe('body.items.0 has an unknown field "colour"');
    const gif = await t.app.inject({ method: 'GET', url: `/collect.gif?d=${encodeURIComponent(JSON.stringify(conversion))}` });
    expect(gif.statusCode).toBe(400);
    expect(gif.headers['x-linktrail-error']).toBe('d.items.0 has an unknown field "colour"');
    expect((await t.sql('SELECT COUNT(*) AS n FROM conversions'))[0]).toEqual({ n: 0 });
  });

  it('rejects an oversized body with 413', async () => {
    const res = await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'x'.repeat(70_000) });
    expect(res.statusCode).toBe(413);
  });
});

describe('visits, touches and clicks', () => {
  it('event page then checkout within 30 minutes is one visit', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.google.com/' });
    t.clock.advance(5 * MINUTE);
    await pageview(t, { vid: 'visitor-aaaa', url: 'https://tickets.example.com/checkout', referrer: EVENT_URL });
    const r = await report(t, 'by=channel');
    expect(r.totals.visits).toBe(1);
    expect(rowFor(r, 'search')).toMatchObject({ visits: 1, visitors: 1 });
  });

  it('a platform landing after a 30-minute pause is a platform visit', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: '' });
    t.clock.advance(31 * MINUTE);
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.example.com/whats-on' });
    const r = await report(t, 'by=channel');
    expect(rowFor(r, 'direct')!.visits).toBe(1);
    expect(rowFor(r, 'platform')!.visits).toBe(1);
    expect(r.totals).toMatchObject({ visits: 2, visitors: 1 });
  });

  it('a touch always starts a visit, even within 30 minutes', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.google.com/' });
    t.clock.advance(MINUTE);
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://t.co/abc' });
    expect((await report(t, 'by=channel')).totals.visits).toBe(2);
  });

  it('reloads and back/forward never start a visit or a click', async () => {
    const hit = { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia`, referrer: 'https://t.co/x', cid: 'cid-1' };
    await pageview(t, hit);
    t.clock.advance(40 * MINUTE);
    await pageview(t, { ...hit, cid: 'cid-2', nav: 'reload' });
    await pageview(t, { ...hit, cid: 'cid-3', nav: 'back_forward' });
    const r = await report(t, 'by=code');
    expect(rowFor(r, 'mia')).toMatchObject({ visits: 1, clicks: 1 });
    expect((await t.sql('SELECT COUNT(*) AS n FROM hits'))[0]).toEqual({ n: 3 });
  });

  it('every landing with ?affiliate= is a click, counted per code, registered or not', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=MIA`, cid: 'c1' });
    t.clock.advance(MINUTE);
    await pageview(t, { vid: 'visitor-bbbb', url: `${EVENT_URL}?affiliate=mia`, cid: 'c2' });
    await pageview(t, { vid: 'visitor-bbbb', url: `${EVENT_URL}?affiliate=unregistered-x`, cid: 'c3' });
    const r = await report(t, 'by=code');
    expect(rowFor(r, 'mia')).toMatchObject({ clicks: 2, visits: 2, visitors: 2 });
    expect(rowFor(r, 'unregistered-x')).toMatchObject({ clicks: 1 });
  });

  it('a landing without a click id still counts as a click', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia` });
    expect(rowFor(await report(t, 'by=code'), 'mia')!.clicks).toBe(1);
  });

  it('bots and headless browsers are stored but never visits or clicks', async () => {
    const headless = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36';
    await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia` }, { 'user-agent': headless });
    await pageview(t, { vid: 'visitor-bbbb', url: EVENT_URL }, { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' });
    const r = await report(t, 'by=code');
    expect(r.totals).toMatchObject({ visits: 0, clicks: 0 });
    expect((await t.sql('SELECT COUNT(*) AS n FROM hits'))[0]).toEqual({ n: 2 });
  });
});

describe('GET /collect.gif', () => {
  it('takes the same hit as JSON in d and answers a GIF', async () => {
    const d = JSON.stringify({ site: 'acme', vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://duckduckgo.com/' });
    const res = await t.app.inject({ method: 'GET', url: `/collect.gif?d=${encodeURIComponent(d)}`, headers: { 'user-agent': BROWSER_UA } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.rawPayload.length).toBe(43);
    expect((await t.sql('SELECT channel, source FROM hits'))[0]).toEqual({ channel: 'search', source: 'duckduckgo' });
  });

  it('takes the hit as plain query parameters too (SPEC: the same hit as query parameters)', async () => {
    const qs = new URLSearchParams({ site: 'acme', vid: 'visitor-plain1', url: `${EVENT_URL}?utm_source=newsletter&utm_medium=email`, referrer: 'https://mail.google.com/', event: 'summer-fest' });
    const res = await t.app.inject({ method: 'GET', url: `/collect.gif?${qs}`, headers: { 'user-agent': BROWSER_UA } });
    expect([res.statusCode, res.headers['content-type'], res.rawPayload.length]).toEqual([200, 'image/gif', 43]);
    expect(await t.sql('SELECT vid, event, channel, source, utm_source, visit FROM hits')).toEqual([
      { vid: 'visitor-plain1', event: 'summer-fest', channel: 'email', source: 'newsletter', utm_source: 'newsletter', visit: 1 },
    ]);
  });

  it('takes a script conversion as plain query parameters', async () => {
    const qs = new URLSearchParams({ site: 'acme', kind: 'conversion', order: 'PLAIN-1', value: '45.00', currency: 'EUR', tickets: '2' });
    const res = await t.app.inject({ method: 'GET', url: `/collect.gif?${qs}`, headers: { 'user-agent': BROWSER_UA } });
    expect(res.statusCode).toBe(200);
    expect(await t.sql('SELECT order_id, value_minor, currency, tickets FROM conversions')).toEqual([{ order_id: 'PLAIN-1', value_minor: 4500, currency: 'EUR', tickets: 2 }]);
  });

  it.each([
    ['not JSON', 'd=%7Bnope', /JSON/],
    ['a missing vid', `d=${encodeURIComponent(JSON.stringify({ site: 'acme', url: EVENT_URL }))}`, /vid/],
    ['neither d nor a site', '', /site/],
    ['plain parameters without a vid', `site=acme&url=${encodeURIComponent(EVENT_URL)}`, /querystring must have required property 'vid'/],
  ])('answers a 400 GIF with the reason for %s', async (_name, qs, reason) => {
    const res = await t.app.inject({ method: 'GET', url: `/collect.gif?${qs}` });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.headers['x-linktrail-error']).toMatch(reason);
  });
});

describe("the collector's verdict", () => {
  it('answers a script that asks for JSON with its classification, click id and canonical vid', async () => {
    const res = await pageview(
      t,
      { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=Mia&lt_cid=shortlink-cid-0001`, referrer: 'https://l.instagram.com/' },
      { accept: 'application/json', origin: 'https://tickets.example.com' },
    );
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ vid: 'visitor-aaaa', cid: 'shortlink-cid-0001', channel: 'affiliate', source: 'instagram', affiliate: 'mia', touch: true });
    expect(res.headers['access-control-allow-origin']).toBe('https://tickets.example.com');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });

  it('mints a click id for a touch without one, and none for a platform page', async () => {
    const touch = await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.google.com/' }, { accept: 'application/json' });
    expect(json(touch)).toMatchObject({ channel: 'search', touch: true, cid: expect.stringMatching(/^t[0-9a-z]{9}[\w-]{16}$/) });
    const platform = await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.example.com/' }, { accept: 'application/json' });
    expect(json(platform)).toMatchObject({ channel: 'platform', touch: false, cid: null });
  });

  it('gives the server cookie vid over the script one', async () => {
    const first = await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL });
    const cookie = first.cookies.find((c) => c.name === 'lt_vid')!;
    const res = await pageview(t, { vid: 'visitor-new1', url: EVENT_URL }, { accept: 'application/json', cookie: `lt_vid=${cookie.value}` });
    expect(json(res).vid).toBe('visitor-aaaa');
  });

  it('a reload is not a fresh touch', async () => {
    const res = await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?utm_source=x`, nav: 'reload' }, { accept: 'application/json' });
    expect(json(res).touch).toBe(false);
  });

  it('answers a CORS preflight', async () => {
    const res = await t.app.inject({ method: 'OPTIONS', url: '/collect', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://a.example');
  });

  it('names the origin only on the collect routes, errors included', async () => {
    const origin = { origin: 'https://a.example' };
    const bad = await t.app.inject({ method: 'POST', url: '/collect', headers: { ...origin, 'content-type': 'text/plain' }, payload: '{"site":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['access-control-allow-origin']).toBe('https://a.example');
    const other = await t.app.inject({ method: 'GET', url: '/healthz', headers: origin });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe("the script tag's data-platform and data-param", () => {
  it('count extra platform hosts and read a custom affiliate parameter', async () => {
    const platform = await pageview(
      t,
      { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://shop.partner-tickets.example/', platform: 'partner-tickets.example, other.example' },
      { accept: 'application/json' },
    );
    expect(json(platform)).toMatchObject({ channel: 'platform' });
    const custom = await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?ref=Crew42`, param: 'ref' }, { accept: 'application/json' });
    expect(json(custom)).toMatchObject({ channel: 'affiliate', affiliate: 'crew42', touch: true });
  });

  it('a malformed lt_cid is replaced by a minted click id', async () => {
    const res = await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia&lt_cid=x` }, { accept: 'application/json' });
    expect(json(res).cid).toMatch(/^t[0-9a-z]{9}[\w-]{16}$/);
  });
});

describe('NUL bytes in what a page sends', () => {
  it('are left out of the stored referrer and URL parameters, the same on SQLite and PostgreSQL', async () => {
    const res = await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?utm_source=news%00letter&utm_campaign=%00`, referrer: 'https://x.com/a\u0000b' });
    expect(res.statusCode).toBe(204);
    expect(await t.sql('SELECT utm_source, utm_campaign, referrer FROM hits')).toEqual([
      { utm_source: 'newsletter', utm_campaign: null, referrer: 'https://x.com/ab' },
    ]);
  });
});
