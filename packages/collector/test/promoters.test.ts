import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, EVENT_URL, MINUTE, json, makeApp, pageview, postback, type TestApp } from './helper.js';

interface Mail { to: string[]; data: string }
/** The message as a reader sees it (quoted-printable decoded). */
const readable = (m: Mail) =>
  Buffer.from(m.data.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
let smtp: SMTPServer;
let smtpUrl = '';
const inbox: Mail[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      let data = '';
      stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
      stream.on('end', () => {
        inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

let t: TestApp;
beforeEach(async () => {
  inbox.length = 0;
  const base = await makeApp({ smtpUrl, mailFrom: 'Acme Tickets <tickets@acme.example>' });
  const res = await base.app.inject({
    method: 'POST',
    url: '/api/sites',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { id: 'acme', name: 'Acme Events', url: 'https://tickets.example.com', platformHosts: ['example.com'] },
  });
  const token = json(res).token as string;
  t = { ...base, token, site: 'acme', auth: { authorization: `Bearer ${token}` } };
});
afterEach(() => t.close());

const inviteMia = () =>
  t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { name: 'Mia Lopez', email: 'mia@example.com', nickname: 'mia' } });
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const meReport = async (token: string, by = 'code') => json(await t.app.inject({ method: 'GET', url: `/api/me/report?by=${by}`, headers: as(token) }));

describe('inviting a promoter', () => {
  it('creates the affiliate, a code and a token, and emails the link and the access link over SMTP', async () => {
    const res = await inviteMia();
    expect(res.statusCode).toBe(201);
    const body = json(res);
    expect(body).toMatchObject({
      affiliate: { id: 'mia', name: 'Mia Lopez', email: 'mia@example.com' },
      code: 'mia',
      link: 'https://tickets.example.com/?affiliate=mia',
      shortlink: 'http://t.example.com/r/mia',
      email: 'sent',
    });
    expect(body.token).toMatch(/^ltp_/);
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.to).toEqual(['mia@example.com']);
    const text = readable(inbox[0]!);
    expect(text).toContain('http://t.example.com/r/mia');
    expect(text).toContain(`http://t.example.com/promoter#token=${body.token}`);
    expect(text).toMatch(/^From: Acme Tickets <tickets@acme\.example>/m);
  });

  it('re-inviting an existing affiliate reuses their code and replaces their token', async () => {
    const first = json(await inviteMia());
    const again = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { affiliate: 'mia' } });
    expect(json(again)).toMatchObject({ code: 'mia' });
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: as(first.token) })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: as(json(again).token) })).statusCode).toBe(200);
  });

  it.each([
    [{ name: 'Mia\r\nBcc: all@example.com', email: 'mia@example.com' }, /name/],
    [{ name: 'Mia', email: 'mia@example.com\r\nBcc: all@example.com' }, /email/],
    [{ name: 'Mia', email: 'not-an-email' }, /email/],
    [{ name: 'Mia' }, /email|affiliate/],
    [{ affiliate: 'ghost' }, /ghost/],
  ])('refuses %j and sends nothing', async (payload, message) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(json(res).message).toMatch(message);
    expect(inbox).toHaveLength(0);
  });

  it('names a code after the promoter only if that name never came in unregistered: its past sales stay out', async () => {
    await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}?affiliate=mia` });
    t.clock.advance(MINUTE);
    await postback(t, { order: 'U1', vid: 'visitor-ana1', value: '70.00' });
    const invited = json(await inviteMia());
    expect(invited.code).toMatch(/^mia-[a-z0-9]+$/);
    expect((await meReport(invited.token)).totals).toMatchObject({ visits: 0, clicks: 0, orders: 0 });
    // The organiser may still give it to Mia on purpose, past sales and all.
    const named = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { affiliate: 'mia', code: 'mia' } });
    expect(named.statusCode).toBe(201);
    expect((await meReport(json(named).token)).totals).toMatchObject({ orders: 1, revenue: { EUR: 7000 } });
  });

  it('a code that collides by case with another promoter is a 409, and nothing is created', async () => {
    await inviteMia();
    const res = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { name: 'Sam', email: 'sam@example.com', code: 'MIA' } });
    expect(res.statusCode).toBe(409);
    const list = json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/affiliates', headers: t.auth }));
    expect(list.affiliates.map((a: any) => a.id)).toEqual(['mia']);
  });
});

describe("a promoter's token", () => {
  let mia: string;
  beforeEach(async () => {
    mia = json(await inviteMia()).token;
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { name: 'Sam', email: 'sam@example.com', code: 'sam' } });
    // One sale through each promoter, and one that came from Google.
    await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}?affiliate=mia`, referrer: 'https://l.instagram.com/' });
    await pageview(t, { vid: 'visitor-bo11', url: `${EVENT_URL}?affiliate=sam` });
    await pageview(t, { vid: 'visitor-cy11', url: EVENT_URL, referrer: 'https://www.google.com/' });
    t.clock.advance(MINUTE);
    await postback(t, { order: 'A1', vid: 'visitor-ana1', value: '45.00', customer: 'ana@example.com' });
    await postback(t, { order: 'B1', vid: 'visitor-bo11', value: '90.00' });
    await postback(t, { order: 'C1', vid: 'visitor-cy11', value: '20.00' });
  });

  it('reads only its own codes and figures: no other promoter, no overall totals', async () => {
    const r = await meReport(mia);
    expect(r.rows.map((x: any) => x.key)).toEqual(['mia']);
    expect(r.totals).toMatchObject({ orders: 1, revenue: { EUR: 4500 }, clicks: 1 });
    const byChannel = await meReport(mia, 'channel');
    expect(byChannel.totals.orders).toBe(1);
    expect(JSON.stringify(byChannel)).not.toContain('google');
  });

  it('GET /api/me lists its codes with links, and no buyer data', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/me', headers: as(mia) });
    expect(json(res)).toMatchObject({ affiliate: { id: 'mia' }, codes: [{ code: 'mia', shortlink: 'http://t.example.com/r/mia' }], subPromoters: [] });
    expect(res.body).not.toContain('ana@example.com');
  });

  it('cannot use the organiser API', async () => {
    for (const url of ['/api/sites/acme/report?by=code', '/api/sites/acme/conversions/A1', '/api/sites/acme/codes']) {
      expect((await t.app.inject({ method: 'GET', url, headers: as(mia) })).statusCode).toBe(403);
    }
  });

  it('creates codes for its own channels', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/me/codes', headers: as(mia), payload: { code: 'Mia-TikTok' } });
    expect(res.statusCode).toBe(201);
    expect(json(res)).toMatchObject({ code: 'mia-tiktok', shortlink: 'http://t.example.com/r/mia-tiktok' });
    expect((await t.app.inject({ method: 'POST', url: '/api/me/codes', headers: as(mia), payload: { code: 'SAM' } })).statusCode).toBe(409);
  });

  it('cannot claim a code that already brought visits before anyone registered it', async () => {
    await pageview(t, { vid: 'visitor-radio', url: `${EVENT_URL}?affiliate=radio` });
    await postback(t, { order: 'R1', vid: 'visitor-radio', value: '100.00' });
    const res = await t.app.inject({ method: 'POST', url: '/api/me/codes', headers: as(mia), payload: { code: 'Radio' } });
    expect(res.statusCode).toBe(409);
    expect(json(res).message).toMatch(/radio has already been used/);
    expect((await meReport(mia)).totals.orders).toBe(1);
    // The organiser may still register it for whoever ran that campaign.
    expect((await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'radio' } })).statusCode).toBe(201);
  });

  it('recruits a sub-promoter whose sales roll up to it, while the recruit sees only their own', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/me/codes', headers: as(mia), payload: { code: 'lea', name: 'Lea', email: 'lea@example.com' } });
    expect(res.statusCode).toBe(201);
    expect(json(res)).toMatchObject({ affiliate: { id: 'lea', parent: 'mia' }, code: 'lea', email: 'sent' });
    expect(json(res).token).toBeUndefined();
    const leaToken = /promoter#token=(\S+)/.exec(readable(inbox.at(-1)!))![1]!;
    await pageview(t, { vid: 'visitor-di11', url: `${EVENT_URL}?affiliate=lea` });
    await postback(t, { order: 'D1', vid: 'visitor-di11', value: '10.00' });
    expect((await meReport(mia)).totals).toMatchObject({ orders: 2, revenue: { EUR: 5500 } });
    expect((await meReport(leaToken)).totals).toMatchObject({ orders: 1, revenue: { EUR: 1000 } });
    const organiser = json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/report?by=affiliate', headers: t.auth }));
    const row = organiser.rows.find((x: any) => x.key === 'mia');
    expect(row).toMatchObject({ orders: 1, parent: null, team: { orders: 2, revenue: { EUR: 5500 } } });
    expect(organiser.rows.find((x: any) => x.key === 'lea')).toMatchObject({ orders: 1, parent: 'mia' });
    // The recruit sees their own row only: not who recruited them.
    const leaView = await meReport(leaToken, 'affiliate');
    expect(leaView.rows.map((x: any) => [x.key, x.parent])).toEqual([['lea', null]]);
    expect(JSON.stringify(leaView)).not.toContain('mia');
  });

  it('a wrong or missing token is a 401, checked before the query or body', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: as('ltp_wrong') })).statusCode).toBe(401);
    for (const headers of [{}, as('ltp_wrong')]) {
      expect((await t.app.inject({ method: 'GET', url: '/api/me/report', headers })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'POST', url: '/api/me/codes', headers, payload: { bogus: 1 } })).statusCode).toBe(401);
    }
    // With the token, the same requests are refused for what they hold.
    expect((await t.app.inject({ method: 'GET', url: '/api/me/report', headers: as(mia) })).statusCode).toBe(400);
  });

  it("a recruit's own recruits count in the same team's budget, kept in the store", async () => {
    await t.close();
    // An app whose team budget is 2 recruits a day, over its own store.
    const base = await makeApp({ smtpUrl, rateLimits: { recruitsPerDay: 2 } });
    const site = json(await base.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' } })).token;
    t = { ...base, token: site, site: 'acme', auth: { authorization: `Bearer ${site}` } };
    const root = json(await inviteMia()).token;
    const recruit = (token: string, code: string) =>
      t.app.inject({ method: 'POST', url: '/api/me/codes', headers: as(token), payload: { code, name: code, email: `${code}@example.com` } });
    expect((await recruit(root, 'lea')).statusCode).toBe(201);
    const lea = /promoter#token=(\S+)/.exec(readable(inbox.at(-1)!))![1]!;
    expect((await recruit(lea, 'max')).statusCode).toBe(201);
    // The team (Mia, Lea, Max) has used its two: neither Lea nor Mia may recruit more today.
    expect((await recruit(lea, 'zoe')).statusCode).toBe(429);
    expect((await recruit(root, 'ivy')).statusCode).toBe(429);
    // Another promoter's team has its own budget.
    const sam = json(await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { name: 'Sam', email: 'sam@example.com' } })).token;
    expect((await recruit(sam, 'kai')).statusCode).toBe(201);
  });

  it("a recruit's /api/me does not name who recruited them", async () => {
    await t.app.inject({ method: 'POST', url: '/api/me/codes', headers: as(mia), payload: { code: 'lea', name: 'Lea', email: 'lea@example.com' } });
    const leaToken = /promoter#token=(\S+)/.exec(readable(inbox.at(-1)!))![1]!;
    const lea = json(await t.app.inject({ method: 'GET', url: '/api/me', headers: as(leaToken) }));
    expect(lea.affiliate).toMatchObject({ id: 'lea', parent: null });
    expect(JSON.stringify(lea)).not.toContain('mia');
  });

  it('the organiser can end its access at once; its figures stay, and a new invite gives a new token', async () => {
    const revoke = (id: string, headers = t.auth) => t.app.inject({ method: 'DELETE', url: `/api/sites/acme/promoters/${id}/token`, headers });
    expect((await revoke('mia', as(mia))).statusCode).toBe(403);
    expect((await revoke('ghost')).statusCode).toBe(404);
    expect((await revoke('no%20such')).statusCode).toBe(400);
    expect((await revoke('mia')).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: as(mia) })).statusCode).toBe(401);
    const organiser = json(await t.app.inject({ method: 'GET', url: '/api/sites/acme/report?by=code', headers: t.auth }));
    expect(organiser.rows.find((x: any) => x.key === 'mia')).toMatchObject({ orders: 1 });
    const again = json(await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { affiliate: 'mia' } }));
    expect((await meReport(again.token)).totals).toMatchObject({ orders: 1 });
  });

  it('a site token cannot read /api/me', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: t.auth })).statusCode).toBe(403);
  });
});

describe('the promoter page', () => {
  it('is served at /promoter and never leaks the token in a referrer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/promoter' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.body).toContain('/api/me/report');
  });
});
