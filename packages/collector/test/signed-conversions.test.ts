import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, BROWSER_UA, json, setup, type TestApp } from './helper.js';

let t: TestApp;
let secret: string;
beforeEach(async () => {
  t = await setup();
  const res = await settings({ requireSignedConversions: true });
  secret = json(res).conversionSecret;
});
afterEach(() => t.close());

const settings = (payload: object) => t.app.inject({ method: 'POST', url: '/api/sites/acme/settings', headers: t.auth, payload });
const sign = (text: string, key = secret) => createHmac('sha256', key).update(text).digest('hex');
const postback = (body: object) => t.app.inject({ method: 'POST', url: '/api/sites/acme/conversions', headers: t.auth, payload: body });
const pixel = (query: string) => t.app.inject({ method: 'GET', url: `/p.gif?site=acme&${query}`, headers: { 'user-agent': BROWSER_UA } });
const orders = async () => (await t.sql('SELECT order_id FROM conversions ORDER BY order_id')).map((r) => r.order_id);

describe('signed conversions', () => {
  it('turning the setting on answers the secret once; the site shows the setting, never the secret', async () => {
    expect(secret).toMatch(/^ltc_[\w-]{40,}$/);
    const site = json(await t.app.inject({ method: 'GET', url: '/api/sites/acme', headers: t.auth }));
    expect(site.site.requireSignedConversions).toBe(true);
    expect(JSON.stringify(site)).not.toContain(secret);
    const again = await settings({ requireSignedConversions: true });
    expect(json(again).conversionSecret).toBeUndefined();
  });

  it('a postback signed over "order\\nvalue\\ncurrency" is recorded', async () => {
    const res = await postback({ order: 'A-1', value: '45', currency: 'eur', sig: sign('A-1\n45.00\nEUR') });
    expect(res.statusCode).toBe(201);
    expect(await orders()).toEqual(['A-1']);
  });

  it('signs the canonical amount: JPY without decimals, items summed when value is omitted', async () => {
    expect((await postback({ order: 'J-1', value: '4500', currency: 'JPY', sig: sign('J-1\n4500\nJPY') })).statusCode).toBe(201);
    const items = [{ type: 'day', qty: 2, price: '45.00' }];
    expect((await postback({ order: 'I-1', items, sig: sign('I-1\n90.00\nEUR') })).statusCode).toBe(201);
  });

  it('refuses an unsigned, forged or tampered postback with a 401 saying what to sign', async () => {
    const missing = await postback({ order: 'A-1', value: '45.00' });
    expect(missing.statusCode).toBe(401);
    expect(json(missing)).toMatchObject({ error: 'signature_required', message: expect.stringMatching(/sig is required/) });
    const tampered = await postback({ order: 'A-1', value: '4500.00', sig: sign('A-1\n45.00\nEUR') });
    expect(tampered.statusCode).toBe(401);
    expect(json(tampered)).toMatchObject({ error: 'bad_signature', message: expect.stringContaining('"A-1\\n4500.00\\nEUR"') });
    const forged = await postback({ order: 'A-1', value: '45.00', sig: sign('A-1\n45.00\nEUR', 'ltc_guessed') });
    expect(forged.statusCode).toBe(401);
    expect(await orders()).toEqual([]);
  });

  it('a malformed sig is a 400 naming the field', async () => {
    const res = await postback({ order: 'A-1', value: '45.00', sig: 'abc' });
    expect(res.statusCode).toBe(400);
    expect(json(res).message).toMatch(/sig/);
  });

  it('pixels: a signed one records the order, an unsigned one answers a 400 GIF with the reason', async () => {
    const ok = await pixel(`order=P-1&value=45.00&sig=${sign('P-1\n45.00\nEUR')}`);
    expect(ok.statusCode).toBe(200);
    const bad = await pixel('order=P-2&value=45.00');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toBe('image/gif');
    expect(bad.headers['x-linktrail-error']).toMatch(/sig is required/);
    expect(await orders()).toEqual(['P-1']);
  });

  it('script conversions through /collect need the sig too', async () => {
    const send = (body: object) =>
      t.app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA }, payload: JSON.stringify({ site: 'acme', kind: 'conversion', ...body }) });
    expect((await send({ order: 'S-1', value: '10.00' })).statusCode).toBe(401);
    expect((await send({ order: 'S-1', value: '10.00', sig: sign('S-1\n10.00\nEUR') })).statusCode).toBe(204);
    expect(await orders()).toEqual(['S-1']);
  });

  it('rotating the secret makes the old one stop working at once', async () => {
    const rotated = json(await settings({ rotateConversionSecret: true })).conversionSecret;
    expect(rotated).not.toBe(secret);
    expect((await postback({ order: 'A-1', value: '45.00', sig: sign('A-1\n45.00\nEUR') })).statusCode).toBe(401);
    expect((await postback({ order: 'A-1', value: '45.00', sig: sign('A-1\n45.00\nEUR', rotated) })).statusCode).toBe(201);
  });

  it('turned off, unsigned conversions are accepted again; turned on again, a new secret is issued', async () => {
    await settings({ requireSignedConversions: false });
    expect((await postback({ order: 'A-1', value: '45.00' })).statusCode).toBe(201);
    const fresh = json(await settings({ requireSignedConversions: true })).conversionSecret;
    expect(fresh).toMatch(/^ltc_/);
    expect(fresh).not.toBe(secret);
  });

  it('a site can require signatures from its creation', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'fest', name: 'Fest', url: 'https://fest.example', requireSignedConversions: true } });
    expect(res.statusCode).toBe(201);
    expect(json(res).conversionSecret).toMatch(/^ltc_/);
    expect(json(res).site.requireSignedConversions).toBe(true);
  });

  it('rotating without the setting on, an empty body or a misspelt setting is a 400', async () => {
    await settings({ requireSignedConversions: false });
    expect((await settings({ rotateConversionSecret: true })).statusCode).toBe(400);
    expect((await settings({})).statusCode).toBe(400);
    const typo = await settings({ honourGpc: true });
    expect(typo.statusCode).toBe(400);
    expect(json(typo).message).toBe('body has an unknown field "honourGpc"');
  });

  it('keeps the secret in the database, where the server verifies signatures with it', async () => {
    expect(await t.sql('SELECT conversion_secret FROM sites WHERE id = ?', 'acme')).toEqual([{ conversion_secret: secret }]);
  });
});
