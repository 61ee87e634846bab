import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ADMIN, BROWSER_UA, EVENT_URL, json, makeApp } from './helper.js';

type T = Awaited<ReturnType<typeof makeApp>>;
let t: T;
afterEach(() => t.close());

async function withSite(rateLimits: { publicPerMinute?: number; authFailuresPerMinute?: number; recruitsPerDay?: number; codesPerDay?: number }, trustProxy = 0) {
  t = await makeApp({ rateLimits, trustProxy });
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/sites',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' },
  });
  return json(res).token as string;
}

const getSite = (token: string, remoteAddress = '127.0.0.1') =>
  t.app.inject({ method: 'GET', url: '/api/sites/acme', headers: { authorization: `Bearer ${token}` }, remoteAddress });

const pageview = (n: number, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
  t.app.inject({
    method: 'POST',
    url: '/collect',
    remoteAddress,
    headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA, ...headers },
    payload: JSON.stringify({ site: 'acme', vid: `visitor-${n}-aaaa`, url: EVENT_URL }),
  });

describe('failed authentication', () => {
  it('an address that sent too many wrong tokens gets 429, even with the right token, and others are unaffected', async () => {
    const token = await withSite({ authFailuresPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await getSite(`lts_wrong-${i}`)).statusCode).toBe(401);
    const blocked = await getSite(token);
    expect(blocked.statusCode).toBe(429);
    expect(json(blocked)).toMatchObject({ error: 'rate_limited', message: expect.stringMatching(/failed authentications/) });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await t.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: {} })).statusCode).toBe(429);
    expect((await getSite(token, '192.0.2.7')).statusCode).toBe(200);
  });

  it('a busy integration with a good token is never limited', async () => {
    const token = await withSite({ authFailuresPerMinute: 3 });
    for (let i = 0; i < 20; i++) expect((await getSite(token)).statusCode).toBe(200);
  });

  it('a malformed Authorization header counts as a failure too', async () => {
    const token = await withSite({ authFailuresPerMinute: 2 });
    for (const header of ['Basic abc', 'Bearer ']) {
      const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme', headers: { authorization: header } });
      expect(res.statusCode).toBe(401);
    }
    expect((await getSite(token)).statusCode).toBe(429);
  });
});

describe('floods on the public endpoints', () => {
  it('answers 429 with a reason past the per-minute limit of one address, and serves other addresses', async () => {
    await withSite({ publicPerMinute: 5 });
    for (let i = 0; i < 5; i++) expect((await pageview(i)).statusCode).toBe(204);
    const res = await pageview(6);
    expect(res.statusCode).toBe(429);
    expect(json(res)).toMatchObject({ error: 'rate_limited', message: expect.stringMatching(/at most 5 a minute/) });
    expect(res.headers['retry-after']).toBeDefined();
    expect((await pageview(7, {}, '198.51.100.9')).statusCode).toBe(204);
    expect(await t.sql('SELECT COUNT(*) AS n FROM hits')).toEqual([{ n: 6 }]);
  });

  it('a pixel over the limit still answers a GIF, with status 429 and the reason header', async () => {
    await withSite({ publicPerMinute: 2 });
    const pixel = (n: number) => t.app.inject({ method: 'GET', url: `/p.gif?site=acme&order=A-${n}&value=10.00` });
    expect((await pixel(1)).statusCode).toBe(200);
    expect((await pixel(2)).statusCode).toBe(200);
    const res = await pixel(3);
    expect(res.statusCode).toBe(429);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.rawPayload.length).toBe(43);
    expect(res.headers['x-linktrail-error']).toMatch(/too many requests/);
  });

  it('shortlinks are limited per address too', async () => {
    await withSite({ publicPerMinute: 1 });
    expect((await t.app.inject({ method: 'GET', url: '/r/nope' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/r/nope' })).statusCode).toBe(429);
  });

  it('believes X-Forwarded-For only from a configured proxy', async () => {
    await withSite({ publicPerMinute: 1 }, 1);
    expect((await pageview(1, { 'x-forwarded-for': '203.0.113.1' })).statusCode).toBe(204);
    expect((await pageview(2, { 'x-forwarded-for': '203.0.113.2' })).statusCode).toBe(204);
    expect((await pageview(3, { 'x-forwarded-for': '203.0.113.1' })).statusCode).toBe(429);
  });

  it('ignores X-Forwarded-For without a proxy: a client cannot dodge the limit by forging it', async () => {
    await withSite({ publicPerMinute: 1 });
    expect((await pageview(1, { 'x-forwarded-for': '203.0.113.1' })).statusCode).toBe(204);
    expect((await pageview(2, { 'x-forwarded-for': '203.0.113.2' })).statusCode).toBe(429);
  });

  it('allows 6000 hits a minute from one address by default (a venue on shared Wi-Fi)', async () => {
    await withSite({});
    for (let i = 0; i < 6000; i++) expect((await t.app.inject({ method: 'OPTIONS', url: '/collect' })).statusCode).toBe(204);
    const res = await t.app.inject({ method: 'OPTIONS', url: '/collect' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['x-ratelimit-limit']).toBe('6000');
  });
});

describe("a promoter's recruits", () => {
  it('are capped a day per team (each mails a welcome in the site name), whatever the address', async () => {
    const site = await withSite({ recruitsPerDay: 2 });
    const invite = async (name: string) =>
      json(await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: { authorization: `Bearer ${site}` }, payload: { name, email: `${name}@example.com` } })).token as string;
    const [mia, sam] = [await invite('mia'), await invite('sam')];
    const recruit = (token: string, code: string, remoteAddress = '127.0.0.1') =>
      t.app.inject({ method: 'POST', url: '/api/me/codes', remoteAddress, headers: { authorization: `Bearer ${token}` }, payload: { code, name: code, email: `${code}@example.com` } });
    expect((await recruit(mia, 'lea')).statusCode).toBe(201);
    expect((await recruit(mia, 'max', '192.0.2.9')).statusCode).toBe(201);
    const refused = await recruit(mia, 'zoe', '192.0.2.10');
    expect(refused.statusCode).toBe(429);
    expect(json(refused).message).toMatch(/at most 2 recruits a day for a promoter's team/);
    // Nothing of the refused recruit was made; codes of its own and other promoters go on.
    const me = json(await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${mia}` } }));
    expect(me.subPromoters.map((p: any) => p.id)).toEqual(['lea', 'max']);
    expect((await t.app.inject({ method: 'POST', url: '/api/me/codes', headers: { authorization: `Bearer ${mia}` }, payload: { code: 'mia-tiktok' } })).statusCode).toBe(201);
    expect((await recruit(sam, 'ivy')).statusCode).toBe(201);
  });

  it('hold when the requests come all at once', async () => {
    const site = await withSite({ recruitsPerDay: 3 });
    const mia = json(await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: { authorization: `Bearer ${site}` }, payload: { name: 'mia', email: 'mia@example.com' } })).token as string;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        t.app.inject({ method: 'POST', url: '/api/me/codes', headers: { authorization: `Bearer ${mia}` }, payload: { code: `r${i}`, name: `r${i}`, email: `r${i}@example.com` } }),
      ),
    );
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(3);
    expect(answers.filter((a) => a.statusCode === 429)).toHaveLength(9);
    const me = json(await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${mia}` } }));
    expect(me.subPromoters).toHaveLength(3);
  });
});

describe("a promoter's recruit's welcome email", () => {
  it('never carries a link in the name the promoter gave (it is sent in the site name)', async () => {
    const site = await withSite({});
    const mia = json(await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: { authorization: `Bearer ${site}` }, payload: { name: 'mia', email: 'mia@example.com' } })).token as string;
    const recruit = (code: string, name: string) =>
      t.app.inject({ method: 'POST', url: '/api/me/codes', headers: { authorization: `Bearer ${mia}` }, payload: { code, name, email: `${code}@example.com` } });
    for (const [i, name] of ['Lea, your tickets are void: https://evil.example', 'Lea (see www.evil.example)', 'Lea, log in at evil-tickets.com now'].entries()) {
      const res = await recruit(`bad-${i}`, name);
      expect([res.statusCode, json(res).message]).toEqual([400, "name must be the recruit's name, without a link or web address"]);
    }
    for (const [i, name] of ['J.R.R. Tolkien', "Anne-Marie O'Neil", 'Dr. Co Li'].entries()) expect((await recruit(`good-${i}`, name)).statusCode).toBe(201);
    const me = json(await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${mia}` } }));
    // The refused ones left nothing behind.
    expect(me.subPromoters.flatMap((p: any) => p.codes.map((c: any) => c.code)).sort()).toEqual(['good-0', 'good-1', 'good-2']);
  });

  it('is sent after the budget is spent: a mail server that never answers holds up no other promoter', async () => {
    const silent = createServer(() => {}); // accepts, never greets
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const sockets: Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    try {
      t = await makeApp({ smtpUrl: `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}` });
      await t.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' } });
      const invite = async (name: string) => {
        // The organiser's invite mails too: let the silent server drop it at once.
        const pending = t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: { authorization: `Bearer ${ADMIN}` }, payload: { name, email: `${name}@example.com` } });
        await vi.waitFor(() => expect(sockets.length).toBeGreaterThan(0));
        sockets.splice(0).map((s) => s.destroy());
        return json(await pending).token as string;
      };
      const [mia, sam] = [await invite('mia'), await invite('sam')];
      const code = (token: string, payload: Record<string, string>) => t.app.inject({ method: 'POST', url: '/api/me/codes', headers: { authorization: `Bearer ${token}` }, payload });
      let answered = false;
      const recruit = code(mia, { code: 'lea', name: 'Lea', email: 'lea@example.com' }).finally(() => (answered = true));
      await vi.waitFor(() => expect(sockets.length).toBe(1));
      // Lea's welcome hangs on the mail server; Sam's new code does not wait for it.
      expect((await code(sam, { code: 'sam-tiktok' })).statusCode).toBe(201);
      expect(answered).toBe(false);
      sockets.splice(0).map((s) => s.destroy());
      expect(json(await recruit)).toMatchObject({ affiliate: { id: 'lea' }, code: 'lea', email: 'failed' });
    } finally {
      await new Promise((r) => silent.close(r));
    }
  });
});

describe("a promoter's new codes", () => {
  it('are capped a day per team, recruits included, all at once or not; the organiser is not', async () => {
    const site = await withSite({ codesPerDay: 4 });
    const mia = json(await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: { authorization: `Bearer ${site}` }, payload: { name: 'mia', email: 'mia@example.com', code: 'mia' } })).token as string;
    const code = (token: string, payload: Record<string, string>) => t.app.inject({ method: 'POST', url: '/api/me/codes', headers: { authorization: `Bearer ${token}` }, payload });
    // The invite's code counts: 3 more today, one of them a recruit's.
    expect((await code(mia, { code: 'lea', name: 'Lea', email: 'lea@example.com' })).statusCode).toBe(201);
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((c) => code(mia, { code: `mia-${c}` })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 201, 429, 429]);
    expect(json(answers.find((a) => a.statusCode === 429)!).message).toMatch(/^at most 4 new codes a day for a promoter's team/);
    // Tomorrow the team may again; the organiser never waited.
    const organiser = await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: { authorization: `Bearer ${site}` }, payload: { code: 'mia-print', affiliate: 'mia' } });
    expect(organiser.statusCode).toBe(201);
    t.clock.now += 24 * 3600_000 + 1;
    expect((await code(mia, { code: 'mia-e' })).statusCode).toBe(201);
  });
});
