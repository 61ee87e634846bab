// The process entry (dist/server.js): which store it opens, and how it says where it listens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCollector } from './processes.js';

describe('the collector process', () => {
  it('runs on SQLite without DATABASE_URL and prints the port it bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linktrail-server-'));
    const collector = await startCollector({ LINKTRAIL_DB: join(dir, 'x.db'), LINKTRAIL_ADMIN_TOKEN: 'test-admin-token-0123456789' });
    try {
      expect(collector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${collector.url}/healthz`)).status).toBe(200);
    } finally {
      await collector.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with a message naming DATABASE_URL when PostgreSQL cannot be reached', async () => {
    const started = startCollector({ DATABASE_URL: 'postgres://linktrail:hunter2@127.0.0.1:1/none' });
    await expect(started).rejects.toThrow(/DATABASE_URL postgres:\/\/linktrail:\*\*\*@127\.0\.0\.1:1\/none: cannot open the database/);
  });
});
