// Process entry: read the environment, open the store, serve; SIGTERM drains to disk.
import { fileURLToPath } from 'node:url';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createSqliteStore } from './db/sqlite-store.js';
import { exitOnSyncFailure } from './db/wal-sync.js';
import { seedDemo } from './demo-seed.js';
import { hashToken, randomId } from './ids.js';
import { startIngestWorker } from './ingest-worker.js';
import { limitRawReports, readingThrough, reportWorker } from './report-worker.js';

function fail(message: string): never {
  console.error(`linktrail: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }

  const opened = config.databaseUrl
    ? await openPostgres(config.databaseUrl)
    : createSqliteStore(config.dbFile, config.sync, { onSyncFailure: exitOnSyncFailure });
  // On a SQLite file, reports read on a thread of their own (report-worker.ts), so a big one
  // never holds up the HTTP answers; PostgreSQL's reads wait on the network, not on this thread.
  // On PostgreSQL they share its pool with the traffic's writes: as many raw ones at once as on SQLite.
  const store =
    !config.databaseUrl && config.dbFile !== ':memory:'
      ? readingThrough(reportWorker(config.dbFile), opened)
      : { ...opened, report: limitRawReports(opened.report) };
  // Keep the cookie secret across restarts and processes, or visitors would lose their id:
  // the first process to start stores one, every other one reads it.
  const cookieSecret = config.cookieSecret ?? (await store.initSetting('cookie_secret', randomId(32)));
  // The operator token, when the environment sets none: made by the first start, printed that
  // once, and kept (hashed) in the database for every later start and every other process.
  const minted = config.adminToken ? null : `lta_${randomId(24)}`;
  const adminTokenHash = config.adminToken ? hashToken(config.adminToken) : await store.initSetting('operator_token_hash', hashToken(minted!));
  const printToken = minted !== null && adminTokenHash === hashToken(minted);
  // On a SQLite file, a worker thread parses and writes the public traffic (the main thread
  // answers HTTP); PostgreSQL needs none: its writes wait on the network, not on this thread.
  const ingest =
    !config.databaseUrl && config.ingestThread === 'worker' && config.dbFile !== ':memory:'
      ? await startIngestWorker({ file: config.dbFile, sync: config.sync, cookieSecret })
      : undefined;

  const app = await buildApp({
    store,
    adminTokenHash,
    cookieSecret,
    ingest,
    publicUrl: config.publicUrl,
    smtpUrl: config.smtpUrl,
    mailFrom: config.mailFrom,
    demoDir: config.demo ? fileURLToPath(new URL('../../../examples/', import.meta.url)) : null,
    logger: { level: process.env.LOG_LEVEL ?? 'info' },
    rateLimits: { publicPerMinute: config.publicRateLimit, authFailuresPerMinute: config.authRateLimit },
    trustProxy: config.trustProxy,
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'draining and closing');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const address = await app.listen({ port: config.port, host: config.host });
  // PORT=0 takes a free port: links must then use the port actually bound.
  if (config.port === 0 && !config.publicUrlSet) app.ctx.publicUrl = address.replace(/\/+$/, '');
  const db = config.databaseUrl ? `PostgreSQL: ${redact(config.databaseUrl)}` : `SQLite: ${config.dbFile}`;
  // "listening on" names the bound address; scripts and tests read it.
  const lines = [`linktrail collector listening on ${address} (public URL ${app.ctx.publicUrl}, ${db})`];
  if (printToken) lines.push(`operator token (LINKTRAIL_ADMIN_TOKEN unset; printed this once, kept hashed in the database): ${minted}`);
  else if (!config.adminToken) lines.push('operator token: the one printed at the first start (or set LINKTRAIL_ADMIN_TOKEN)');
  if (config.demo) {
    const { token } = await seedDemo(app.ctx);
    lines.push(
      '',
      `Demo: open ${app.ctx.publicUrl}/demo/ in a browser`,
      `  1. follow Mia's tracking link ${app.ctx.publicUrl}/r/mia`,
      '  2. buy tickets on the event page; the confirmation page fires the pixel',
      `  3. read the report: ${app.ctx.publicUrl}/demo/report?by=code`,
      `demo site token: ${token}`,
      `  curl -H 'Authorization: Bearer ${token}' '${app.ctx.publicUrl}/api/sites/demo/report?by=channel'`,
    );
  }
  console.log(lines.join('\n'));
}

async function openPostgres(url: string) {
  try {
    // Loaded only here: the PostgreSQL client is ~15 MB of RSS a SQLite collector never uses.
    const { createPgStore } = await import('./db/pg-store.js');
    return await createPgStore({ url });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    fail(`DATABASE_URL ${redact(url)}: cannot open the database: ${reason}`);
  }
}

/** The URL without its password, for logs. */
function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

main().catch((error: unknown) => fail(error instanceof Error ? (error.stack ?? error.message) : String(error)));
