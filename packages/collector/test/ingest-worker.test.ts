// The ingest worker (dist/ingest-worker.js: a worker thread runs compiled code only, so this
// test uses the build, which `npm test` makes first). One scenario, played once with the
// public traffic on the worker and once on the main thread: answers, cookies and stored rows
// must be the same, and closing the app must leave every answered request stored.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../dist/app.js';
import { createSqliteStore } from '../dist/db/sqlite-store.js';
import { startIngestWorker } from '../dist/ingest-worker.js';

const ADMIN = 'worker-test-admin-token-0123456789';
const SECRET = 'worker-test-cookie-secret-0123456789-abcdef';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const dir = mkdtempSync(join(tmpdir(), 'linktrail-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function play(mode: 'worker' | 'main') {
  const file = join(dir, `${mode}.db`);
  const store = createSqliteStore(file, 'commit');
  const ingest = mode === 'worker' ? await startIngestWorker({ file, sync: 'commit', cookieSecret: SECRET }) : undefined;
  const changes = () => store.db.prepare('SELECT total_changes()').pluck().get() as number;
  const changesBefore = changes();
  let now = Date.UTC(2026, 5, 1, 12);
  const app = await buildApp({ store, ingest, adminToken: ADMIN, cookieSecret: SECRET, now: () => now, rateLimits: { publicPerMinute: 0 } });
  const call = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method, url, payload: payload as string, headers: { 'user-agent': BROWSER, ...headers } });
  const admin = { authorization: `Bearer ${ADMIN}` };
  const created = await call('POST', '/api/sites', { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' }, admin);
  const auth = { authorization: `Bearer ${created.json().token}` };
  await call('POST', '/api/sites/acme/affiliates', { id: 'mia', name: 'Mia', email: 'mia@example.com' }, auth);
  await call('POST', '/api/sites/acme/codes', { code: 'mia', affiliate: 'mia' }, auth);

  const pageview = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    call('POST', '/collect', JSON.stringify({ site: 'acme', ...body }), { 'content-type': 'text/plain;charset=UTF-8', accept: 'application/json', ...headers });
  const seen: unknown[] = [];
  const keep = (res: { statusCode: number; body: string; headers: Record<string, unknown> }) =>
    seen.push([res.statusCode, res.headers['x-linktrail-error'] ?? null, res.headers['content-type'], res.statusCode === 200 && res.headers['content-type']?.toString().includes('json') ? { ...JSON.parse(res.body), cid: '·' } : res.body.slice(0, 80)]);

  // A promoter's link, the same visitor again, its cookie on the next page and on the pixel.
  const landing = await pageview({ vid: 'visitor-aaaa', url: 'https://tickets.example.com/e/fest?affiliate=mia', referrer: 'https://www.instagram.com/' });
  keep(landing);
  const cookie = landing.cookies.find((c) => c.name === 'lt_vid')!;
  expect(cookie.value).toMatch(/^visitor-aaaa\./);
  now += 60_000;
  keep(await pageview({ vid: 'someone-else', url: 'https://tickets.example.com/e/fest/seats' }, { cookie: `lt_vid=${cookie.value}` }));
  // Server-side hits share the visit map: a minute later, the same visit.
  now += 60_000;
  const hits = await call('POST', '/api/sites/acme/hits', { hits: [{ vid: 'visitor-aaaa', url: 'https://tickets.example.com/e/fest/checkout' }] }, auth);
  expect(hits.statusCode).toBe(202);
  now += 60_000;
  const pixel = await call('GET', '/p.gif?site=acme&order=A1&value=45.00&currency=EUR&item=day:1:45.00', undefined, { cookie: `lt_vid=${cookie.value}` });
  keep(pixel);
  keep(await pageview({ kind: 'conversion', order: 'S1', value: '10.00', vid: 'visitor-bbbb' }));
  keep(await call('GET', `/collect.gif?d=${encodeURIComponent(JSON.stringify({ site: 'acme', vid: 'visitor-cccc', url: 'https://tickets.example.com/' }))}`));
  // A shortlink followed by a person and fetched by a preview bot; a server postback, twice.
  keep(await call('GET', '/r/mia'));
  keep(await call('GET', '/r/mia', undefined, { 'user-agent': 'WhatsApp/2.23.20.0' }));
  const postback = { order: 'P1', value: '30.00', currency: 'EUR', vid: 'visitor-aaaa' };
  const first = await call('POST', '/api/sites/acme/conversions', postback, auth);
  const again = await call('POST', '/api/sites/acme/conversions', postback, auth);
  seen.push([first.statusCode, again.statusCode, first.json().conversion.attribution.link?.code, again.json().conversion.order]);
  // A crawler is stored but never a visit.
  keep(await pageview({ vid: 'crawler-0001', url: 'https://tickets.example.com/' }, { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' }));
  // Bad input: a 4xx naming it, from either thread.
  keep(await pageview({ vid: 'visitor-dddd' }));
  keep(await call('POST', '/collect', '{"site":', { 'content-type': 'application/json' }));
  keep(await call('POST', '/collect', '{"site":"acme","vid":"visitor-eeee","url":"https://a.b/","__proto__":{"x":1}}', { 'content-type': 'text/plain' }));
  keep(await pageview({ site: 'ghost', vid: 'visitor-ffff', url: 'https://tickets.example.com/' }));
  keep(await call('GET', '/p.gif?site=acme&order=A2&value=12.345&currency=EUR'));
  keep(await call('GET', '/p.gif?site=ghost&order=A3&value=1'));
  keep(await call('GET', '/collect.gif?d=%7Bnope'));
  // A settings change reaches the worker's copy of the site at once.
  await call('POST', '/api/sites/acme/settings', { honorGpc: true }, auth);
  keep(await pageview({ vid: 'visitor-gggg', url: 'https://tickets.example.com/' }, { 'sec-gpc': '1' }));

  const report = (await call('GET', '/api/sites/acme/report?by=code', undefined, auth)).json();
  const conversion = (await call('GET', '/api/sites/acme/conversions/A1', undefined, auth)).json();
  // Rows the main thread's own connection changed: none when the worker is the one writer.
  const mainWrites = changes() - changesBefore;
  await app.close();
  const db = new Database(file, { readonly: true });
  const rows = {
    hits: db.prepare('SELECT vid, channel, code, visit, click, url FROM hits ORDER BY ts, vid').all(),
    visits: db.prepare('SELECT vid, channel, source, code FROM visits ORDER BY ts, vid').all(),
    conversions: db.prepare('SELECT order_id, value_minor, vid, link_code FROM conversions ORDER BY order_id').all(),
    clicks: db.prepare('SELECT code, kind, vid FROM clicks ORDER BY ts, kind').all(),
  };
  db.close();
  return { seen, report, link: conversion.attribution.link?.code, rows, mainWrites };
}

describe('the ingest worker', () => {
  it('answers every request still in flight when closed, and stores each', async () => {
    const file = join(dir, 'close.db');
    const store = createSqliteStore(file, 'disk');
    const ingest = await startIngestWorker({ file, sync: 'disk', cookieSecret: SECRET });
    const click = (i: number) => ({ siteId: 'acme', cid: `close-test-click-${i}`, ts: Date.now(), vid: null, code: 'mia', event: null, kind: 'click' as const });
    // Some already sent to the worker, the last ones still waiting for this turn's message.
    const answers = Array.from({ length: 20 }, (_, i) => ingest.run({ kind: 'click', click: click(i) }));
    await ingest.close();
    expect((await Promise.allSettled(answers)).map((a) => a.status)).toEqual(Array(20).fill('fulfilled'));
    await store.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM clicks').pluck().get()).toBe(20);
    db.close();
  });

  it('answers and stores exactly what the main thread does, and drains on close', async () => {
    const worker = await play('worker');
    const main = await play('main');
    expect(worker.mainWrites).toBe(0);
    expect(main.mainWrites).toBeGreaterThan(10);
    expect(worker.seen).toEqual(main.seen);
    expect(worker.rows).toEqual(main.rows);
    expect(worker.report).toEqual(main.report);
    // And what it stores is right, not only the same.
    expect(worker.link).toBe('mia');
    expect(worker.rows.visits).toHaveLength(2);
    expect(worker.rows.hits.map((h) => (h as { vid: string }).vid)).toEqual(['visitor-aaaa', 'visitor-aaaa', 'visitor-aaaa', 'crawler-0001', 'visitor-cccc']);
    expect(worker.rows.conversions).toHaveLength(3);
    expect(worker.rows.clicks).toEqual([
      { code: 'mia', kind: 'click', vid: 'visitor-aaaa' },
      { code: 'mia', kind: 'click', vid: null },
      { code: 'mia', kind: 'preview', vid: null },
    ]);
    const statuses = worker.seen.map((s) => (s as unknown[])[0]);
    expect(statuses).toEqual([200, 200, 200, 204, 200, 302, 302, 201, 200, 400, 400, 400, 404, 400, 400, 400, 204]);
  }, 30_000);
});
