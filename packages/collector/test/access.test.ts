import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, json, setup, type TestApp } from './helper.js';

let t: TestApp;
let other: string;
beforeEach(async () => {
  t = await setup();
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/sites',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { id: 'rival', name: 'Rival', url: 'https://rival.example.org' },
  });
  other = json(res).token;
});
afterEach(() => t.close());

const get = (url: string, token?: string) =>
  t.app.inject({ method: 'GET', url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

describe('tokens', () => {
  it("a site's token can be replaced, by itself or the operator: the old one stops working at once", async () => {
    const rotate = (token: string, site = 'acme') => t.app.inject({ method: 'POST', url: `/api/sites/${site}/token`, headers: { authorization: `Bearer ${token}` } });
    const res = await rotate(t.token);
    expect(res.statusCode).toBe(200);
    const fresh = json(res).token as string;
    expect(fresh).toMatch(/^lts_/);
    expect((await get('/api/sites/acme', t.token)).statusCode).toBe(401);
    expect((await get('/api/sites/acme', fresh)).statusCode).toBe(200);
    // Another site's token can't; the operator can, for a site that lost its own.
    expect((await rotate(other)).statusCode).toBe(404);
    const byOperator = json(await rotate(ADMIN));
    expect((await get('/api/sites/acme', fresh)).statusCode).toBe(401);
    expect((await get('/api/sites/acme', byOperator.token)).statusCode).toBe(200);
    expect((await get('/api/sites/rival', other)).statusCode).toBe(200);
  });

  it('a missing token is a 401', async () => {
    const res = await get('/api/sites/acme');
    expect(res.statusCode).toBe(401);
    expect(json(res).error).toBe('unauthorized');
  });

  it('a wrong token is a 401', async () => {
    expect((await get('/api/sites/acme', 'lts_not-a-real-token')).statusCode).toBe(401);
  });

  it('a malformed Authorization header is a 401', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme', headers: { authorization: 'Basic abc' } });
    expect(res.statusCode).toBe(401);
  });

  it.each(['bearer', 'BEARER', 'Bearer '])('the scheme is case-insensitive, as HTTP says: %j', async (scheme) => {
    const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme', headers: { authorization: `${scheme} ${t.token}` } });
    expect(res.statusCode).toBe(200);
  });

  it("a site token reads its own site, and gets a 404 for another's without learning it exists", async () => {
    expect((await get('/api/sites/acme', t.token)).statusCode).toBe(200);
    const theirs = await get('/api/sites/acme/report?by=code', other);
    const missing = await get('/api/sites/ghost/report?by=code', other);
    expect([theirs.statusCode, missing.statusCode]).toEqual([404, 404]);
    expect(json(theirs).message.replace('acme', 'X')).toBe(json(missing).message.replace('ghost', 'X'));
  });

  it('only the operator creates sites', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/sites', headers: t.auth, payload: { id: 'x', name: 'x', url: 'https://x.example' } });
    expect(res.statusCode).toBe(403);
  });

  it('the operator reads any site', async () => {
    expect((await get('/api/sites/rival', ADMIN)).statusCode).toBe(200);
  });

  it('an unauthenticated request is refused before its body is looked at', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/sites/acme/conversions', payload: '{broken' , headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(401);
  });

  it('tokens are stored only as hashes', async () => {
    const rows = (await t.sql('SELECT token_hash FROM sites')) as Array<{ token_hash: string }>;
    expect(rows.some((r) => r.token_hash.includes(t.token))).toBe(false);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash))).toBe(true);
  });
});
