// Group commit on PostgreSQL, like batcher.ts for SQLite: writes queued during one event-loop
// turn commit in one transaction on one pooled connection; a job's promise settles after
// COMMIT. While batches are in flight, new jobs queue and go out together in the next one.
//
// Each job names the locks it needs (a visitor, an order); the batch takes all of them first
// through options.lock (pg-visitors.ts), in sorted order, so concurrent batches in any
// process never deadlock on them. What the lock step answers (fresh for each transaction) is
// handed to every job and to options.beforeCommit, which runs last before COMMIT.
// Jobs that only append rows (hits) can be merged: a batch writes all their items with one
// statement per table instead of one per item, where the first of them was queued.
// No savepoints (each costs a subtransaction, and over 64 of them slow every snapshot):
// when a job fails, the batch rolls back and its jobs run again, each in its own transaction,
// so one bad job fails alone and the others commit.
import { afterFailure, type PgClient, type PgPool } from './pg-pool.js';
import { isSqlError } from '../errors.js';

export type PgJob<T, L> = (client: PgClient, locked: L) => Promise<T>;

/** Items that a batch writes together with those of other jobs of the same kind. */
export interface Mergeable<I, L> {
  kind: string;
  items: I[];
  write: (client: PgClient, items: I[], locked: L) => Promise<void>;
}

interface Queued<L> {
  run: PgJob<unknown, L> | Mergeable<unknown, L>;
  locks: string[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface PgBatcher<L> {
  /** Runs `run` in a batch transaction holding the locks `locks` (keys for options.lock). */
  enqueue<T>(run: PgJob<T, L>, locks?: string[]): Promise<T>;
  /** Queues items to be written with the other items of their kind in the same batch. */
  enqueueMerged<I>(merge: Mergeable<I, L>, locks?: string[]): Promise<void>;
  /** Resolves when everything queued so far is committed. */
  drain(): Promise<void>;
}

export interface PgBatcherOptions<L> {
  /** Takes the batch's locks (every job's keys, deduplicated) before any job runs. */
  lock: (client: PgClient, keys: string[]) => Promise<L>;
  /** Runs after the batch's jobs, in their transaction (appending its rollup changes, pg-rollups.ts). */
  beforeCommit?: (client: PgClient, locked: L) => Promise<void>;
  /** Runs once the batch has committed (to start the rollup fold, pg-folder.ts). */
  afterCommit?: (locked: L) => void;
  maxBatch?: number;
  /** Batches committing at once (pooled connections used for writes). */
  maxInFlight?: number;
}

// Deadlock or serialization failure: the same work succeeds when run again.
const RETRYABLE = new Set(['40P01', '40001']);
const sqlState = (error: unknown): string | undefined => (error as { code?: string } | null)?.code;

export function createPgBatcher<L>(pool: PgPool, options: PgBatcherOptions<L>): PgBatcher<L> {
  const maxBatch = options.maxBatch ?? 500;
  const maxInFlight = options.maxInFlight ?? 4;
  let queue: Array<Queued<L>> = [];
  let scheduled = false;
  let inFlight = 0;
  let idle: Array<() => void> = [];

  async function transaction(jobs: Array<Queued<L>>): Promise<unknown[]> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const locked = await options.lock(client, [...new Set(jobs.flatMap((j) => j.locks))]);
      const values: unknown[] = [];
      const merged = new Map<string, unknown[]>();
      for (const job of jobs) {
        if (typeof job.run === 'function') continue;
        const items = merged.get(job.run.kind);
        if (items) items.push(...job.run.items);
        else merged.set(job.run.kind, [...job.run.items]);
      }
      for (const job of jobs) {
        if (typeof job.run === 'function') values.push(await job.run(client, locked));
        else {
          const items = merged.get(job.run.kind);
          if (items) await job.run.write(client, items, locked);
          merged.delete(job.run.kind);
          values.push(undefined);
        }
      }
      if (options.beforeCommit) await options.beforeCommit(client, locked);
      await client.query('COMMIT');
      options.afterCommit?.(locked);
      return values;
    } catch (error) {
      broken = await afterFailure(client, error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async function alone(job: Queued<L>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        job.resolve((await transaction([job]))[0]);
        return;
      } catch (error) {
        if (attempt < 3 && RETRYABLE.has(sqlState(error) ?? '')) continue;
        job.reject(error);
        return;
      }
    }
  }

  async function run(jobs: Array<Queued<L>>): Promise<void> {
    try {
      const values = await transaction(jobs);
      jobs.forEach((job, i) => job.resolve(values[i]));
    } catch (error) {
      // A job failed (its own error, a deadlock): nothing of this batch is committed, so
      // each job runs again alone. A lost connection leaves the outcome unknown: fail all.
      if (!isSqlError(error)) jobs.forEach((job) => job.reject(error));
      else if (jobs.length === 1 && !RETRYABLE.has(sqlState(error) ?? '')) jobs[0]!.reject(error);
      else for (const job of jobs) await alone(job);
    }
  }

  const flush = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxInFlight) {
      const jobs = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
      if (jobs === queue) queue = [];
      inFlight++;
      void run(jobs).finally(() => {
        inFlight--;
        if (queue.length > 0) schedule();
        else if (inFlight === 0) {
          const waiting = idle;
          idle = [];
          for (const done of waiting) done();
        }
      });
    }
  };

  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  return {
    enqueue<T>(job: PgJob<T, L>, locks: string[] = []): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run: job as PgJob<unknown, L>, locks, resolve: resolve as (v: unknown) => void, reject });
        schedule();
      });
    },
    enqueueMerged<I>(merge: Mergeable<I, L>, locks: string[] = []): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ run: merge as Mergeable<unknown, L>, locks, resolve: resolve as (v: unknown) => void, reject });
        schedule();
      });
    },
    drain() {
      if (!scheduled && queue.length === 0 && inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
