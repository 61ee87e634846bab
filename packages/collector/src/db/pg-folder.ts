// Folds pending rollup changes (pg-rollups.ts) into the rollup tables, off the path that
// acknowledges writes: a short while after a batch commits pending rows, one fold at a time
// per process, each in its own transaction, until nothing unclaimed is left. Any process folds
// what any other left behind (a crashed one's pending rows are folded by the next fold).
import type { PgPool } from './pg-pool.js';
import { foldPending } from './pg-rollups.js';

export interface RollupFolder {
  /** Asks for a fold soon (after delayMs), unless one is due already. */
  request(): void;
  /** Folds everything pending now (waiting for a fold in progress); for shutdown and tests. */
  flush(): Promise<void>;
  /** Stops folding; pending rows stay for any process to fold. */
  close(): Promise<void>;
}

export interface RollupFolderOptions {
  /** Wait after a request, so one fold takes many batches' changes. Default 50 ms. */
  delayMs?: number;
  /** Pending rows claimed per fold transaction. Default 5,000. */
  limit?: number;
  /** A failed fold (its rows stay pending and are folded later). */
  onError: (error: unknown) => void;
}

export function createRollupFolder(pool: PgPool, options: RollupFolderOptions): RollupFolder {
  const delayMs = options.delayMs ?? 50;
  const limit = options.limit ?? 5000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;

  async function foldOnce(): Promise<number> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const folded = await foldPending(client, limit);
      await client.query('COMMIT');
      return folded;
    } catch (error) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async function foldAll(): Promise<void> {
    while ((await foldOnce()) >= limit);
  }

  function run(): Promise<void> {
    timer = null;
    running = foldAll()
      .catch(options.onError)
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          request();
        }
      });
    return running;
  }

  function request(): void {
    if (closed || timer) return;
    if (running) again = true;
    else {
      timer = setTimeout(run, delayMs);
      timer.unref();
    }
  }

  return {
    request,
    async flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      while (running) await running;
      await foldAll();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      while (running) await running;
    },
  };
}
