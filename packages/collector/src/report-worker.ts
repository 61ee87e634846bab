// Reports on threads of their own, over read connections to the SQLite file. better-sqlite3
// reads synchronously, and a report can read millions of rows (two dimensions no rollup holds
// read the raw tables: ~1.4 s at 1M visits, ~40 s at 10M); on the answering thread every
// request — the public traffic's too — waited for it. Two lanes, each a thread started by its
// first report, one report at a time, in order: reports the daily rollups answer (bounded by
// days and keys, milliseconds) never wait behind one that reads raw rows, and raw ones are
// refused (429) past a few outstanding. WAL mode lets both read while the ingest worker writes.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createSqliteStore } from './db/sqlite-store.js';
import { HttpError } from './errors.js';
import { readsRollupsOnly, type ReportQuery } from './report.js';
import type { Store } from './store.js';

interface Setup {
  linktrailReports: true;
  file: string;
}

type Result = Awaited<ReturnType<Store['report']>>;
type ToWorker = { id: number; siteId: string; query: ReportQuery };
type FromWorker =
  | { id: number; result: Result }
  | { id: number; failed: { message: string; stack?: string } };

export interface ReportReader {
  report: Store['report'];
  close(): Promise<void>;
}

/**
 * Reports that read raw rows, running or waiting, at most: per site for its organiser, per
 * promoter (a report restricted to a promoter's codes), for a site's promoters together (so
 * many promoters can't take every thread), and in all. A site holds at most half of them.
 */
export const RAW_REPORTS = { perSite: 2, perPromoter: 1, promotersPerSite: 2, all: 8 } as const;

/**
 * `report` with the raw-report limits (RAW_REPORTS) in front: a report past its share is a 429
 * at once. Reports the daily rollups answer pass straight on. On this process: a site's
 * organiser and promoters on several processes get a share on each.
 */
export function limitRawReports(report: Store['report']): Store['report'] {
  const out = new Map<string, number>();
  let rawAll = 0;
  const count = (key: string) => out.get(key) ?? 0;
  const add = (key: string, n: number) => {
    const left = count(key) + n;
    if (left === 0) out.delete(key);
    else out.set(key, left);
  };
  return (siteId, query) => {
    if (readsRollupsOnly(query)) return report(siteId, query);
    // Counted by whose report it is: the organiser's, or one promoter's (whatever their codes).
    const promoter = query.codes !== undefined ? (query.promoter ?? query.codes.join(',')) : null;
    const shares: Array<[string, number]> =
      promoter === null
        ? [[`${siteId}\0site`, RAW_REPORTS.perSite]]
        : [
            [`${siteId}\0promoter\0${promoter}`, RAW_REPORTS.perPromoter],
            [`${siteId}\0promoters`, RAW_REPORTS.promotersPerSite],
          ];
    const [mineKey, mineMax] = shares[0]!;
    const mine = count(mineKey);
    const full = shares.find(([key, max]) => count(key) >= max);
    if (full || rawAll >= RAW_REPORTS.all) {
      const whose = mine >= mineMax ? `${mine} of your reports` : full ? `${count(full[0])} reports of this site's promoters` : `${rawAll} reports`;
      return Promise.reject(
        new HttpError(
          429,
          'reports_busy',
          `${whose} that read raw rows ${mine === 1 && mine >= mineMax ? 'is' : 'are'} under way; retry in a few seconds. ` +
            'Reports over whole UTC days (from/to as dates) by one dimension read the daily rollups and never wait for these.',
          { 'retry-after': '5' },
        ),
      );
    }
    for (const [key] of shares) add(key, 1);
    rawAll++;
    const done = () => {
      rawAll--;
      for (const [key] of shares) add(key, -1);
    };
    const answer = report(siteId, query);
    answer.then(done, done);
    return answer;
  };
}

/** Reports from `file` (migrated already by the main thread's store) on worker threads. */
export function reportWorker(file: string): ReportReader {
  const rollups = lane(file);
  const raw = lane(file);
  return {
    report: limitRawReports((siteId, query) => (readsRollupsOnly(query) ? rollups : raw).report(siteId, query)),
    async close() {
      await Promise.all([rollups.close(), raw.close()]);
    },
  };
}

/** One report thread: started by the first report, one report at a time, in order. */
function lane(file: string): ReportReader {
  let worker: Worker | null = null;
  const waiting = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();
  let nextId = 0;

  const start = (): Worker => {
    const w = new Worker(new URL(import.meta.url), { workerData: { linktrailReports: true, file } satisfies Setup });
    w.on('message', (m: FromWorker) => {
      const p = waiting.get(m.id);
      waiting.delete(m.id);
      if (waiting.size === 0) w.unref();
      if (!p) return;
      if ('result' in m) return p.resolve(m.result);
      // The queries come checked by the route: a failure here is ours (a 500), told with where.
      const { message, stack } = m.failed;
      p.reject(Object.assign(new Error(message), { stack: `${stack ?? message}\n    (on the report worker)` }));
    });
    w.on('error', (error) => lost(w, error));
    // Gone (a crash): what waited fails; the next report starts a new one.
    w.on('exit', (code) => lost(w, new Error(`report worker exited (${code})`)));
    return w;
  };
  const lost = (w: Worker, error: Error) => {
    if (worker !== w) return;
    worker = null;
    for (const p of waiting.values()) p.reject(error);
    waiting.clear();
  };

  return {
    report: (siteId, query) =>
      new Promise<Result>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        const w = (worker ??= start());
        // Held open only while a report is out: an idle worker never keeps the process alive.
        w.ref();
        w.postMessage({ id, siteId, query } satisfies ToWorker);
      }),
    async close() {
      const w = worker;
      if (!w) return;
      lost(w, new Error('the collector is closing'));
      // Not awaited: a query under way runs to its end before the thread stops (SQLite does
      // not look at the JavaScript engine's termination), and shutting down must not wait for it.
      void w.terminate();
    },
  };
}

/** `store` with its reports read on the report worker. */
export function readingThrough(reader: ReportReader, store: Store): Store {
  return {
    ...store,
    report: reader.report,
    async close() {
      await reader.close();
      await store.close();
    },
  };
}

function serve({ file }: Setup): void {
  // Durability is moot: this connection never writes (its migrations ran on the main thread).
  const store = createSqliteStore(file, 'commit');
  parentPort!.on('message', ({ id, siteId, query }: ToWorker) => {
    store.report(siteId, query).then(
      (result) => parentPort!.postMessage({ id, result } satisfies FromWorker),
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        parentPort!.postMessage({ id, failed: { message: e.message, stack: e.stack } } satisfies FromWorker);
      },
    );
  });
}

if (!isMainThread && (workerData as Partial<Setup> | null)?.linktrailReports) serve(workerData as Setup);
