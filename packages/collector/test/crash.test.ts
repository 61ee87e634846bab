// Nothing acknowledged is ever lost: the real collector process is killed with SIGKILL in
// the middle of a load of pageviews, pixels and postbacks, restarted on the same database,
// and every request that got a success answer must be there, and the rollups (which
// PostgreSQL folds in the background, pg-folder.ts) must count exactly what is stored.
// SIGTERM drains and exits 0. Runs on the suite's store: SQLite, or PostgreSQL when
// LINKTRAIL_TEST_DATABASE_URL is set.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freshDatabase } from './processes.js';
import { acks, createSite, drive, startServer, type Acked, type Database as Db, type ServerProcess } from './server-process.js';
import { PG_URL } from './stores.js';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'linktrail-crash-'));
const dropped: Array<() => Promise<void>> = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const drop of dropped) await drop();
});

// A failed assertion must not leave a collector running.
const running = new Set<ServerProcess>();
async function start(db: Db, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServer(db, env);
  running.add(server);
  void server.exited.then(() => running.delete(server));
  return server;
}
afterEach(async () => {
  for (const server of running) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
});

/** A fresh database of the suite's store. */
async function freshDb(name: string): Promise<Db> {
  if (!PG_URL) return { file: join(dir, `${name}.db`) };
  const db = await freshDatabase(PG_URL);
  dropped.push(db.drop);
  return { url: db.url };
}

/** Runs one read on the database, outside the collector. */
async function query(db: Db, text: string, ...params: unknown[]): Promise<Array<Record<string, unknown>>> {
  if ('file' in db) {
    const sqlite = new Database(db.file, { readonly: true });
    try {
      return sqlite.prepare(text).all(...params) as Array<Record<string, unknown>>;
    } finally {
      sqlite.close();
    }
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    let n = 0;
    return (await client.query(text.replace(/\?/g, () => `$${++n}`), params)).rows;
  } finally {
    await client.end();
  }
}

/** The acknowledged requests that are not in the database. */
async function missing(db: Db, acked: Acked, site: string): Promise<string[]> {
  const vids = new Set((await query(db, 'SELECT vid FROM hits WHERE site_id = ?', site)).map((r) => String(r.vid)));
  const orders = new Set((await query(db, 'SELECT order_id FROM conversions WHERE site_id = ?', site)).map((r) => String(r.order_id)));
  return [...acked.vids.filter((v) => !vids.has(v)), ...acked.orders.filter((o) => !orders.has(o))];
}

/** The report's totals over whole UTC days around now: read from the daily rollups. Visitors
 *  are left out: past 256 a day they are an estimate (sketch.ts), and a sketch merged twice is unchanged. */
async function rollupTotals(server: ServerProcess, site: string, token: string) {
  const today = Math.floor(Date.now() / DAY) * DAY;
  const range = `from=${new Date(today - DAY).toISOString()}&to=${new Date(today + 2 * DAY).toISOString()}`;
  const res = await fetch(`${server.url}/api/sites/${site}/report?by=channel&${range}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const { totals } = (await res.json()) as { totals: Record<string, unknown> };
  return { visits: totals.visits, orders: totals.orders, tickets: totals.tickets, revenue: totals.revenue };
}

/** The same figures counted from the stored rows. */
async function rawTotals(db: Db, site: string) {
  const [v] = await query(db, 'SELECT COUNT(*) AS visits FROM visits WHERE site_id = ?', site);
  const [o] = await query(db, 'SELECT COUNT(*) AS orders, SUM(tickets) AS tickets, SUM(value_minor) AS revenue FROM conversions WHERE site_id = ?', site);
  return { visits: Number(v!.visits), orders: Number(o!.orders), tickets: Number(o!.tickets), revenue: { EUR: Number(o!.revenue) } };
}

// SQLite acknowledges after the WAL fsync (disk, the default) or after COMMIT (commit): both
// must survive the process being killed.
// On SQLite the ingest worker writes by default; the main thread does with LINKTRAIL_INGEST_THREAD=main.
const SYNC: Array<Record<string, string>> = PG_URL
  ? [{}]
  : [{ LINKTRAIL_SYNC: 'disk' }, { LINKTRAIL_SYNC: 'commit' }, { LINKTRAIL_SYNC: 'disk', LINKTRAIL_INGEST_THREAD: 'main' }];

describe('durability of the collector process', () => {
  it.each(SYNC)('loses no acknowledged hit or conversion when killed with SIGKILL mid-load, over several restarts, and its rollups count each once (%j)', async (env) => {
    const db = await freshDb(`kill-${env.LINKTRAIL_SYNC ?? 'pg'}-${env.LINKTRAIL_INGEST_THREAD ?? 'worker'}`);
    let server = await start(db, env);
    const token = await createSite(server.url, 'acme');
    const all: Acked = { vids: [], orders: [] };
    for (let round = 1; round <= 3; round++) {
      const acked: Acked = { vids: [], orders: [] };
      const victim = server;
      // SIGKILL the moment the 300th answer arrives: any answer sent before its commit is lost.
      await drive(victim, { site: 'acme', token, tag: `kill${round}` }, acked, () => {
        if (acks(acked) >= 300) victim.child.kill('SIGKILL');
      });
      expect(await server.exited).toMatchObject({ signal: 'SIGKILL' });
      all.vids.push(...acked.vids);
      all.orders.push(...acked.orders);

      server = await start(db, env);
      expect(await missing(db, all, 'acme')).toEqual([]);
      // Killed mid-fold or not: the rollups count every stored visit and order exactly once.
      expect(await rollupTotals(server, 'acme', token)).toEqual(await rawTotals(db, 'acme'));
      // The restarted process serves what the killed one acknowledged.
      const order = acked.orders.at(-1)!;
      const res = await fetch(`${server.url}/api/sites/acme/conversions/${order}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    }
    expect(acks(all)).toBeGreaterThanOrEqual(900);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    if ('url' in db) {
      // A clean stop folds what is left: the folded rollups alone hold every visit and order.
      expect(await query(db, 'SELECT COUNT(*)::int AS n FROM rollup_pending')).toEqual([{ n: 0 }]);
      const [folded] = await query(db, 'SELECT (SELECT SUM(visits) FROM daily_totals)::int AS visits, (SELECT SUM(orders) FROM daily_totals_orders)::int AS orders');
      const raw = await rawTotals(db, 'acme');
      expect(folded).toEqual({ visits: raw.visits, orders: raw.orders });
    }
  });

  it('drains in-flight writes on SIGTERM and exits 0 with every acknowledged request stored', async () => {
    const db = await freshDb('term');
    const server = await start(db);
    const token = await createSite(server.url, 'fest');
    const acked: Acked = { vids: [], orders: [] };
    let before = 0;
    await drive(server, { site: 'fest', token, tag: 'term' }, acked, () => {
      if (before === 0 && acks(acked) >= 300) {
        before = acks(acked);
        server.child.kill('SIGTERM');
      }
    });
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(acks(acked)).toBeGreaterThanOrEqual(before);
    expect(await missing(db, acked, 'fest')).toEqual([]);
  });

  // A failed fsync must end the writer (batcher.ts): a WAL file removed under the running
  // collector is one that can be had for real; every later commit would go to a file that is gone.
  it.skipIf(PG_URL).each<Record<string, string>>([{}, { LINKTRAIL_INGEST_THREAD: 'main' }])(
    'stops acknowledging and exits 1 when the write-ahead log can no longer be synced (%j)',
    async (env) => {
      const db = (await freshDb(`walgone-${env.LINKTRAIL_INGEST_THREAD ?? 'worker'}`)) as { file: string };
      const server = await start(db, env);
      await createSite(server.url, 'acme');
      const pageview = (vid: string) =>
        fetch(`${server.url}/collect`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' },
          body: JSON.stringify({ site: 'acme', vid, url: 'https://acme.example.com/e/fest' }),
        }).then((r) => r.status, () => 'no answer');
      expect(await pageview('visitor-before')).toBe(204);
      unlinkSync(`${db.file}-wal`);
      const after = await pageview('visitor-after');
      expect(after === 'no answer' || (typeof after === 'number' && after >= 500)).toBe(true);
      expect(await server.exited).toEqual({ code: 1, signal: null });
      expect(server.output()).toMatch(/the write-ahead log could not be synced to disk \(ENOENT/);
    },
  );
});

