import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../src/db/open-sqlite.js';
import { createWalSync } from '../src/db/wal-sync.js';

const syncOnce = (sync: ReturnType<typeof createWalSync>) => new Promise<Error | null>((resolve) => sync.sync(resolve));

describe('WAL fsync (wal-sync)', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
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

  for (const blocking of [false, true]) {
    it(`${blocking ? 'blocking' : 'on the thread pool'}: calls back once, after the sync, never inside the call`, async () => {
      const { db, file } = database();
      const sync = createWalSync(file, { blocking });
      let calls = 0;
      const done = new Promise<Error | null>((resolve) =>
        sync.sync((error) => {
          calls++;
          resolve(error);
        }),
      );
      // The batcher counts the sync as running when the call returns: the answer comes later.
      expect(calls).toBe(0);
      expect(await done).toBeNull();
      expect(calls).toBe(1);
      sync.close();
      db.close();
    });

    it(`${blocking ? 'blocking' : 'on the thread pool'}: reports a WAL file that is gone as an error, without throwing`, async () => {
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
