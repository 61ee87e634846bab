// The report worker (dist/report-worker.js: a worker thread runs compiled code only, so this
// test uses the build, which `npm test` makes first): the same answers as the store gives on
// the calling thread, while that thread's event loop keeps turning.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../dist/app.js';
import { createSqliteStore } from '../dist/db/sqlite-store.js';
import { limitRawReports, RAW_REPORTS, readingThrough, reportWorker } from '../dist/report-worker.js';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'linktrail-reports-'));
const file = join(dir, 'db.sqlite');
const to = Date.UTC(2026, 5, 1);
const from = to - 30 * DAY;
let store: ReturnType<typeof createSqliteStore>;

beforeAll(async () => {
  store = createSqliteStore(file, 'commit');
  await store.createSite({ id: 's', name: 'S', url: 'https://s.example', platformHosts: [], windowDays: 28, currency: 'EUR', honorGpc: false, requireSignedConversions: false, createdAt: 0 }, 'x');
  // Raw visits and orders over 30 days (the rollups stay empty: reports by two dimensions no
  // rollup holds read these), enough that a report takes a while.
  const db = store.db;
  db.transaction(() => {
    const visit = db.prepare(`INSERT INTO visits (site_id, ts, vid, channel, source, code, touch) VALUES ('s', ?, ?, ?, ?, ?, 1)`);
    const order = db.prepare(`INSERT INTO conversions (site_id, order_id, ts, type, currency, value_minor, tickets, new_customer, link_code, channel, source, rule, candidates, created_at)
      VALUES ('s', ?, ?, 'purchase', 'EUR', 4500, 2, 0, ?, ?, ?, 'x', '[]', 0)`);
    const channels = ['affiliate', 'social', 'search', 'email'];
    for (let i = 0; i < 60_000; i++) {
      const channel = channels[i % 4]!;
      const code = channel === 'affiliate' ? `promo-${i % 40}` : null;
      visit.run(from + ((i * 7919) % (30 * DAY)), `v${i % 25_000}`, channel, `site-${i % 30}.example`, code);
      if (i % 20 === 0) order.run(`o${i}`, from + ((i * 104_729) % (30 * DAY)), code, channel, `site-${i % 30}.example`);
    }
  })();
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reports on the report worker', () => {
  const queries = [
    { dims: ['code', 'channel'], from, to, event: null },
    { dims: ['source', 'code'], from, to, event: null },
    { dims: ['channel', 'utm_source'], from, to, event: null },
  ] as const;

  it('answer what the store answers on this thread', async () => {
    const reader = reportWorker(file);
    for (const q of queries) {
      const mine = await store.report('s', { ...q, dims: [...q.dims] });
      expect(mine.rows.length).toBeGreaterThan(1);
      expect(await reader.report('s', { ...q, dims: [...q.dims] })).toEqual(mine);
    }
    await reader.close();
  });

  it("leave this thread's event loop turning while they read", async () => {
    const q = { ...queries[0], dims: [...queries[0].dims] };
    /** Event-loop turns taken while `report` was out. */
    const turnsDuring = async (report: () => Promise<unknown>) => {
      let turns = 0;
      let out = true;
      const tick = () => {
        turns++;
        if (out) setImmediate(tick);
      };
      setImmediate(tick);
      await report();
      out = false;
      return turns;
    };
    // On this thread, better-sqlite3 reads synchronously: no turn until the answer.
    expect(await turnsDuring(() => store.report('s', q))).toBe(0);
    const reader = reportWorker(file);
    await reader.report('s', q); // started, and warmed up
    expect(await turnsDuring(() => reader.report('s', q))).toBeGreaterThan(0);
    await reader.close();
  });

  it('fail what is out when closed, start again on the next report, and close with the store', async () => {
    const reader = reportWorker(file);
    const out = expect(reader.report('s', { ...queries[0], dims: [...queries[0].dims] })).rejects.toThrow(/closing/);
    await reader.close();
    await out;
    expect((await reader.report('s', { ...queries[2], dims: [...queries[2].dims] })).rows.length).toBeGreaterThan(1);
    const wrapped = readingThrough(reader, createSqliteStore(file, 'commit'));
    const pending = expect(wrapped.report('s', { ...queries[0], dims: [...queries[0].dims] })).rejects.toThrow(/closing/);
    await wrapped.close();
    await pending;
  });

  it('answer a rollup report while a raw one is still reading', async () => {
    const reader = reportWorker(file);
    const rawQuery = { ...queries[0], dims: [...queries[0].dims] };
    const rollupQuery = { dims: ['code' as const], from, to, event: null };
    // Both threads started and warm.
    await Promise.all([reader.report('s', rawQuery), reader.report('s', rollupQuery)]);
    let rawDone = false;
    const raw = reader.report('s', rawQuery).then(() => (rawDone = true));
    await reader.report('s', rollupQuery);
    // On one thread the rollup report would have waited for the raw one.
    expect(rawDone).toBe(false);
    await raw;
    await reader.close();
  });

  it('refuse reports of raw rows past a few under way, with 429 and a reason, and take them again after', async () => {
    const reader = reportWorker(file);
    const rawQuery = () => ({ ...queries[0], dims: [...queries[0].dims] });
    const running = Array.from({ length: RAW_REPORTS.perSite }, () => reader.report('s', rawQuery()));
    const refused = await reader.report('s', rawQuery()).catch((e: unknown) => e);
    expect(refused).toMatchObject({ statusCode: 429, code: 'reports_busy', headers: { 'retry-after': '5' } });
    expect((refused as Error).message).toMatch(/^2 of your reports that read raw rows are under way; retry/);
    // Another site still has its share (started at once: the first may finish meanwhile on a busy machine).
    const others = ['a', 'b', 'c'].flatMap((site) => Array.from({ length: RAW_REPORTS.perSite }, () => reader.report(site, rawQuery())));
    expect(running.length + others.length).toBe(RAW_REPORTS.all);
    const full = await reader.report('d', rawQuery()).catch((e: unknown) => e);
    expect(full).toMatchObject({ statusCode: 429, code: 'reports_busy' });
    expect((full as Error).message).toMatch(/^8 reports that read raw rows/);
    // Rollup reports are never refused.
    await reader.report('s', { dims: ['code'], from, to, event: null });
    await Promise.all([...running, ...others]);
    expect((await reader.report('s', rawQuery())).rows.length).toBeGreaterThan(1);
    await reader.close();
  });

  it("give each promoter one report of raw rows at a time, whatever their codes, apart from the organiser's share", async () => {
    const reader = reportWorker(file);
    const rawQuery = (promoter?: string, codes = ['promo-4']) => ({ ...queries[0], dims: [...queries[0].dims], ...(promoter ? { codes, promoter } : {}) });
    const mine = reader.report('s', rawQuery('mia'));
    // A new code of theirs does not make them someone else.
    const again = await reader.report('s', rawQuery('mia', ['promo-4', 'promo-5'])).catch((e: unknown) => e);
    expect(again).toMatchObject({ statusCode: 429, code: 'reports_busy' });
    expect((again as Error).message).toMatch(/^1 of your reports that read raw rows is under way/);
    // Another promoter, and the organiser, still have theirs; a third promoter waits for the site's promoters.
    const other = reader.report('s', rawQuery('sam', ['promo-8']));
    const third = await reader.report('s', rawQuery('ivy', ['promo-3'])).catch((e: unknown) => e);
    expect(third).toMatchObject({ statusCode: 429, code: 'reports_busy' });
    expect((third as Error).message).toMatch(/^2 reports of this site's promoters that read raw rows are under way/);
    const organiser = Array.from({ length: RAW_REPORTS.perSite }, () => reader.report('s', rawQuery()));
    // Promoters of another site have their own share.
    const elsewhere = reader.report('t', rawQuery('ivy', ['promo-3']));
    expect((await mine).rows.length).toBeGreaterThan(0);
    await Promise.all([other, elsewhere, ...organiser]);
    await expect(reader.report('s', rawQuery('ivy', ['promo-3']))).resolves.toHaveProperty('rows');
    await reader.close();
  });

  it('hold in front of any store (PostgreSQL has no report threads): raw reports past a share wait for none', async () => {
    const running: Array<() => void> = [];
    const report = limitRawReports(() => new Promise((resolve) => running.push(() => resolve({ rows: [], totals: {} } as never))));
    const raw = (promoter?: string) => ({ dims: ['code', 'channel'] as never, from: 1, to: 2, event: null, ...(promoter ? { codes: ['x'], promoter } : {}) });
    const answers = [report('s', raw()), report('s', raw()), report('s', raw('mia')), report('s', raw('sam'))];
    await expect(report('s', raw())).rejects.toMatchObject({ statusCode: 429 });
    await expect(report('s', raw('ivy'))).rejects.toMatchObject({ statusCode: 429 });
    // A report the rollups answer is never held back.
    const rollup = report('s', { dims: ['code'] as never, from: 0, to: 86_400_000, event: null });
    expect(running).toHaveLength(5);
    running.splice(0).map((end) => end());
    await Promise.all([...answers, rollup]);
    expect(running).toHaveLength(0);
    const again = report('s', raw('ivy'));
    running.splice(0).map((end) => end());
    await expect(again).resolves.toHaveProperty('rows');
  });

  it('answer 429 reports_busy through the report route', async () => {
    const reader = reportWorker(file);
    const app = await buildApp({
      store: readingThrough(reader, createSqliteStore(file, 'commit')),
      adminToken: 'report-admin-token-0123456789',
      cookieSecret: 'report-cookie-secret-0123456789-abcdef',
    });
    const get = () =>
      app.inject({
        method: 'GET',
        url: `/api/sites/s/report?by=code,channel&from=${from}&to=${to}`,
        headers: { authorization: 'Bearer report-admin-token-0123456789' },
      });
    const answers = await Promise.all(Array.from({ length: RAW_REPORTS.perSite + 1 }, get));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 429]);
    const busy = answers.find((a) => a.statusCode === 429)!;
    expect(busy.headers['retry-after']).toBe('5');
    expect(busy.json()).toMatchObject({ error: 'reports_busy', message: expect.stringMatching(/under way; retry in a few seconds/) });
    await app.close();
  });
});
