// The SQLite visitor index written in sorted runs (visitor-index.ts): attribution must read the
// same visits whether they sit in the in-memory tail, in visitor_visits, or half-way through a
// merge, and across a restart in the middle of one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../src/db/sqlite-store.js';
import { createVisitorIndex, MARK } from '../src/db/visitor-index.js';
import { attribute } from '../src/attribution.js';
import { createIngest } from '../src/ingest.js';
import { createPublicIngest, type PublicRequest } from '../src/public-ingest.js';
import type { Site } from '../src/store.js';

const SITE: Site = {
  id: 'acme', name: 'Acme', url: 'https://tickets.acme.example', platformHosts: [], windowDays: 28,
  currency: 'EUR', honorGpc: false, requireSignedConversions: false, createdAt: 0,
};
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
const client = { cookie: null, userAgent: UA, hints: null, gpc: false };
const ARRIVALS = [
  ['?utm_source=newsletter&utm_medium=email', 'https://mail.google.com/'],
  ['', 'https://www.google.com/'],
  ['', ''],
  ['?affiliate=mia', 'https://l.instagram.com/'],
  ['', 'https://tickets.acme.example/e/fest'],
  ['?utm_source=fb&utm_medium=paid', 'https://m.facebook.com/'],
] as const;

/** A fixed mix of pageviews and orders over ten days (a small linear congruential generator). */
function traffic(n: number): PublicRequest[] {
  let seed = 7;
  const next = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % k);
  let now = Date.UTC(2026, 10, 1);
  const out: PublicRequest[] = [];
  for (let i = 0; i < n; i++) {
    now += (1 + next(90)) * 60_000;
    const vid = `visitor-${String(next(12)).padStart(4, '0')}`;
    if (next(6) === 0) {
      out.push({ kind: 'pixel', query: { site: 'acme', order: `o-${i}`, value: '45.00', currency: 'EUR', vid }, client, now });
    } else {
      const [query, referrer] = ARRIVALS[next(ARRIVALS.length)]!;
      const text = JSON.stringify({ site: 'acme', vid, url: `https://tickets.acme.example/e/fest${query}`, referrer, nav: 'navigate' });
      out.push({ kind: 'collect', text, from: 'body', client, now });
    }
  }
  return out;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(file: string, visitorIndex: { mergeAt: number; chunk: number }) {
  const store = createSqliteStore(file, 'commit', { visitorIndex });
  const ingest = await createPublicIngest({ store, cookieSecret: 'x'.repeat(32) });
  return { store, ingest };
}

async function run(requests: PublicRequest[], visitorIndex: { mergeAt: number; chunk: number }, restartAt: number[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'linktrail-vindex-'));
  dirs.push(dir);
  const file = join(dir, 'db.sqlite');
  let s = await open(file, visitorIndex);
  await s.store.createSite(SITE, 'hash');
  for (const [i, request] of requests.entries()) {
    if (restartAt.includes(i)) {
      await s.store.close();
      s = await open(file, visitorIndex);
    }
    const answer = await s.ingest.run(request);
    expect(answer.status).toBe(200);
  }
  const db = s.store.db;
  // Minted click ids end in random characters: compared by the visit time they carry.
  const conversions = (db.prepare('SELECT order_id, channel, source, link_code, rule, candidates FROM conversions ORDER BY order_id').all() as Array<{ channel: string; candidates: string }>).map(
    (c) => ({ ...c, candidates: c.candidates.replace(/"(t[0-9a-z]{9})[\w-]{16}"/g, '"$1"') }),
  );
  return { store: s.store, db, conversions };
}

/**
 * A visitor index over a fresh file, driven batch by batch as the batcher drives it: `run` (its
 * jobs' statements), a merge step, then COMMIT (or ROLLBACK, with `commit` false).
 */
function driven(options: { mergeAt: number; chunk: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'linktrail-vindex-'));
  dirs.push(dir);
  const store = createSqliteStore(join(dir, 'db.sqlite'), 'commit');
  const db = store.db;
  const index = createVisitorIndex(db, options);
  const insert = db.prepare("INSERT INTO visits (site_id, ts, vid, channel, touch) VALUES ('acme', ?, ?, 'direct', 0)");
  const visit = (ts: number, vid: string) => index.added('acme', vid, Number(insert.run(ts, vid).lastInsertRowid));
  const batch = (run: () => void = () => {}, commit = true) => {
    db.exec('BEGIN');
    run();
    index.step();
    db.exec(commit ? 'COMMIT' : 'ROLLBACK');
    if (commit) index.committed();
    else index.rolledBack();
  };
  const mark = () => Number(db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(MARK));
  return { store, db, index, visit, batch, mark };
}

describe('visitor index in sorted runs (SQLite)', () => {
  const requests = traffic(400);

  it('attributes every order as an index that never merges does, through merges and restarts mid-merge', async () => {
    const never = await run(requests, { mergeAt: 1e9, chunk: 128 });
    const often = await run(requests, { mergeAt: 5, chunk: 3 }, [97, 211, 212, 350]);
    expect(never.conversions.length).toBeGreaterThan(40);
    expect(never.db.prepare('SELECT COUNT(*) FROM visitor_visits').pluck().get()).toBe(0);
    expect(often.db.prepare('SELECT COUNT(*) FROM visitor_visits').pluck().get()).toBeGreaterThan(100);
    // Orders found visits of their visitor, touches among them: the comparison is not vacuous.
    expect(never.conversions.filter((c) => c.channel === 'email' || c.channel === 'affiliate').length).toBeGreaterThan(5);
    expect(often.conversions).toEqual(never.conversions);
    await never.store.close();
    await often.store.close();
  });

  it('keeps every visit up to its mark in visitor_visits, and the rest after a restart', async () => {
    const { store, db } = await run(requests, { mergeAt: 7, chunk: 2 }, [150]);
    const mark = Number(db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(MARK));
    expect(mark).toBeGreaterThan(0);
    const missing = (upto: number) =>
      db
        .prepare('SELECT COUNT(*) FROM visits v WHERE v.id <= ? AND NOT EXISTS (SELECT 1 FROM visitor_visits i WHERE i.site_id = v.site_id AND i.vid = v.vid AND i.ts = v.ts AND i.visit = v.id)')
        .pluck()
        .get(upto);
    expect(missing(mark)).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM visitor_visits WHERE visit NOT IN (SELECT id FROM visits)').pluck().get()).toBe(0);
    await store.close();
  });

  it('forgets the visits of a rolled-back transaction, and merges the visits that reused their ids', async () => {
    const { store, db, index, visit, batch, mark } = driven({ mergeAt: 4, chunk: 2 });
    const visits = (...list: Array<[number, string]>) => () => list.forEach(([ts, vid]) => visit(ts, vid));
    const visitsOf = (vid: string) =>
      index.tail('acme', vid).filter((id) => db.prepare('SELECT 1 FROM visits WHERE id = ? AND vid = ?').get(id, vid)).length +
      (db.prepare("SELECT COUNT(*) FROM visitor_visits WHERE site_id = 'acme' AND vid = ?").pluck().get(vid) as number);

    batch(visits([1, 'visitor-aaaa'], [2, 'visitor-bbbb']));
    batch(visits([3, 'visitor-gone'], [4, 'visitor-gone']), false);
    expect(index.tail('acme', 'visitor-gone')).toEqual([]);
    // The rolled-back ids come back for other visitors; four committed visits start a merge.
    batch(visits([5, 'visitor-cccc'], [6, 'visitor-aaaa']));
    for (let i = 0; i < 4; i++) batch();
    expect(db.prepare('SELECT visit FROM visitor_visits ORDER BY visit').pluck().all()).toEqual([1, 2, 3, 4]);
    expect(mark()).toBe(4);
    expect(index.tail('acme', 'visitor-aaaa')).toEqual([]);
    expect([visitsOf('visitor-aaaa'), visitsOf('visitor-bbbb'), visitsOf('visitor-cccc'), visitsOf('visitor-gone')]).toEqual([2, 1, 1, 0]);
    // A merge step rolled back is written again by the next batch.
    batch(visits([7, 'visitor-dddd'], [8, 'visitor-eeee'], [9, 'visitor-ffff'], [10, 'visitor-gggg']));
    batch(visits([11, 'visitor-hhhh']), false);
    expect(db.prepare('SELECT COUNT(*) FROM visitor_visits').pluck().get()).toBe(4);
    batch();
    batch();
    expect(db.prepare('SELECT visit FROM visitor_visits ORDER BY visit').pluck().all()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await store.close();
  });

  it('finds the visits of each visitor in a tail of thousands, across growth, a rollback and a merge', async () => {
    const { store, db, index, visit, batch } = driven({ mergeAt: 3000, chunk: 500 });
    const vid = (i: number) => `v${i.toString(36).padStart(6, '0')}`;
    const found = (i: number) =>
      index.tail('acme', vid(i)).filter((id) => db.prepare('SELECT 1 FROM visits WHERE id = ? AND vid = ?').get(id, vid(i))).length +
      (db.prepare("SELECT COUNT(*) FROM visitor_visits WHERE site_id = 'acme' AND vid = ?").pluck().get(vid(i)) as number);
    // Past the first arrays (1,024 entries) in one batch, then past the next ones in a rolled-back one.
    batch(() => { for (let i = 0; i < 1500; i++) visit(i, vid(i)); });
    batch(() => { for (let i = 1500; i < 2500; i++) visit(i, vid(i)); }, false);
    expect(index.tail('acme', vid(1499))).toHaveLength(1);
    expect(index.tail('acme', vid(1500))).toEqual([]);
    // A second visit for some, then enough to start a merge; visits keep coming while it runs.
    batch(() => { for (let i = 0; i < 1600; i++) visit(10_000 + i, vid(i % 2 === 0 ? i : 3000 + i)); });
    for (let b = 0; b < 8; b++) batch(() => visit(20_000 + b, vid(b)));
    expect(db.prepare('SELECT COUNT(*) FROM visitor_visits').pluck().get()).toBe(3100);
    const expected = (i: number) => (i < 1500 ? 1 : 0) + (i < 1600 && i % 2 === 0 ? 1 : 0) + (i >= 3000 && i < 4600 && i % 2 === 1 ? 1 : 0) + (i < 8 ? 1 : 0);
    for (let i = 0; i < 4600; i += 7) expect([i, found(i)]).toEqual([i, expected(i)]);
    for (const i of [0, 1, 2, 7, 8, 1499, 1500, 1599, 3001, 4599]) expect([i, found(i)]).toEqual([i, expected(i)]);
    await store.close();
  });

  it('never marks as merged a visit that reused the id of a job failed in its savepoint', async () => {
    const options = { mergeAt: 4, chunk: 1 };
    const { store, db, visit, batch, mark } = driven(options);
    batch(() => [1, 2, 3].forEach((ts) => visit(ts, `visitor-${ts}000`)));
    // As the batcher replays a failed batch: this job's visit is undone in its savepoint, the batch commits.
    batch(() => {
      db.exec('SAVEPOINT job');
      visit(4, 'aaaa-gone'); // sorts first: merged before the id comes back
      db.exec('ROLLBACK TO job; RELEASE job');
    });
    batch();
    batch(() => visit(5, 'zzzz-real')); // takes the id the failed job had, past the merge
    for (let i = 0; i < 6; i++) batch();
    const real = db.prepare("SELECT id FROM visits WHERE vid = 'zzzz-real'").pluck().get() as number;
    const indexed = (db.prepare("SELECT COUNT(*) FROM visitor_visits WHERE vid = 'zzzz-real'").pluck().get() as number) > 0;
    // After a restart, the real visit is found: in visitor_visits, or past the mark in the tail.
    expect(indexed || createVisitorIndex(db, options).tail('acme', 'zzzz-real').includes(real)).toBe(true);
    expect(indexed || real > mark()).toBe(true);
    await store.close();
  });

  it('migration 0006 fills visitor_visits from the visits stored before it', async () => {
    const { store, db } = await run(requests.slice(0, 120), { mergeAt: 1e9, chunk: 128 });
    const visits = db.prepare('SELECT COUNT(*) FROM visits').pluck().get() as number;
    expect(visits).toBeGreaterThan(20);
    await store.close();
    // As the schema stood at version 5: the index on visits, no visitor_visits, no mark.
    const file = db.name;
    const old = createSqliteStore(file, 'commit');
    old.db.exec(`DROP TABLE visitor_visits; DELETE FROM settings WHERE key = '${MARK}';
      CREATE INDEX visits_visitor ON visits (site_id, vid, ts); PRAGMA user_version = 5;`);
    await old.close();
    const again = createSqliteStore(file, 'commit');
    expect(again.db.prepare('SELECT COUNT(*) FROM visitor_visits').pluck().get()).toBe(visits);
    expect(Number(again.db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(MARK))).toBe(
      again.db.prepare('SELECT MAX(id) FROM visits').pluck().get(),
    );
    expect(again.db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'visits_visitor'").pluck().get()).toBe(0);
    await again.close();
  });

  it('drops a visit a backfilled touch takes back from the index too: its id, reused by another visitor, credits nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linktrail-vindex-'));
    dirs.push(dir);
    const store = createSqliteStore(join(dir, 'db.sqlite'), 'commit', { visitorIndex: { mergeAt: 4, chunk: 1000 } });
    await store.createSite(SITE, 'hash');
    const now = Date.now();
    const T = now - 6 * 3600_000;
    const M = 60_000;
    let ingest = createIngest(store);
    await ingest.warm();
    const send = async (vid: string, ts: number, referrer = '') =>
      ingest.record(await ingest.prepareServerHits(SITE, [{ hit: { vid, url: 'https://tickets.acme.example/fest', referrer }, ts, bot: undefined }]));
    await send('filler-visitor-1', T - 60 * M);
    await send('filler-visitor-2', T - 50 * M);
    // Two direct visits of A, the later sent first, a restart between: both stored as visits.
    await send('visitor-AAAAAAAA', T + 25 * M);
    ingest = createIngest(store);
    await ingest.warm();
    await send('visitor-AAAAAAAA', T + 5 * M);
    for (let i = 0; i < 4; i++) await store.setSetting('noop', String(i)); // batches in which the merge runs
    expect(store.db.prepare("SELECT COUNT(*) FROM visitor_visits WHERE vid = 'visitor-AAAAAAAA'").pluck().get()).toBe(2);
    // A late Google landing of A before both takes them back; then C arrives from Facebook.
    await send('visitor-AAAAAAAA', T, 'https://www.google.com/');
    expect(store.db.prepare("SELECT COUNT(*) FROM visitor_visits v WHERE vid = 'visitor-AAAAAAAA' AND NOT EXISTS (SELECT 1 FROM visits WHERE id = v.visit AND vid = v.vid)").pluck().get()).toBe(0);
    await send('visitor-CCCCCCCC', now - M, 'https://www.facebook.com/');
    const { conversion } = await store.recordConversion(
      { siteId: 'acme', order: 'A-1', ts: now, event: null, type: 'purchase', currency: 'EUR', valueMinor: 1000, tickets: 1, items: [], customer: null, vid: 'visitor-AAAAAAAA', cid: null },
      28,
      attribute,
    );
    expect([conversion.attribution.channel, conversion.attribution.source]).toEqual(['search', 'google']);
    expect(conversion.attribution.candidates.map((c) => c.source)).not.toContain('facebook');
    await store.close();
  });
});
