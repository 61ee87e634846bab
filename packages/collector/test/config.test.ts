import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('settings from the environment', () => {
  it('has working defaults', () => {
    expect(loadConfig({})).toMatchObject({ port: 8787, host: '127.0.0.1', dbFile: './data/linktrail.db', publicUrl: 'http://127.0.0.1:8787', demo: false, databaseUrl: null });
  });

  it('rate limits default to 6000 hits and 10 failed tokens a minute per address, behind no proxy', () => {
    expect(loadConfig({})).toMatchObject({ publicRateLimit: 6000, authRateLimit: 10, trustProxy: 0 });
    expect(loadConfig({ LINKTRAIL_PUBLIC_RATE_LIMIT: '0', LINKTRAIL_TRUST_PROXY: '1' })).toMatchObject({ publicRateLimit: 0, trustProxy: 1 });
  });

  it('acknowledges SQLite writes once on disk unless LINKTRAIL_SYNC=commit', () => {
    expect(loadConfig({}).sync).toBe('disk');
    expect(loadConfig({ LINKTRAIL_SYNC: 'commit' }).sync).toBe('commit');
  });

  it('parses and writes public traffic on the ingest worker unless LINKTRAIL_INGEST_THREAD=main', () => {
    expect(loadConfig({}).ingestThread).toBe('worker');
    expect(loadConfig({ LINKTRAIL_INGEST_THREAD: 'main' }).ingestThread).toBe('main');
  });

  it('derives the public URL from HOST and PORT, and takes LINKTRAIL_PUBLIC_URL over it', () => {
    expect(loadConfig({ PORT: '9000' }).publicUrl).toBe('http://127.0.0.1:9000');
    expect(loadConfig({ LINKTRAIL_PUBLIC_URL: 'https://t.example.com/' }).publicUrl).toBe('https://t.example.com');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT/],
    [{ LINKTRAIL_DEMO: 'yes' }, /LINKTRAIL_DEMO must be 1 or 0/],
    [{ LINKTRAIL_PUBLIC_URL: 'not a url' }, /LINKTRAIL_PUBLIC_URL must be a URL/],
    [{ LINKTRAIL_PUBLIC_URL: 'ftp://x' }, /LINKTRAIL_PUBLIC_URL must start with/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ LINKTRAIL_SMTP_URL: 'http://mail' }, /LINKTRAIL_SMTP_URL/],
    [{ LINKTRAIL_ADMIN_TOKEN: 'short' }, /LINKTRAIL_ADMIN_TOKEN must be at least 16/],
    [{ LINKTRAIL_COOKIE_SECRET: 'short' }, /LINKTRAIL_COOKIE_SECRET/],
    [{ HOST: 'a b' }, /HOST/],
    [{ LINKTRAIL_MAIL_FROM: 'a@b\r\nBcc: x@y' }, /LINKTRAIL_MAIL_FROM/],
    [{ LINKTRAIL_PUBLIC_RATE_LIMIT: 'lots' }, /LINKTRAIL_PUBLIC_RATE_LIMIT must be a whole number/],
    [{ LINKTRAIL_AUTH_RATE_LIMIT: '-1' }, /LINKTRAIL_AUTH_RATE_LIMIT/],
    [{ LINKTRAIL_TRUST_PROXY: 'yes' }, /LINKTRAIL_TRUST_PROXY must be a whole number from 0 to 10/],
    [{ LINKTRAIL_SYNC: 'never' }, /LINKTRAIL_SYNC must be disk or commit/],
    [{ LINKTRAIL_INGEST_THREAD: 'both' }, /LINKTRAIL_INGEST_THREAD must be worker or main/],
  ])('refuses %j with a message naming it', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
