// The ingest worker: a thread that owns the SQLite writer and runs the public ingest path
// (public-ingest.ts) — JSON parsing, validation, classification, the visit map, the cookie
// signature, the group commit and its fsync — while the main thread only speaks HTTP.
// Requests travel as raw strings and small objects, batched one message per event-loop turn
// each way; an answer leaves only after its batch is committed (and on disk, in `disk` mode).
// The main thread keeps its own connection for reads and the rarer writes (API, shortlinks);
// both write with BEGIN IMMEDIATE, so one waits its turn instead of failing.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Durability } from './config.js';
import { createSqliteStore } from './db/sqlite-store.js';
import { exitOnSyncFailure } from './db/wal-sync.js';
import { createPublicIngest, type Answer, type PublicIngest, type PublicRequest } from './public-ingest.js';

interface Setup {
  linktrailIngest: true;
  file: string;
  sync: Durability;
  cookieSecret: string;
}

type ToWorker = { t: 'run'; list: Array<[number, PublicRequest]> } | { t: 'forget'; site: string } | { t: 'close' };
type FromWorker =
  | { t: 'ready' }
  | { t: 'answers'; list: Array<[number, Answer | Failure]> }
  | { t: 'closed' }
  | { t: 'fatal'; message: string };

/** A 5xx on the worker, as it crosses to the main thread (an Error does not survive the copy). */
interface Failure {
  failed: { message: string; code?: string; stack?: string };
}

const toFailure = (error: unknown): Failure => {
  const e = error instanceof Error ? error : new Error(String(error));
  return { failed: { message: e.message, code: (e as { code?: string }).code, stack: e.stack } };
};

const fromFailure = ({ failed }: Failure): Error =>
  Object.assign(new Error(failed.message), { code: failed.code, stack: `${failed.stack ?? failed.message}\n    (on the ingest worker)` });

/**
 * Collects items and hands them over together: `setImmediate`, after this event-loop turn
 * (requests read from many sockets), or as soon as `max` are waiting, so the worker starts
 * on the first while this thread reads the rest; `nextTick`, once the current callback and
 * its promise chains are done (the answers of one commit, which must not wait behind the
 * next batch).
 */
function perTurn<T>(send: (items: T[]) => void, later: (f: () => void) => void, max = Infinity): { add(item: T): void; flush(): void } {
  let items: T[] = [];
  let scheduled = false;
  const flush = () => {
    const all = items;
    items = [];
    if (all.length > 0) send(all);
  };
  return {
    add(item) {
      items.push(item);
      if (items.length >= max) flush();
      else if (!scheduled) {
        scheduled = true;
        later(() => {
          scheduled = false;
          flush();
        });
      }
    },
    flush,
  };
}

/** Requests per message at most (measured: 4 to 8 beat a whole turn's worth by ~10%). */
const CHUNK = 8;

const YOUNG_MB = 8;
/**
 * Jobs that make the worker commit before its turn ends, so the first answers of a wave go
 * back while the main thread still reads the rest. Measured (wrk, 50 connections, a person's
 * pageviews unless said): without the fsync, 16 (+20 to 25% over one commit per turn, bot
 * pageviews); with it, each commit also waits for a sync, so larger: 32 (+8% pageviews/s,
 * orders within noise; 16 was 7 to 11% slower than one per turn, 24 and 48 in between).
 */
const EAGER_AT: Record<Durability, number> = { commit: 16, disk: 32 };

/** Starts the worker on a SQLite file (migrated already by the main thread's store). */
export function startIngestWorker(options: { file: string; sync: Durability; cookieSecret: string }): Promise<PublicIngest> {
  const setup: Setup = { linktrailIngest: true, ...options };
  // A small young generation: the worker's garbage is short-lived, and V8's default lets
  // each thread's nursery grow to tens of MB under load (peak RSS, measured: see BENCHMARKS.md).
  const worker = new Worker(new URL(import.meta.url), { workerData: setup, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
  // Requests out on the worker, by id: slots reused as answers come back. (A Map keyed by a
  // growing counter was rehashed into a new table every few dozen requests, and those tables
  // were half of what this thread's garbage collector moved to the old generation.)
  const waiting: Array<{ resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined> = [];
  const freeIds: number[] = [];
  let closed: (() => void) | null = null;
  const post = (m: ToWorker) => worker.postMessage(m);
  const send = perTurn<[number, PublicRequest]>((list) => post({ t: 'run', list }), setImmediate, CHUNK);

  return new Promise((resolveStart, rejectStart) => {
    // Once the worker failed, nothing new is sent: answers it posted before failing still
    // arrive, and a recycled id would hand one of them to a new request.
    let dead: Error | null = null;
    const failAll = (error: Error) => {
      dead ??= error;
      for (let id = 0; id < waiting.length; id++) {
        const w = waiting[id];
        waiting[id] = undefined;
        w?.reject(error);
      }
    };
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'ready') resolveStart(ingest);
      else if (m.t === 'answers') {
        for (const [id, a] of m.list) {
          const w = waiting[id];
          if (!w) continue;
          waiting[id] = undefined;
          freeIds.push(id);
          if ('failed' in a) w.reject(fromFailure(a));
          else w.resolve(a);
        }
      } else if (m.t === 'closed') closed?.();
      else if (m.t === 'fatal') rejectStart(new Error(`ingest worker: ${m.message}`));
    });
    worker.on('error', (error) => {
      console.error('linktrail: the ingest worker failed:', error);
      rejectStart(error);
      failAll(error);
    });
    worker.on('exit', (code) => {
      const error = new Error(`ingest worker exited (${code})`);
      rejectStart(error);
      failAll(error);
      closed?.();
      // Nothing could be stored any more: stop, and let the supervisor start a fresh process.
      if (!closed) {
        console.error(`linktrail: ${error.message}; stopping`);
        process.exit(1);
      }
    });

    const ingest: PublicIngest = {
      run: (request) =>
        new Promise<Answer>((resolve, reject) => {
          if (dead) return reject(dead);
          const id = freeIds.pop() ?? waiting.length;
          waiting[id] = { resolve, reject };
          send.add([id, request]);
        }),
      forgetSite: (site) => post({ t: 'forget', site }),
      close: () =>
        new Promise<void>((resolve) => {
          closed = resolve;
          // What waits for this turn's message goes first: the worker answers all it received.
          send.flush();
          post({ t: 'close' });
        }),
    };
  });
}

async function serve(setup: Setup): Promise<void> {
  const port = parentPort!;
  // The fsync blocks this thread: its answers are what everything else waits for.
  const store = createSqliteStore(setup.file, setup.sync, {
    eagerAt: EAGER_AT[setup.sync],
    blockingSync: true,
    onSyncFailure: exitOnSyncFailure,
  });
  const ingest = await createPublicIngest({ store, cookieSecret: setup.cookieSecret });
  const reply = perTurn<[number, Answer | Failure]>((list) => port.postMessage({ t: 'answers', list } satisfies FromWorker), process.nextTick);
  // Requests not answered yet: closing waits until the last answer has gone.
  let running = 0;
  let idle: (() => void) | null = null;
  const answered = (id: number, answer: Answer | Failure) => {
    reply.add([id, answer]);
    // After the answers' own nextTick: they leave first.
    if (--running === 0 && idle) process.nextTick(idle);
  };
  port.on('message', (m: ToWorker) => {
    if (m.t === 'run') {
      for (const [id, request] of m.list) {
        running++;
        ingest.run(request).then(
          (a) => answered(id, a),
          (error: unknown) => answered(id, toFailure(error)),
        );
      }
    } else if (m.t === 'forget') ingest.forgetSite(m.site);
    else {
      // Everything received is queued already: drain it to disk, answer it all, then go.
      const allAnswered = new Promise<void>((resolve) => (running === 0 ? resolve() : (idle = resolve)));
      void Promise.all([store.close(), allAnswered]).then(() => {
        reply.flush();
        port.postMessage({ t: 'closed' } satisfies FromWorker);
        port.close();
      });
    }
  });
  port.postMessage({ t: 'ready' } satisfies FromWorker);
}

if (!isMainThread && (workerData as Partial<Setup> | null)?.linktrailIngest) {
  serve(workerData as Setup).catch((error: unknown) => {
    parentPort!.postMessage({ t: 'fatal', message: error instanceof Error ? error.message : String(error) } satisfies FromWorker);
  });
}
