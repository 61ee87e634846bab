// Site changes told to every collector process sharing the database: a write to a site sends
// NOTIFY (in its transaction, so it is delivered on commit), and each process LISTENs on a
// connection of its own, outside the pool, to drop the site from its cache (context.ts).
// A LISTEN connection can die unseen (a restart, a partition): a heartbeat query finds out,
// and the watcher reconnects; while it is not listening the caches keep sites briefly only,
// and once it listens again they start afresh (what changed meanwhile was not heard).
import pg from 'pg';
import type { SiteListener } from '../store.js';
import type { PgClient } from './pg-pool.js';

export const SITES_CHANNEL = 'linktrail_sites';

export interface SiteWatch {
  /** Adds a listener, told at once whether changes are heard now. */
  watch(listener: SiteListener): () => void;
  /** Whether the LISTEN connection is up now. */
  readonly up: boolean;
  close(): Promise<void>;
}

export interface SiteWatchOptions {
  /** Options of the listening connection (connection string, search_path, timeouts). */
  client: pg.ClientConfig;
  /** Between heartbeats (each a query that must answer within `timeoutMs`). Default 10 s. */
  heartbeatMs?: number;
  /** A heartbeat's deadline. Default 5 s. */
  timeoutMs?: number;
  /** First wait before reconnecting; doubles to 10 s. Default 500 ms. */
  retryMs?: number;
  /** Where a lost connection is reported. Default: stderr. */
  onError?: (error: unknown) => void;
}

/** Sends the change of site `id` to every process (delivered when the transaction commits). */
export async function notifySiteChange(c: Pick<PgClient, 'query'>, id: string): Promise<void> {
  // The payload names the schema: processes of other schemas in the database share the channel.
  await c.query(`SELECT pg_notify('${SITES_CHANNEL}', current_schema() || E'\\n' || $1)`, [id]);
}

const logError = (error: unknown) =>
  console.error(`linktrail: site change listener: ${error instanceof Error ? error.message : String(error)}; caching sites briefly until it is back`);

export function createSiteWatch(options: SiteWatchOptions): SiteWatch {
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const retryFrom = options.retryMs ?? 500;
  const onError = options.onError ?? logError;
  const listeners = new Set<SiteListener>();
  let client: pg.Client | null = null;
  let up = false;
  let closed = false;
  let retryMs = retryFrom;
  let timer: NodeJS.Timeout | null = null;

  const tell = (f: (l: SiteListener) => void) => {
    for (const l of listeners) f(l);
  };
  const later = (f: () => void, ms: number) => {
    if (timer) clearTimeout(timer);
    timer = closed ? null : setTimeout(f, ms);
    timer?.unref();
  };

  /** The connection is gone (or never came): say so once, drop it, try again later. */
  function lost(c: pg.Client, error: unknown): void {
    if (client !== c) return;
    client = null;
    c.removeAllListeners('notification');
    c.on('error', () => {});
    void c.end().catch(() => {});
    if (up) {
      up = false;
      tell((l) => l.listening(false));
    }
    if (closed) return;
    onError(error);
    later(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  }

  async function connect(): Promise<void> {
    if (closed) return;
    const c = new pg.Client({ ...options.client, connectionTimeoutMillis: options.client.connectionTimeoutMillis ?? timeoutMs });
    client = c;
    c.on('error', (error) => lost(c, error));
    c.on('end', () => lost(c, new Error('connection ended')));
    try {
      await c.connect();
      const schema = String((await c.query('SELECT current_schema() AS s')).rows[0].s);
      c.on('notification', (n) => {
        if (n.channel !== SITES_CHANNEL || !n.payload) return;
        const at = n.payload.indexOf('\n');
        if (n.payload.slice(0, at) === schema) tell((l) => l.changed(n.payload!.slice(at + 1)));
      });
      await c.query(`LISTEN ${SITES_CHANNEL}`);
    } catch (error) {
      lost(c, error);
      return;
    }
    if (client !== c) return;
    retryMs = retryFrom;
    up = true;
    tell((l) => l.listening(true));
    later(() => void heartbeat(c), heartbeatMs);
  }

  async function heartbeat(c: pg.Client): Promise<void> {
    try {
      await c.query({ text: 'SELECT 1', query_timeout: timeoutMs } as pg.QueryConfig);
    } catch (error) {
      lost(c, error);
      return;
    }
    if (client === c) later(() => void heartbeat(c), heartbeatMs);
  }

  void connect();

  return {
    watch(listener) {
      listeners.add(listener);
      listener.listening(up);
      return () => void listeners.delete(listener);
    },
    get up() {
      return up;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      listeners.clear();
      up = false;
      // A server that does not answer never acknowledges the goodbye: don't wait for it.
      if (c) await Promise.race([c.end().catch(() => {}), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    },
  };
}
