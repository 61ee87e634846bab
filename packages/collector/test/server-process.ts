// The built collector (dist/server.js) as a real child process on 127.0.0.1, and a load
// driver that remembers exactly which requests were acknowledged.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
export const ADMIN_TOKEN = 'crash-test-admin-token-0123456789';
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Where the process keeps its data: a SQLite file, or a PostgreSQL database URL. */
export type Database = { file: string } | { url: string };

export async function startServer(db: Database, env: Record<string, string> = {}): Promise<ServerProcess> {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build first`);
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      ...('file' in db ? { LINKTRAIL_DB: db.file } : { DATABASE_URL: db.url }),
      LINKTRAIL_ADMIN_TOKEN: ADMIN_TOKEN,
      LINKTRAIL_DEMO: '0',
      LINKTRAIL_PUBLIC_RATE_LIMIT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the collector did not start in 15 s:\n${out}`)), 15_000);
    const look = () => {
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the collector exited before listening:\n${out}`));
    });
  });
  return { url, child, exited, output: () => out };
}

export async function createSite(url: string, id: string): Promise<string> {
  const res = await fetch(`${url}/api/sites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id, name: id, url: `https://${id}.example.com` }),
  });
  if (res.status !== 201) throw new Error(`creating site ${id} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export interface Acked {
  /** Visitor ids of pageviews answered 204. */
  vids: string[];
  /** Orders answered 200/201 (pixel or postback). */
  orders: string[];
}

export const acks = (a: Acked) => a.vids.length + a.orders.length;

/**
 * Sends pageviews, pixels and postbacks from `workers` concurrent loops into `acked` until
 * the process has exited (at most 20 s). Only requests answered with success count.
 */
export async function drive(
  server: ServerProcess,
  target: { site: string; token: string; tag: string },
  acked: Acked,
  /** Called right after each acknowledgement is recorded, e.g. to kill the process at that very moment. */
  onAck: () => void = () => {},
  workers = 12,
): Promise<void> {
  const { site, token, tag } = target;
  let n = 0;
  let dead = false;
  void server.exited.then(() => (dead = true));
  const ack = (list: string[], id: string) => {
    list.push(id);
    onAck();
  };
  const once = async (): Promise<void> => {
    const i = n++;
    const id = `${tag}-${i}`;
    if (i % 3 === 0) {
      const vid = `vid-${id}`;
      const res = await fetch(`${server.url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER_UA },
        body: JSON.stringify({ site, vid, url: `https://${site}.example.com/e/fest?utm_source=mail`, referrer: '' }),
      });
      if (res.status === 204) ack(acked.vids, vid);
      await res.arrayBuffer();
    } else if (i % 3 === 1) {
      const res = await fetch(`${server.url}/p.gif?site=${site}&order=px-${id}&value=45.00&item=day:1:45.00`, { headers: { 'user-agent': BROWSER_UA } });
      if (res.status === 200) ack(acked.orders, `px-${id}`);
      await res.arrayBuffer();
    } else {
      const res = await fetch(`${server.url}/api/sites/${site}/conversions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ order: `pb-${id}`, value: '90.00', items: [{ type: 'day', qty: 2, price: '45.00' }] }),
      });
      if (res.status === 201) ack(acked.orders, `pb-${id}`);
      await res.arrayBuffer();
    }
  };
  const deadline = Date.now() + 20_000;
  const worker = async () => {
    while (!dead && Date.now() < deadline) {
      try {
        await once();
      } catch {
        // Connection refused or reset: the process is going down; nothing was acknowledged.
        if (dead) return;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}
