// Group commit: every write queued during one event-loop turn is committed in one
// transaction right after the turn (setImmediate), never behind a fixed timer. Jobs run side
// by side without savepoints (two statements each, a tenth of a hit's SQLite time); when one
// throws, the batch rolls back and runs again with each job in its own savepoint, so one bad
// job fails alone (jobs must therefore be safe to run twice: all they do is in the database
// or in state that `rollback` resets). A job's promise settles only after its
// COMMIT and the fsync that follows it (wal-sync.ts), so an acknowledgement always means
// "on disk". With the fsync on libuv's thread pool, the event loop parses the next batch
// meanwhile; the ingest worker waits for it instead (wal-sync.ts says why).
// A failed fsync is the end of this writer: the kernel may have dropped the pages it could
// not write, so a later fsync could succeed over a hole. As PostgreSQL does since
// "fsyncgate", nothing more is acknowledged; the process should stop, and SQLite recovers
// what reached the disk when it starts again.
import type { Sqlite } from './open-sqlite.js';
import { noSync, type WalSync } from './wal-sync.js';

interface Job {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface Batcher {
  enqueue<T>(run: () => T): Promise<T>;
  /** Resolves when everything queued so far is committed and on disk. */
  drain(): Promise<void>;
  readonly pending: number;
}

const MAX_SYNCS = 2;

export interface BatchHooks {
  /** Runs inside each batch's transaction after its jobs (e.g. to flush rollups). */
  beforeCommit?: () => void;
  /** Forgets what the jobs of a rolled-back batch left outside the database. */
  rollback?: () => void;
  /** Runs after each COMMIT (before its fsync). */
  afterCommit?: () => void;
  /** Jobs in one transaction at most. Default 1000. */
  maxBatch?: number;
  /**
   * Commit as soon as this many jobs wait, without waiting for the end of the turn. Default:
   * never. For the ingest worker: requests arrive in chunks while the other thread is still
   * reading the rest of a wave, and their answers can go back meanwhile.
   */
  eagerAt?: number;
  /**
   * Called once, when an fsync fails (after the batch's jobs are rejected): the batcher
   * then refuses every write. Default: nothing more (the owner may stop the process).
   */
  onSyncFailure?: (error: Error) => void;
}

export function createBatcher(db: Sqlite, wal: WalSync = noSync, hooks: BatchHooks = {}): Batcher {
  const beforeCommit = hooks.beforeCommit ?? (() => {});
  const rollback = hooks.rollback ?? (() => {});
  const afterCommit = hooks.afterCommit ?? (() => {});
  const maxBatch = hooks.maxBatch ?? 1000;
  const eagerAt = hooks.eagerAt ?? Infinity;
  let queue: Job[] = [];
  let scheduled = false;
  let idle: Array<() => void> = [];
  const inSavepoint = db.transaction((run: () => unknown) => run());

  // A committed batch starts its fsync at once, so it seldom waits behind another's; past
  // MAX_SYNCS running (on libuv's pool, which is small), batches wait and share the next one.
  // An fsync covers everything committed before it began. Syncs settle in the order they
  // started: a later one that succeeds while an earlier one is still out (or then fails) may
  // sit behind a hole, so its batches wait for the earlier verdict.
  const running: Array<{ settle: Array<(error: Error | null) => void>; done: boolean; error: Error | null }> = [];
  let unsynced: Array<(error: Error | null) => void> = [];
  let failed: Error | null = null;
  const startSync = () => {
    const sync = { settle: unsynced, done: false, error: null as Error | null };
    unsynced = [];
    running.push(sync);
    wal.sync((error) => {
      sync.done = true;
      sync.error = error;
      while (running.length > 0 && running[0]!.done) {
        const { settle, error: e } = running.shift()!;
        if (e && !failed) {
          failed = Object.assign(new Error(`the write-ahead log could not be synced to disk (${e.message}): no write is accepted until the collector restarts`), {
            code: 'WAL_SYNC_FAILED',
            cause: e,
          });
          for (const s of settle) s(e);
          hooks.onSyncFailure?.(failed);
        } else {
          for (const s of settle) s(failed ?? e);
        }
      }
      if (unsynced.length > 0 && running.length < MAX_SYNCS) startSync();
      settleIdle();
    });
  };
  let flushing = false;
  const flush = () => {
    scheduled = false;
    // An eager flush may have taken everything before this turn's scheduled one came.
    if (queue.length === 0) return settleIdle();
    if (failed) {
      const refused = queue;
      queue = [];
      for (const job of refused) job.reject(failed);
      return settleIdle();
    }
    flushing = true;
    try {
      commitSome();
    } finally {
      flushing = false;
    }
  };
  const commitSome = () => {
    const jobs = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
    if (jobs === queue) queue = [];
    let outcomes: Array<{ ok: boolean; value: unknown }> = [];
    const run = (guarded: boolean) =>
      db.transaction(() => {
        outcomes = [];
        for (const job of jobs) {
          if (!guarded) {
            outcomes.push({ ok: true, value: job.run() });
            continue;
          }
          try {
            outcomes.push({ ok: true, value: inSavepoint(job.run) });
          } catch (error) {
            outcomes.push({ ok: false, value: error });
          }
        }
        beforeCommit();
        // IMMEDIATE: with a second writer on the file (the ingest worker and the main thread),
        // take the write lock up front, waiting for it (busy_timeout), rather than fail
        // when a read would have to become a write.
      }).immediate();
    try {
      try {
        run(false);
      } catch (error) {
        // The write lock never came (busy_timeout spent): no job ran, and a replay would
        // wait as long again.
        if ((error as { code?: string }).code === 'SQLITE_BUSY') throw error;
        // A job failed (the batch rolled back): again, each job alone in its savepoint.
        rollback();
        run(true);
      }
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of this batch is durable.
      rollback();
      for (const job of jobs) job.reject(error);
      return next();
    }
    afterCommit();
    unsynced.push((error) =>
      jobs.forEach((job, i) => {
        const o = outcomes[i]!;
        if (error) job.reject(error);
        else if (o.ok) job.resolve(o.value);
        else job.reject(o.value);
      }),
    );
    if (running.length < MAX_SYNCS) startSync();
    next();
  };

  const next = () => {
    if (queue.length > 0) {
      scheduled = true;
      setImmediate(flush);
    } else {
      settleIdle();
    }
  };

  const settleIdle = () => {
    if (scheduled || queue.length > 0 || running.length > 0 || unsynced.length > 0) return;
    const waiting = idle;
    idle = [];
    for (const done of waiting) done();
  };

  return {
    enqueue<T>(run: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (failed) return reject(failed);
        queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
        if (queue.length >= eagerAt && !flushing) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    drain() {
      if (!scheduled && queue.length === 0 && running.length === 0 && unsynced.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
    get pending() {
      return queue.length;
    },
  };
}
