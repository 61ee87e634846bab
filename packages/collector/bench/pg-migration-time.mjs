// Times PostgreSQL migration 0002 (the rollups' backfill, visitor sketches built in JavaScript)
// on synthetic visits, in a throwaway schema of the given database.
// Usage: node packages/collector/bench/pg-migration-time.mjs postgres://… [VISITS=200000] [CODES=5000]
// (npm run build first; packages/collector/scripts/pg-test-server.sh start gives a database.)
import pg from 'pg';

const url = process.argv[2];
const visits = Number(process.argv[3] ?? 200_000);
const codes = Number(process.argv[4] ?? 5_000);
if (!url) {
  console.error('usage: pg-migration-time.mjs postgres://… [visits] [codes]');
  process.exit(2);
}
const m1 = await import('../dist/db/pg-migrations/0001-init.js');
const m2 = await import('../dist/db/pg-migrations/0002-daily-rollups.js');
const c = new pg.Client({ connectionString: url });
await c.connect();
try {
  await c.query('DROP SCHEMA IF EXISTS migration_time CASCADE; CREATE SCHEMA migration_time; SET search_path = migration_time');
  await c.query(m1.up);
  // 90 days, a visitor in four, CODES codes, 5 events, 7 × 30 utm values.
  await c.query(
    `INSERT INTO visits (site_id, ts, vid, event, channel, source, code, utm_source, utm_medium, utm_campaign, touch)
     SELECT 'acme', 1780000000000::bigint + (i % 90)::bigint * 86400000 + i, 'visitor-' || (i % ($1::int / 4)), 'e' || (i % 5),
       'search', 'google', 'code' || (i % $2::int), 'news' || (i % 7), 'email', 'camp' || (i % 30), 1
     FROM generate_series(1, $1::int) i`,
    [visits, codes],
  );
  const t0 = performance.now();
  await c.query('BEGIN');
  await m2.up(c);
  const groups = Number((await c.query('SELECT COUNT(*) AS n FROM daily_codes')).rows[0].n);
  await c.query('COMMIT');
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ visits, daily_codes_groups: groups, seconds: Number(seconds.toFixed(2)), rss_mb: Math.round(process.memoryUsage().rss / 1e6) }));
} finally {
  await c.query('DROP SCHEMA IF EXISTS migration_time CASCADE').catch(() => {});
  await c.end();
}
