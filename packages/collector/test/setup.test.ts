import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, BROWSER_UA, json, report, rowFor, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
});
afterEach(() => t.close());

const post = (url: string, payload: unknown) => t.app.inject({ method: 'POST', url: `/api/sites/acme${url}`, headers: t.auth, payload: payload as object });

describe('sites', () => {
  it('creates a site with defaults and answers its token once', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'fest', name: 'Fest', url: 'https://fest.example' } });
    expect(res.statusCode).toBe(201);
    expect(json(res).site).toMatchObject({ id: 'fest', windowDays: 28, currency: 'EUR', platformHosts: [] });
    expect(json(res).token).toMatch(/^lts_/);
  });

  it.each([
    [{ id: 'acme', name: 'Again', url: 'https://a.example' }, 409, /already exists/],
    [{ id: 'Bad Id', name: 'x', url: 'https://a.example' }, 400, /id/],
    [{ id: 'x', name: 'x', url: 'ftp://a.example' }, 400, /url/],
    [{ id: 'x', name: 'x', url: 'https://a.example', windowDays: 0 }, 400, /windowDays/],
    [{ id: 'x', name: 'x', url: 'https://a.example', currency: 'ABC' }, 400, /currency/],
    [{ id: 'x', name: 'x\r\nBcc: a@b.c', url: 'https://a.example' }, 400, /name/],
    [{ id: 'x', name: 'x', url: 'https://a.example', platformHosts: ['.'] }, 400, /platformHosts\/0/],
    [{ id: 'x', name: 'x', url: 'https://a.example', platformHosts: ['ok.example', 'www.'] }, 400, /platformHosts\/1 names no host/],
    [{ id: 'x', name: 'x', url: 'https://a.example', platformHosts: ['-a.example'] }, 400, /platformHosts\/0/],
  ])('refuses %j with %i', async (payload, status, message) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload });
    expect(res.statusCode).toBe(status);
    expect(json(res).message).toMatch(message);
  });
});

describe('affiliates and codes', () => {
  it('an affiliate id comes from the nickname and stays unique', async () => {
    const a = await post('/affiliates', { name: 'Mia Lopez', email: 'mia@example.com', nickname: 'Mía' });
    const b = await post('/affiliates', { name: 'Mia Other', email: 'mia2@example.com', nickname: 'mia' });
    expect([json(a).affiliate.id, json(b).affiliate.id]).toEqual(['mia', 'mia-2']);
  });

  it('a code answers its link and shortlink; codes are case-insensitive', async () => {
    await post('/affiliates', { name: 'Mia', email: 'mia@example.com', nickname: 'mia' });
    const res = await post('/codes', { code: 'Mia-Insta', affiliate: 'mia' });
    expect(res.statusCode).toBe(201);
    expect(json(res)).toMatchObject({
      code: 'mia-insta',
      link: 'https://tickets.example.com/?affiliate=mia-insta',
      shortlink: 'http://t.example.com/r/mia-insta',
    });
    expect((await post('/codes', { code: 'MIA-INSTA' })).statusCode).toBe(409);
  });

  it('an event code links to the event page', async () => {
    await post('/events', { id: 'fest', name: 'Fest', url: 'https://tickets.example.com/e/fest?lang=en' });
    const res = await post('/codes', { code: 'crew', event: 'fest' });
    expect(json(res).link).toBe('https://tickets.example.com/e/fest?lang=en&affiliate=crew');
  });

  it("an event page must be on the site's own hosts: its shortlinks go there", async () => {
    const refused = await post('/events', { id: 'away', name: 'Away', url: 'https://evil.example.net/' });
    expect(refused.statusCode).toBe(400);
    expect(json(refused).message).toMatch(/url must be on the site's own hosts \(tickets\.example\.com, example\.com/);
    // A platform host and its subdomains are the site's own (setup's platformHosts: example.com).
    expect((await post('/events', { id: 'shop', name: 'Shop', url: 'https://shop.example.com/e/1' })).statusCode).toBe(201);
    // A target may not reach off the site's hosts through an event either.
    const code = await post('/codes', { code: 'x', event: 'shop', target: 'https://evil.example.net/' });
    expect(json(code).message).toMatch(/target must be on the site's own hosts/);
  });

  it.each([
    [{ code: 'has space' }, /code/],
    [{ code: 'x'.repeat(65) }, /code/],
    [{ code: 'ok', affiliate: 'ghost' }, /affiliate ghost/],
    [{ code: 'ok', event: 'ghost' }, /event ghost/],
    [{ code: 'ok', target: 'https://evil.example.net/phish' }, /target must be on the site's own hosts/],
    [{ code: 'ok', target: 'https://example.com.evil.net/' }, /target/],
    [{ code: 'ok', target: 'javascript:alert(1)' }, /target/],
  ])('refuses %j with a 400 naming the field', async (payload, message) => {
    const res = await post('/codes', payload);
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(message);
  });

  it('lists codes with their links', async () => {
    await post('/codes', { code: 'a' });
    await post('/codes', { code: 'b', target: 'https://shop.example.com/x' });
    const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme/codes', headers: t.auth });
    expect(json(res).codes.map((c: any) => [c.code, c.link])).toEqual([
      ['a', 'https://tickets.example.com/?affiliate=a'],
      ['b', 'https://shop.example.com/x?affiliate=b'],
    ]);
  });
});

describe('GET /r/:code', () => {
  it('redirects to the registered target with affiliate and a fresh lt_cid, and counts a click', async () => {
    await post('/codes', { code: 'mia' });
    const res = await t.app.inject({ method: 'GET', url: '/r/MIA?next=https://evil.example.net', headers: { 'user-agent': BROWSER_UA } });
    expect(res.statusCode).toBe(302);
    const to = new URL(res.headers.location as string);
    expect(to.origin + to.pathname).toBe('https://tickets.example.com/');
    expect(to.searchParams.get('affiliate')).toBe('mia');
    expect(to.searchParams.get('lt_cid')).toMatch(/^[\w-]{16}$/);
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ clicks: 1, previews: 0 });
  });

  it('the landing that follows is the same click', async () => {
    await post('/codes', { code: 'mia' });
    const res = await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': BROWSER_UA } });
    await t.app.inject({
      method: 'POST',
      url: '/collect',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
      payload: JSON.stringify({ site: 'acme', vid: 'visitor-aaaa', url: res.headers.location, referrer: 'https://l.instagram.com/' }),
    });
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ clicks: 1, visits: 1 });
  });

  it("the landing gives a shortlink's click the event and source of its page, on every range", async () => {
    await post('/codes', { code: 'mia' });
    // One preview first: the person's landing makes it a click as well.
    await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': 'WhatsApp/2.23.20.0 A' } });
    for (const [vid, agent] of [['visitor-aaaa', BROWSER_UA], ['visitor-bbbb', 'WhatsApp/2.23.20.0 A']] as const) {
      const res = await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': agent } });
      await t.app.inject({
        method: 'POST',
        url: '/collect',
        headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
        payload: JSON.stringify({ site: 'acme', vid, event: 'fest', url: res.headers.location, referrer: 'https://l.instagram.com/' }),
      });
    }
    for (const range of ['from=2026-06-01&to=2026-06-01', 'from=2026-06-01T00:00:00.001Z&to=2026-06-01T23:00:00Z']) {
      const byEvent = await report(t, `by=event&${range}`);
      expect(rowFor(byEvent, 'fest'), range).toMatchObject({ clicks: 2, visits: 2 });
      // The preview nobody followed stays where the redirect put it.
      expect(rowFor(byEvent, null), range).toMatchObject({ clicks: 0, previews: 1, visits: 0 });
      expect(rowFor(await report(t, `by=source&${range}`), 'instagram'), range).toMatchObject({ clicks: 2, previews: 0 });
      expect(rowFor(await report(t, `by=code&${range}`), 'mia'), range).toMatchObject({ clicks: 2, previews: 1 });
    }
  });

  it('link-preview fetchers and HEAD requests count as previews, not clicks', async () => {
    await post('/codes', { code: 'mia' });
    await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': 'WhatsApp/2.23.20.0 A' } });
    await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': 'facebookexternalhit/1.1' } });
    await t.app.inject({ method: 'HEAD', url: '/r/mia', headers: { 'user-agent': BROWSER_UA } });
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ clicks: 0, previews: 3 });
  });

  it('an unknown or malformed code is a 404 or 400, never a redirect', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/r/ghost' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/r/%0d%0aSet-Cookie:x' })).statusCode).toBe(400);
  });

  it('a code used by two sites resolves to the first; the second gets a site-qualified shortlink', async () => {
    await post('/codes', { code: 'mia' });
    const r = await t.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'rival', name: 'R', url: 'https://rival.example.org' } });
    const res = await t.app.inject({ method: 'POST', url: '/api/sites/rival/codes', headers: { authorization: `Bearer ${json(r).token}` }, payload: { code: 'mia' } });
    expect(json(res).shortlink).toBe('http://t.example.com/r/rival/mia');
    const a = await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': BROWSER_UA } });
    const b = await t.app.inject({ method: 'GET', url: '/r/rival/mia', headers: { 'user-agent': BROWSER_UA } });
    expect(new URL(a.headers.location as string).host).toBe('tickets.example.com');
    expect(new URL(b.headers.location as string).host).toBe('rival.example.org');
  });
});

describe('public endpoints', () => {
  it('GET /healthz answers 200', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('an unknown route is a JSON 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(json(res).error).toBe('not_found');
  });
});

describe('click ids in shared landing URLs', () => {
  const land = (vid: string, url: string) =>
    t.app.inject({
      method: 'POST',
      url: '/collect',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA, accept: 'application/json' },
      payload: JSON.stringify({ site: 'acme', vid, url, referrer: 'https://l.instagram.com/' }),
    });

  it("a landing URL shared on is a click of the new visitor's own, and the first keeps theirs", async () => {
    await post('/codes', { code: 'mia' });
    const r = await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': BROWSER_UA } });
    const url = r.headers.location as string;
    const cid = new URL(url).searchParams.get('lt_cid');
    expect(json(await land('visitor-aaaa', url)).cid).toBe(cid);
    const second = json(await land('visitor-bbbb', url));
    expect(second.cid).not.toBe(cid);
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ clicks: 2, visits: 2 });
    const buy = await t.app.inject({ method: 'POST', url: '/api/sites/acme/conversions', headers: t.auth, payload: { order: 'A1', value: '1', vid: 'visitor-aaaa' } });
    expect(json(buy).conversion.attribution.link).toMatchObject({ code: 'mia', cid });
  });

  it('a person landing on a click id first fetched by a preview bot turns the preview into a click', async () => {
    await post('/codes', { code: 'mia' });
    const r = await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': 'WhatsApp/2.23.20.0 A' } });
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ clicks: 0, previews: 1 });
    await land('visitor-aaaa', r.headers.location as string);
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ clicks: 1, previews: 0 });
    const raw = await report(t, 'by=code&from=2026-06-01T00:00:00.001Z&to=2026-06-02T00:00:00Z');
    expect(rowFor(raw, 'mia')).toMatchObject({ clicks: 1, previews: 0 });
  });
});
