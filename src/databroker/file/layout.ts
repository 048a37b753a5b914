// The files of a store directory and the file-system steps that make
// changes to them durable.
//
//   snapshot.pst            the latest snapshot; names the first log segment after it
//   snapshot.pst.tmp        a snapshot being written (a leftover means a crash: ignored and removed)
//   log-NNNNNNNNNN.pst      log segments, numbered without gaps from the one the snapshot names
//   log-NNNNNNNNNN.pst.tmp  the first segment of an adopted history, before its rename: renamed by
//                           the load when the snapshot names it, otherwise a leftover, removed
//   *.corrupt-…             damaged data moved aside by a recovery; never read, never deleted
//   lock                    the process id of the process using the directory
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const SNAPSHOT_FILE = 'snapshot.pst';
export const TEMP_SUFFIX = '.tmp';
export const LOCK_FILE = 'lock';
/** Files hold sealed data only, but still: owner only. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

const SEGMENT_DIGITS = 10;

export function segmentFileName(segment: number): string {
  return `log-${String(segment).padStart(SEGMENT_DIGITS, '0')}.pst`;
}

/** The segment number of a log file name, or null for any other name. */
export function parseSegmentFileName(name: string): number | null {
  if (name.length !== 4 + SEGMENT_DIGITS + 4 || !name.startsWith('log-') || !name.endsWith('.pst')) return null;
  let n = 0;
  for (let i = 4; i < 4 + SEGMENT_DIGITS; i++) {
    const c = name.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return null;
    n = n * 10 + c;
  }
  return n;
}

export interface DirectoryListing {
  readonly hasSnapshot: boolean;
  /** Segment numbers, ascending. */
  readonly segments: readonly number[];
  /** Names ending in `.tmp`: unfinished snapshots and segments. */
  readonly temporaries: readonly string[];
}

export async function listDirectory(dir: string): Promise<DirectoryListing> {
  const names = await readdir(dir);
  const segments: number[] = [];
  const temporaries: string[] = [];
  let hasSnapshot = false;
  for (const name of names) {
    if (name === SNAPSHOT_FILE) hasSnapshot = true;
    else if (name.endsWith(TEMP_SUFFIX)) temporaries.push(name);
    else {
      const segment = parseSegmentFileName(name);
      if (segment !== null) segments.push(segment);
    }
  }
  segments.sort((a, b) => a - b);
  return { hasSnapshot, segments, temporaries };
}

/** A name for damaged data moved aside, unique among `taken`. */
export function asideName(name: string, now: Date, taken: ReadonlySet<string>): string {
  const base = `${name}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  let candidate = base;
  for (let i = 2; taken.has(candidate); i++) candidate = `${base}-${i}`;
  return candidate;
}

/** Makes creations, renames and deletions in `dir` durable: without it a crash can undo them. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function pathIn(dir: string, name: string): string {
  return join(dir, name);
}
