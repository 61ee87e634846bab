// Builds the real app with a fake clock on a fresh store: a temporary SQLite file, or a
// fresh PostgreSQL schema when LINKTRAIL_TEST_DATABASE_URL is set (see stores.ts).
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOptions } from '../src/app.js';
import type { Dialect } from '../src/report.js';
import { createTestStore, type SqlRow } from './stores.js';

export const ADMIN = 'test-admin-token-0123456789';
export const DAY = 86_400_000;
export const MINUTE = 60_000;

export interface TestApp {
  app: FastifyInstance;
  clock: { now: number; advance(ms: number): void };
  /** Which store the app runs on. */
  kind: 'sqlite' | 'postgres';
  /** Reads stored rows: `await t.sql('SELECT channel FROM hits WHERE vid = ?', vid)`. */
  sql(text: string, ...params: unknown[]): Promise<SqlRow[]>;
  /** The plan of a query on this store, to check it uses an index. */
  explain(text: string, params: unknown[]): Promise<string>;
  /** The names of the app's tables. */
  tables(): Promise<string[]>;
  /** Runs DDL, then this store's schema migration `version` again. */
  remigrate(statements: string, version: number): Promise<void>;
  dialect: Dialect;
  /** Site token of the site made by setup(). */
  token: string;
  site: string;
  auth: { authorization: string };
  close(): Promise<void>;
}

export async function makeApp(options: Partial<AppOptions> & { dir?: string } = {}): Promise<Omit<TestApp, 'token' | 'site' | 'auth'>> {
  const { store, sql, explain, tables, remigrate, dialect, dispose } = await createTestStore(options.dir);
  const clock = {
    now: Date.UTC(2026, 5, 1, 12, 0, 0),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const app = await buildApp({
    store,
    adminToken: ADMIN,
    cookieSecret: 'test-cookie-secret-0123456789-abcdef',
    publicUrl: 'http://t.example.com',
    now: () => clock.now,
    ...options,
  });
  return {
    app,
    clock,
    kind: store.kind,
    sql,
    explain,
    tables,
    remigrate,
    dialect,
    async close() {
      await app.close();
      await dispose();
    },
  };
}

/** An app with a site `acme` (platform example.com) ready to use. */
export async function setup(siteBody: Record<string, unknown> = {}): Promise<TestApp> {
  const t = await makeApp();
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/sites',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { id: 'acme', name: 'Acme Events', url: 'https://tickets.example.com', platformHosts: ['example.com'], ...siteBody },
  });
  if (res.statusCode !== 201) throw new Error(`site setup failed: ${res.body}`);
  const token = res.json().token as string;
  return { ...t, token, site: 'acme', auth: { authorization: `Bearer ${token}` } };
}

export const json = (res: LightMyRequestResponse) => res.json() as Record<string, any>;

/** Sends a pageview the way the script does (text/plain JSON). */
export function pageview(t: TestApp, hit: Record<string, unknown>, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/collect',
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER_UA, ...headers },
    payload: JSON.stringify({ site: t.site, ...hit }),
  });
}

export function postback(t: TestApp, body: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: `/api/sites/${t.site}/conversions`, headers: t.auth, payload: body });
}

export async function report(t: TestApp, query: string) {
  const res = await t.app.inject({ method: 'GET', url: `/api/sites/${t.site}/report?${query}`, headers: t.auth });
  if (res.statusCode !== 200) throw new Error(`report failed: ${res.statusCode} ${res.body}`);
  return json(res);
}

export const rowFor = (r: Record<string, any>, key: string | null) =>
  (r.rows as Array<Record<string, any>>).find((x) => x.key === key);

export const BROWSER_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

export const EVENT_URL = 'https://tickets.example.com/e/summer-fest';

/** Registers affiliate mia with the site-wide code mia on the app's site. */
export async function addMia(t: TestApp): Promise<void> {
  await t.app.inject({ method: 'POST', url: `/api/sites/${t.site}/affiliates`, headers: t.auth, payload: { id: 'mia', name: 'Mia', email: 'mia@example.com' } });
  await t.app.inject({ method: 'POST', url: `/api/sites/${t.site}/codes`, headers: t.auth, payload: { code: 'mia', affiliate: 'mia' } });
}
