// /healthz tells a load balancer whether this collector can reach its database (both stores).
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import type { PgStore } from '../src/db/pg-store.js';
import type { createSqliteStore } from '../src/db/sqlite-store.js';
import { ADMIN } from './helper.js';
import { createTestStore } from './stores.js';

describe('GET /healthz', () => {
  it('answers 200 while the database answers, and 503 with the reason once it does not', async () => {
    const { store, dispose } = await createTestStore();
    const app = await buildApp({ store, adminToken: ADMIN, cookieSecret: 'test-cookie-secret-0123456789-abcdef', closeStore: false });
    try {
      const up = await app.inject({ method: 'GET', url: '/healthz' });
      expect([up.statusCode, up.json()]).toEqual([200, { ok: true, store: store.kind }]);
      // The database goes away under the running collector.
      if (store.kind === 'postgres') await (store as PgStore).pool.end();
      else (store as ReturnType<typeof createSqliteStore>).db.close();
      const down = await app.inject({ method: 'GET', url: '/healthz' });
      expect(down.statusCode).toBe(503);
      expect(down.headers['retry-after']).toBe('5');
      expect(down.json()).toEqual({ ok: false, store: store.kind, error: 'database_unavailable', message: 'the database is unreachable' });
    } finally {
      await app.close();
      await store.close().catch(() => {});
      await dispose();
    }
  });
});
