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

  it('without LINKTRAIL_ADMIN_TOKEN, makes an operator token at the first start, prints it that once, and keeps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linktrail-server-'));
    const env = { LINKTRAIL_DB: join(dir, 'x.db') };
    const sites = (url: string, token: string) =>
      fetch(`${url}/api/sites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: `s${Math.random().toString(36).slice(2, 8)}`, name: 'S', url: 'https://s.example.com' }),
      });
    try {
      const first = await startCollector(env);
      await new Promise((r) => setTimeout(r, 200));
      const token = /operator token \(LINKTRAIL_ADMIN_TOKEN unset; printed this once, kept hashed in the database\): (lta_[\w-]+)/.exec(first.output())?.[1];
      expect(token).toBeDefined();
      expect((await sites(first.url, token!)).status).toBe(201);
      await first.stop();
      const second = await startCollector(env);
      await new Promise((r) => setTimeout(r, 200));
      expect(second.output()).not.toContain(token);
      expect(second.output()).toContain('operator token: the one printed at the first start');
      expect((await sites(second.url, token!)).status).toBe(201);
      expect((await sites(second.url, 'lta_not-the-token-0000000000000')).status).toBe(401);
      await second.stop();
      // The environment's token, when set, is the one.
      const third = await startCollector({ ...env, LINKTRAIL_ADMIN_TOKEN: 'env-admin-token-0123456789' });
      expect((await sites(third.url, 'env-admin-token-0123456789')).status).toBe(201);
      expect((await sites(third.url, token!)).status).toBe(401);
      await third.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with a message naming DATABASE_URL when PostgreSQL cannot be reached', async () => {
    const started = startCollector({ DATABASE_URL: 'postgres://linktrail:hunter2@127.0.0.1:1/none' });
    await expect(started).rejects.toThrow(/DATABASE_URL postgres:\/\/linktrail:\*\*\*@127\.0\.0\.1:1\/none: cannot open the database/);
  });
});
