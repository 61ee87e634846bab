import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBatcher } from '../src/db/batcher.js';

describe('group commit (batcher)', () => {
  it('commits the jobs of one turn together; a failing job fails alone and the batch is replayed without it', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    // State outside the database that jobs add to and the rollback hook resets, as the rollups do.
    let pending: number[] = [];
    const flushed: number[][] = [];
    let rollbacks = 0;
    const batcher = createBatcher(db, undefined, {
      beforeCommit: () => {
        flushed.push(pending);
        pending = [];
      },
      rollback: () => {
        rollbacks++;
        pending = [];
      },
    });
    const insert = (x: number) => () => {
      db.prepare('INSERT INTO t (x) VALUES (?)').run(x);
      pending.push(x);
      return x;
    };
    const results = await Promise.allSettled([batcher.enqueue(insert(1)), batcher.enqueue(insert(1)), batcher.enqueue(insert(2))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(db.prepare('SELECT x FROM t ORDER BY x').pluck().all()).toEqual([1, 2]);
    // One rollback (of the unguarded run), then one commit holding each good job's state once.
    expect(rollbacks).toBe(1);
    expect(flushed).toEqual([[1, 2]]);

    // A batch without failures commits once and never rolls back.
    await Promise.all([batcher.enqueue(insert(3)), batcher.enqueue(insert(4))]);
    expect(rollbacks).toBe(1);
    expect(flushed).toEqual([[1, 2], [3, 4]]);
    await batcher.drain();
    db.close();
  });

  it('when the write lock never comes, fails the batch once instead of waiting twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linktrail-busy-'));
    const holder = new Database(join(dir, 'busy.db'));
    holder.pragma('journal_mode = WAL');
    holder.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    const db = new Database(join(dir, 'busy.db'));
    db.pragma('busy_timeout = 100');
    let rollbacks = 0;
    const batcher = createBatcher(db, undefined, { rollback: () => rollbacks++ });
    holder.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    const result = await batcher.enqueue(() => db.prepare('INSERT INTO t (x) VALUES (1)').run()).catch((error: unknown) => error);
    const waited = Date.now() - started;
    holder.exec('ROLLBACK');
    expect(result).toMatchObject({ code: 'SQLITE_BUSY' });
    expect(rollbacks).toBe(1);
    expect(waited).toBeLessThan(190);
    await batcher.drain();
    db.close();
    holder.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with eagerAt, commits each time that many jobs wait, and the rest after the turn', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    const commits: number[] = [];
    let jobs = 0;
    const batcher = createBatcher(db, undefined, { beforeCommit: () => (commits.push(jobs), (jobs = 0)), eagerAt: 3 });
    const insert = (x: number) => () => {
      db.prepare('INSERT INTO t (x) VALUES (?)').run(x);
      jobs++;
    };
    const done = [1, 2, 3, 4, 5, 6, 7].map((x) => batcher.enqueue(insert(x)));
    // Two batches of 3 are committed already, before the turn ends; the 7th waits for it.
    expect(commits).toEqual([3, 3]);
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(6);
    await Promise.all(done);
    expect(commits).toEqual([3, 3, 1]);
    await batcher.drain();
    db.close();
  });

  /** Lets the event loop finish a turn (the batcher commits and settles after it). */
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  /** A WalSync whose syncs the test answers by hand, in the order they were asked for. */
  const manualSync = () => {
    const pending: Array<(error: Error | null) => void> = [];
    return { pending, wal: { sync: (done: (error: Error | null) => void) => void pending.push(done), close() {} } };
  };
  const settled = <T,>(p: Promise<T>) => {
    const state = { done: false, error: undefined as unknown };
    p.then(
      () => (state.done = true),
      (error: unknown) => ((state.done = true), (state.error = error)),
    );
    return state;
  };

  it('answers a job only after the fsync that follows its commit', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    const { pending, wal } = manualSync();
    const batcher = createBatcher(db, wal, { eagerAt: 2 });
    const jobs = [1, 2].map((x) => settled(batcher.enqueue(() => db.prepare('INSERT INTO t (x) VALUES (?)').run(x))));
    // Committed at once (eagerAt), the sync asked for, nobody answered yet.
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(2);
    expect(pending).toHaveLength(1);
    await turn();
    expect(jobs.map((j) => j.done)).toEqual([false, false]);
    pending[0]!(null);
    await turn();
    expect(jobs).toEqual([{ done: true, error: undefined }, { done: true, error: undefined }]);
    await batcher.drain();
    db.close();
  });

  it('after a failed fsync, acknowledges nothing more: later syncs do not count, later writes are refused', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    const { pending, wal } = manualSync();
    const failures: Error[] = [];
    const batcher = createBatcher(db, wal, { eagerAt: 1, onSyncFailure: (error) => failures.push(error) });
    const insert = (x: number) => () => db.prepare('INSERT INTO t (x) VALUES (?)').run(x);
    // Three batches: two syncs running (the most at once), the third batch waiting for one.
    const a = settled(batcher.enqueue(insert(1)));
    const b = settled(batcher.enqueue(insert(2)));
    const c = settled(batcher.enqueue(insert(3)));
    expect(pending).toHaveLength(2);
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    pending[0]!(eio);
    await turn();
    expect(a.error).toBe(eio);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'WAL_SYNC_FAILED', cause: eio });
    expect(failures[0]!.message).toMatch(/could not be synced to disk \(EIO: i\/o error, fdatasync\)/);
    // Syncs that succeed after the failure may sit over pages the kernel dropped: the batches
    // they cover stay stored, but unacknowledged.
    expect(pending).toHaveLength(3);
    pending[1]!(null);
    pending[2]!(null);
    await turn();
    expect(b.error).toBe(failures[0]);
    expect(c.error).toBe(failures[0]);
    // A new write is refused without running.
    let ran = false;
    const d = await batcher.enqueue(() => (ran = true)).catch((error: unknown) => error);
    expect(d).toBe(failures[0]);
    expect(ran).toBe(false);
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(3);
    expect(failures).toHaveLength(1);
    await batcher.drain();
    db.close();
  });

  it('settles syncs in the order they started: a later success waits for an earlier failure, and fails with it', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    const { pending, wal } = manualSync();
    const batcher = createBatcher(db, wal, { eagerAt: 1 });
    const a = settled(batcher.enqueue(() => db.prepare('INSERT INTO t (x) VALUES (1)').run()));
    const b = settled(batcher.enqueue(() => db.prepare('INSERT INTO t (x) VALUES (2)').run()));
    expect(pending).toHaveLength(2);
    // The second fsync comes back first, and well: its batch still waits for the first.
    pending[1]!(null);
    await turn();
    expect([a.done, b.done]).toEqual([false, false]);
    pending[0]!(Object.assign(new Error('EIO'), { code: 'EIO' }));
    await turn();
    expect(a.error).toMatchObject({ code: 'EIO' });
    expect(b.error).toMatchObject({ code: 'WAL_SYNC_FAILED' });
    await batcher.drain();
    db.close();
  });

  it('refuses the jobs still queued when a sync fails', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    const { pending, wal } = manualSync();
    const batcher = createBatcher(db, wal);
    const a = settled(batcher.enqueue(() => db.prepare('INSERT INTO t (x) VALUES (1)').run()));
    await turn();
    expect(pending).toHaveLength(1);
    // Queued in this turn, to be committed after it: the failure comes first.
    const ran: number[] = [];
    const later = settled(batcher.enqueue(() => ran.push(2)));
    pending[0]!(new Error('EIO'));
    await turn();
    await turn();
    expect(a.error).toMatchObject({ message: 'EIO' });
    expect(later.error).toMatchObject({ code: 'WAL_SYNC_FAILED' });
    expect(ran).toEqual([]);
    await batcher.drain();
    db.close();
  });
});
