// Durability off the event loop. SQLite runs with synchronous=NORMAL, so a COMMIT writes its
// WAL frames to the OS (safe from kill -9 at once) without the fsync that FULL would block
// the whole process on. This module makes them safe from power loss too: one fdatasync of
// the WAL file on libuv's thread pool, and only then are the batch's requests acknowledged.
// Same guarantee as synchronous=FULL (acknowledged = on disk), while the next batch is parsed.
import { closeSync, fdatasync, openSync, statSync } from 'node:fs';

export interface WalSync {
  /** Calls back once everything committed before this call is on disk. */
  sync(done: (error: Error | null) => void): void;
  close(): void;
}

/** For a database without a file (":memory:"), durability is moot: answer at once. */
export const noSync: WalSync = { sync: (done) => queueMicrotask(() => done(null)), close() {} };

export function createWalSync(dbFile: string): WalSync {
  const path = `${dbFile}-wal`;
  let fd: number | null = null;
  let inode = -1;
  const open = (): number => {
    // SQLite keeps the same WAL file while a connection is open (it rewinds, never deletes),
    // but a changed inode would mean syncing the wrong file: check before every sync.
    const ino = statSync(path).ino;
    if (fd === null || ino !== inode) {
      if (fd !== null) closeSync(fd);
      fd = openSync(path, 'r+');
      inode = ino;
    }
    return fd;
  };
  return {
    sync(done) {
      let handle: number;
      try {
        handle = open();
      } catch (error) {
        return queueMicrotask(() => done(error as Error));
      }
      fdatasync(handle, (error) => done(error));
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
