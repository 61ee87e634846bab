import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openSqlite } from '../src/db/open-sqlite.js';
import { createWalSync } from '../src/db/wal-sync.js';

// The real fdatasync, watched, and made to fail on demand (a disk error cannot be had for real).
const disk = vi.hoisted(() => ({ fail: false, synced: [] as Array<{ fd: number; how: 'pool' | 'blocking' }> }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const eio = () => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  return {
    ...real,
    fdatasync: (fd: number, done: (error: Error | null) => void) => {
      if (disk.fail) return process.nextTick(done, eio());
      real.fdatasync(fd, (error) => {
        disk.synced.push({ fd, how: 'pool' });
        done(error);
      });
    },
    fdatasyncSync: (fd: number) => {
      if (disk.fail) throw eio();
      real.fdatasyncSync(fd);
      disk.synced.push({ fd, how: 'blocking' });
    },
  };
});

const syncOnce = (sync: ReturnType<typeof createWalSync>) => new Promise<Error | null>((resolve) => sync.sync(resolve));

describe('WAL fsync (wal-sync)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
    disk.fail = false;
    disk.synced = [];
  });
  const database = () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-walsync-'));
    dirs.push(dir);
    const file = join(dir, 'db.sqlite');
    const { db, wal } = openSqlite(file);
    expect(wal).toBe(true);
    db.exec('CREATE TABLE t (x)');
    db.prepare('INSERT INTO t VALUES (1)').run();
    return { db, file };
  };
  /** The inode of the file an fd is open on. */
  const inodeOf = (fd: number) => fs.fstatSync(fd).ino;

  for (const blocking of [false, true]) {
    const how = blocking ? 'blocking' : 'pool';
    it(`${how}: calls back once, after syncing the WAL file, never inside the call`, async () => {
      const { db, file } = database();
      const sync = createWalSync(file, { blocking });
      let calls = 0;
      const done = new Promise<Error | null>((resolve) =>
        sync.sync((error) => {
          calls++;
          // By now the WAL itself was synced, the chosen way.
          expect(disk.synced).toHaveLength(1);
          resolve(error);
        }),
      );
      // The batcher counts the sync as running when the call returns: the answer comes later.
      expect(calls).toBe(0);
      expect(await done).toBeNull();
      expect(calls).toBe(1);
      expect(disk.synced[0]!.how).toBe(how);
      expect(inodeOf(disk.synced[0]!.fd)).toBe(fs.statSync(`${file}-wal`).ino);
      sync.close();
      db.close();
    });

    it(`${how}: reports a failed fdatasync as an error, without throwing`, async () => {
      const { db, file } = database();
      const sync = createWalSync(file, { blocking });
      disk.fail = true;
      let returned = false;
      const answer = new Promise<Error | null>((resolve) => {
        sync.sync(resolve);
        returned = true;
      });
      expect(returned).toBe(true);
      expect(await answer).toMatchObject({ code: 'EIO' });
      sync.close();
      db.close();
    });

    it(`${how}: reports a WAL file that is gone as an error, without throwing`, async () => {
      const { db, file } = database();
      db.close();
      // Closing the last connection checkpoints and deletes the WAL.
      expect(existsSync(`${file}-wal`)).toBe(false);
      const sync = createWalSync(file, { blocking });
      const error = await syncOnce(sync);
      expect((error as NodeJS.ErrnoException | null)?.code).toBe('ENOENT');
      sync.close();
    });
  }
});
