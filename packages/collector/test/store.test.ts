// Store behaviour that routes rely on, on whichever store the suite runs (stores.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migratePg } from '../src/db/pg-migrate.js';
import { pgMigrations } from '../src/db/pg-migrations/index.js';
import { createPgStore, type PgStore } from '../src/db/pg-store.js';
import { isConflict, type HitRecord } from '../src/store.js';
import { createTestStore, PG_URL, type TestStore } from './stores.js';

let s: TestStore;
beforeEach(async () => {
  s = await createTestStore();
});
afterEach(async () => {
  await s.store.close();
  await s.dispose();
});

const site = { id: 'acme', name: 'Acme', url: 'https://tickets.example.com', platformHosts: [], windowDays: 28, currency: 'EUR', createdAt: 0, requireSignedConversions: false, honorGpc: false };
const hit: HitRecord = {
  siteId: 'acme', ts: 1_000, vid: 'visitor-aaaa', cid: null, event: null, url: 'https://tickets.example.com/', referrer: null,
  channel: 'direct', source: null, code: null, utm: { source: null, medium: null, campaign: null, term: null, content: null },
  nav: null, visit: true, touch: false, bot: false,
};

describe('the store', () => {
  it('a failing write does not undo the writes committed in the same batch', async () => {
    await s.store.createSite(site, 'hash-1');
    // Queued in one turn: one group-commit batch, in which the duplicate site fails.
    const [again] = await Promise.all([s.store.createSite(site, 'hash-2'), s.store.recordHits([hit]), s.store.setSetting('k', 'v')]);
    expect(isConflict(again)).toBe(true);
    expect(await s.sql('SELECT vid FROM hits')).toEqual([{ vid: 'visitor-aaaa' }]);
    expect(await s.store.getSetting('k')).toBe('v');
  });

  it('initSetting keeps the value stored first', async () => {
    const [a, b] = await Promise.all([s.store.initSetting('cookie_secret', 'first'), s.store.initSetting('cookie_secret', 'second')]);
    expect([a, b]).toEqual(['first', 'first']);
  });
});

describe.runIf(PG_URL !== null)('the PostgreSQL store', () => {
  it('integers beyond JavaScript’s safe range are refused, never rounded', async () => {
    await expect(s.sql('SELECT 9007199254740993::bigint AS n')).rejects.toThrow(/safe range/);
    expect(await s.sql('SELECT 9007199254740991::bigint AS n')).toEqual([{ n: 9007199254740991 }]);
  });

  it('refuses a database newer than the code', async () => {
    const newest = pgMigrations.length;
    await expect(migratePg((s.store as PgStore).pool, [])).rejects.toThrow(`schema version ${newest} is newer than this collector (knows 0)`);
  });

  it('migration 0007 gives rollup_pending the vacuum settings 0004 gained after it shipped', async () => {
    const options = async () => (await s.sql("SELECT reloptions FROM pg_class WHERE relname = 'rollup_pending' AND relnamespace = current_schema()::regnamespace"))[0]!.reloptions;
    await s.remigrate('ALTER TABLE rollup_pending RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold);', 7);
    expect(await options()).toEqual(['autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=5000']);
  });

  it('two processes flushing the same rollup row at once keep every visit and every visitor', async () => {
    await s.store.createSite(site, 'hash-1');
    const schema = String((await s.sql('SELECT current_schema() AS s'))[0]!.s);
    const other = await createPgStore({ url: PG_URL!, schema, max: 4 });
    try {
      const day = Date.UTC(2026, 5, 1);
      const visit = (vid: string, i: number): HitRecord => ({ ...hit, vid, ts: day + i });
      // Many batches from each store, all landing on the same daily rows.
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => [s.store, other][i % 2]!.recordHits([visit(`visitor-${String(i).padStart(4, '0')}`, i)])),
      );
      const r = await s.store.report('acme', { dims: ['channel'], from: day, to: day + 86_400_000, event: null });
      expect(r.totals).toMatchObject({ visits: 40, visitors: 40 });
    } finally {
      await other.close();
    }
  });
});
