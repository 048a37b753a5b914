// One process per store directory: two writers appending to the same log
// would interleave their blocks and destroy it. The lock is a file holding
// the owner's process id; a lock whose process is gone (killed, crashed) is
// taken over, since a crash must never keep the store from starting. It
// guards against a configuration mistake on one machine; it is not a lock
// between machines sharing a network file system.
//
// A lock that had to be taken over also says that the previous process
// ended without closing the store, which the backend needs to know (see
// load() in backend.ts). So the lock file is made durable when taken: a
// power cut must not erase that evidence along with the writes it lost.
import { open, readFile, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Errors, PosternError } from '../../errors.js';
import { FILE_MODE, LOCK_FILE, pathIn, syncDirectory } from './layout.js';

/** Directories this process holds: a lock file naming this process is stale unless listed here. */
const heldHere = new Set<string>();

export interface DirectoryLock {
  /** The previous owner never released the lock: it ended without closing the store (crash, kill, power cut). */
  readonly takenOver: boolean;
  release(): Promise<void>;
}

/** Takes the directory's lock. */
export async function lockDirectory(dir: string): Promise<DirectoryLock> {
  const key = resolve(dir);
  if (heldHere.has(key)) throw new PosternError(Errors.DATABROKER_IN_USE, `${dir} is already open in this process`);
  heldHere.add(key);
  const path = pathIn(dir, LOCK_FILE);
  let takenOver: boolean;
  try {
    takenOver = await takeLockFile(dir, path);
  } catch (err) {
    heldHere.delete(key);
    throw err;
  }
  return {
    takenOver,
    release: async () => {
      heldHere.delete(key);
      await unlink(path).catch(() => undefined);
    },
  };
}

/** Resolves true when a stale lock was taken over. */
async function takeLockFile(dir: string, path: string): Promise<boolean> {
  let takenOver = false;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', FILE_MODE);
      try {
        await handle.writeFile(`${process.pid}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await syncDirectory(dir);
      return takenOver;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
      throw new PosternError(Errors.DATABROKER_IN_USE, `${dir} is locked by process ${owner} (${path})`);
    }
    // The owner is gone, or is this process's id from an earlier life (a
    // container restarts with the same pid): take over.
    await unlink(path).catch(() => undefined);
    takenOver = true;
  }
  throw new PosternError(Errors.DATABROKER_IN_USE, `${dir}: another process took the lock (${path}) while this one was starting`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
