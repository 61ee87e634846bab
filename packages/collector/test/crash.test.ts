// Nothing acknowledged is ever lost: the real collector process is killed with SIGKILL in
// the middle of a load of pageviews, pixels and postbacks, restarted on the same database,
// and every request that got a success answer must be there. SIGTERM drains and exits 0.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acks, createSite, drive, startServer, type Acked } from './server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'linktrail-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The acknowledged requests that are not in the database. */
function missing(dbFile: string, acked: Acked, site: string): string[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    const vids = new Set(db.prepare('SELECT vid FROM hits WHERE site_id = ?').pluck().all(site) as string[]);
    const orders = new Set(db.prepare('SELECT order_id FROM conversions WHERE site_id = ?').pluck().all(site) as string[]);
    return [...acked.vids.filter((v) => !vids.has(v)), ...acked.orders.filter((o) => !orders.has(o))];
  } finally {
    db.close();
  }
}

describe('durability of the collector process', () => {
  it('loses no acknowledged hit or conversion when killed with SIGKILL mid-load, over several restarts', async () => {
    const dbFile = join(dir, 'kill.db');
    let server = await startServer(dbFile);
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

      server = await startServer(dbFile);
      expect(missing(dbFile, all, 'acme')).toEqual([]);
      // The restarted process serves what the killed one acknowledged.
      const order = acked.orders.at(-1)!;
      const res = await fetch(`${server.url}/api/sites/acme/conversions/${order}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    }
    expect(acks(all)).toBeGreaterThanOrEqual(900);
    server.child.kill('SIGKILL');
    await server.exited;
  });

  it('drains in-flight writes on SIGTERM and exits 0 with every acknowledged request stored', async () => {
    const dbFile = join(dir, 'term.db');
    const server = await startServer(dbFile);
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
    expect(missing(dbFile, acked, 'fest')).toEqual([]);
  });
});
