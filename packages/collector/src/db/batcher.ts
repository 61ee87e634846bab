// Group commit: every write queued during one event-loop turn is committed in one
// transaction right after the turn (setImmediate), never behind a fixed timer. Each job runs
// in its own savepoint, so one bad job fails alone. A job's promise settles after COMMIT,
// so an acknowledgement always means "on disk".
import type { Sqlite } from './open-sqlite.js';

interface Job {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface Batcher {
  enqueue<T>(run: () => T): Promise<T>;
  /** Resolves when everything queued so far is committed. */
  drain(): Promise<void>;
  readonly pending: number;
}

/** beforeCommit runs inside each batch's transaction after its jobs (e.g. to flush rollups). */
export function createBatcher(db: Sqlite, beforeCommit: () => void = () => {}, maxBatch = 1000): Batcher {
  let queue: Job[] = [];
  let scheduled = false;
  let idle: Array<() => void> = [];
  const inSavepoint = db.transaction((run: () => unknown) => run());

  const flush = () => {
    scheduled = false;
    const jobs = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
    if (jobs === queue) queue = [];
    const outcomes: Array<{ ok: boolean; value: unknown }> = [];
    try {
      db.transaction(() => {
        for (const job of jobs) {
          try {
            outcomes.push({ ok: true, value: inSavepoint(job.run) });
          } catch (error) {
            outcomes.push({ ok: false, value: error });
          }
        }
        beforeCommit();
      })();
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of this batch is durable.
      for (const job of jobs) job.reject(error);
      return next();
    }
    jobs.forEach((job, i) => (outcomes[i]!.ok ? job.resolve(outcomes[i]!.value) : job.reject(outcomes[i]!.value)));
    next();
  };

  const next = () => {
    if (queue.length > 0) {
      scheduled = true;
      setImmediate(flush);
    } else {
      const waiting = idle;
      idle = [];
      for (const done of waiting) done();
    }
  };

  return {
    enqueue<T>(run: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    drain() {
      if (!scheduled && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
    get pending() {
      return queue.length;
    },
  };
}
