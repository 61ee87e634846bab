// Settings come from the environment and are validated at start: a bad value stops the
// process with a message naming it, never a silent fallback.

export interface Config {
  port: number;
  host: string;
  dbFile: string;
  databaseUrl: string | null;
  adminToken: string | null;
  cookieSecret: string | null;
  publicUrl: string;
  /** LINKTRAIL_PUBLIC_URL was given (else publicUrl is derived from HOST and PORT). */
  publicUrlSet: boolean;
  demo: boolean;
  smtpUrl: string | null;
  mailFrom: string;
  /** Requests a minute from one address to each public endpoint (0: no limit). */
  publicRateLimit: number;
  /** Failed authentications a minute from one address before 429 (0: no limit). */
  authRateLimit: number;
  /** Proxies in front whose X-Forwarded-For is believed (0: none). */
  trustProxy: number;
  /** SQLite: when a write is acknowledged (see Durability in sqlite-store.ts). */
  sync: Durability;
  /** SQLite file: where pageviews and public conversions are parsed and written (ingest-worker.ts). */
  ingestThread: 'worker' | 'main';
}

/**
 * `disk`: after COMMIT and an fsync of the WAL: survives a power cut. `commit`: after COMMIT:
 * survives a crash or kill of the collector; a power cut or OS crash may lose the last
 * moments before SQLite's next checkpoint.
 */
export type Durability = 'disk' | 'commit';

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL, got ${JSON.stringify(raw)}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.join(' or ')}, got ${JSON.stringify(parsed.protocol)}`);
  }
  return raw;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ConfigError(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be ${values.join(' or ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

function secret(env: Env, name: string, minLength: number): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  if (raw.length < minLength) throw new ConfigError(`${name} must be at least ${minLength} characters long`);
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 8787, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  if (!/^[\w.:-]+$/.test(host)) throw new ConfigError(`HOST must be a host name or address, got ${JSON.stringify(host)}`);
  const givenUrl = url(env, 'LINKTRAIL_PUBLIC_URL', ['http:', 'https:']);
  const publicUrl = (givenUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  const mailFrom = env.LINKTRAIL_MAIL_FROM || 'linktrail <no-reply@linktrail.invalid>';
  if (/[\r\n]/.test(mailFrom)) throw new ConfigError('LINKTRAIL_MAIL_FROM must be a single line');
  return {
    port,
    host,
    dbFile: env.LINKTRAIL_DB || './data/linktrail.db',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    adminToken: secret(env, 'LINKTRAIL_ADMIN_TOKEN', 16),
    cookieSecret: secret(env, 'LINKTRAIL_COOKIE_SECRET', 32),
    publicUrl,
    publicUrlSet: givenUrl !== null,
    demo: flag(env, 'LINKTRAIL_DEMO', false),
    smtpUrl: url(env, 'LINKTRAIL_SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom,
    publicRateLimit: int(env, 'LINKTRAIL_PUBLIC_RATE_LIMIT', 6000, 0, 1_000_000_000),
    authRateLimit: int(env, 'LINKTRAIL_AUTH_RATE_LIMIT', 10, 0, 1_000_000),
    trustProxy: int(env, 'LINKTRAIL_TRUST_PROXY', 0, 0, 10),
    sync: oneOf(env, 'LINKTRAIL_SYNC', ['disk', 'commit'], 'disk'),
    ingestThread: oneOf(env, 'LINKTRAIL_INGEST_THREAD', ['worker', 'main'], 'worker'),
  };
}
