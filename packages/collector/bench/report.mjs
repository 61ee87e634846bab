// Report speed at scale: seeds N visits (default 1M) and N/20 conversions over 30 days into a
// temporary SQLite database, then times GET-report queries (median of 25) through the store.
// Usage: node packages/collector/bench/report.mjs [visits]   (after npm run build)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../dist/db/sqlite-store.js';
import * as rollupMigration from '../dist/db/migrations/0002-daily-rollups.js';
import { ROLLUPS } from '../dist/rollups.js';
import { attribute } from '../dist/attribution.js';

const N = Number(process.argv[2] ?? 1_000_000);
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'linktrail-bench-'));
const store = createSqliteStore(join(dir, 'bench.db'));
const db = store.db;
const to = Math.floor(Date.now() / DAY) * DAY + DAY;
const from = to - 30 * DAY;

// A deterministic pseudo-random stream, so runs compare.
let seed = 42;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const pick = (list) => list[Math.floor(rnd() * list.length)];

const codes = Array.from({ length: 200 }, (_, i) => `promo-${i}`);
const sources = Array.from({ length: 300 }, (_, i) => `site-${i}.example`).concat(['google', 'instagram', 'facebook', 'tiktok']);
const channels = ['affiliate', 'social', 'search', 'referral', 'direct', 'platform', 'email', 'paid'];

console.log(`seeding ${N.toLocaleString()} visits and ${(N / 20).toLocaleString()} conversions…`);
let t0 = Date.now();
await store.createSite({ id: 's', name: 'S', url: 'https://s.example', platformHosts: [], windowDays: 28, currency: 'EUR', createdAt: 0 }, 'x');
db.transaction(() => {
  const code = db.prepare('INSERT INTO codes (site_id, code, affiliate, event, target, created_at) VALUES (?, ?, NULL, NULL, NULL, 0)');
  for (const c of codes) code.run('s', c);
  const visit = db.prepare(`INSERT INTO visits (site_id, ts, vid, cid, event, channel, source, code, utm_source, utm_medium, utm_campaign, touch)
    VALUES ('s', ?, ?, NULL, 'fest', ?, ?, ?, NULL, NULL, ?, 1)`);
  const click = db.prepare(`INSERT INTO clicks (site_id, cid, ts, vid, code, event, channel, source, kind) VALUES ('s', ?, ?, ?, ?, 'fest', 'affiliate', ?, 'click')`);
  for (let i = 0; i < N; i++) {
    const ts = from + Math.floor(rnd() * 30 * DAY);
    const vid = `v${Math.floor(rnd() * N * 0.6)}`;
    const channel = pick(channels);
    const code = channel === 'affiliate' ? pick(codes) : null;
    const source = channel === 'direct' || channel === 'platform' ? null : pick(sources);
    visit.run(ts, vid, channel, source, code, rnd() < 0.1 ? `camp-${Math.floor(rnd() * 50)}` : null);
    if (code) click.run(`c${i}`, ts, vid, code, source);
  }
  const conv = db.prepare(`INSERT INTO conversions (site_id, order_id, ts, event, type, currency, value_minor, tickets, customer, new_customer,
      vid, cid, link_code, link_affiliate, link_cid, link_ts, channel, source, rule, candidates, created_at)
    VALUES ('s', ?, ?, 'fest', 'purchase', 'EUR', ?, ?, NULL, ?, NULL, NULL, ?, NULL, NULL, NULL, ?, ?, 'x', '[]', 0)`);
  for (let i = 0; i < N / 20; i++) {
    const channel = pick(channels);
    conv.run(`o${i}`, from + Math.floor(rnd() * 30 * DAY), 4500 * (1 + Math.floor(rnd() * 3)), 1 + Math.floor(rnd() * 3), rnd() < 0.5 ? 1 : 0,
      channel === 'affiliate' ? pick(codes) : null, channel, pick(sources));
  }
})();
console.log(`raw rows written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
t0 = Date.now();
for (const r of ROLLUPS) db.exec(`DROP TABLE ${r.table}; DROP TABLE ${r.orders}`);
db.exec(rollupMigration.up); // rebuilds the daily rollups from the raw tables
db.exec('ANALYZE');
const rollupRows = ROLLUPS.map((r) => `${r.table} ${db.prepare(`SELECT COUNT(*) AS n FROM ${r.table}`).get().n}`).join(', ');
console.log(`daily rollup built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${rollupRows} rows `);

async function time(label, query, n = 25) {
  const runs = [];
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await store.report('s', query);
    runs.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  runs.sort((a, b) => a - b);
  const at = (q) => runs[Math.min(n - 1, Math.floor(q * n))].toFixed(1);
  console.log(`${label.padEnd(44)} median ${at(0.5)} ms, p90 ${at(0.9)} ms (${n} runs)`);
}
await time('by=code, 30 days (rollup)', { dims: ['code'], from, to, event: null });
await time('by=channel, 30 days (rollup)', { dims: ['channel'], from, to, event: null });
await time('by=source, 30 days (rollup)', { dims: ['source'], from, to, event: null });
await time('by=code,channel, 30 days (no rollup: raw)', { dims: ['code', 'channel'], from, to, event: null }, 5);
await time('by=code, 7 days (rollup)', { dims: ['code'], from: to - 7 * DAY, to, event: null });
// To the millisecond: the whole days from the rollup, the part-days at either end raw.
await time('by=code, 30 days to the ms (2 part-days raw)', { dims: ['code'], from: from + 1, to: to - 1, event: null }, 5);
await time('by=code, 30 days from noon to noon', { dims: ['code'], from: from + DAY / 2, to: to - DAY / 2, event: null }, 5);

// A conversion that names only a click id nobody has (what any page can send to /p.gif): it
// must not read every visit to find out, or a few such pixels a second would stall ingest.
let orders = 0;
async function convert(label, cid, n = 25) {
  const runs = [];
  for (let i = 0; i < n; i++) {
    const conv = { siteId: 's', order: `cid-only-${orders++}`, ts: to - DAY, event: null, type: 'purchase', currency: 'EUR', valueMinor: 100, tickets: 1, items: [], customer: null, vid: null, cid };
    const s = process.hrtime.bigint();
    await store.recordConversion(conv, 28, attribute);
    runs.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  runs.sort((a, b) => a - b);
  console.log(`${label.padEnd(44)} median ${runs[Math.floor(n / 2)].toFixed(2)} ms, p90 ${runs[Math.floor(0.9 * n)].toFixed(2)} ms (${n} runs, each with its commit)`);
}
await convert('conversion by an unknown touch click id', `t${(to - 2 * DAY).toString(36).padStart(9, '0')}AAAAAAAAAAAAAAAA`);
await convert('conversion by an unknown custom click id', 'some-custom-click-id');
await store.close();
rmSync(dir, { recursive: true, force: true });
