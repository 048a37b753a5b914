// The `file` storage backend: an encrypted append-only log of changes, cut
// into segments, plus periodic encrypted snapshots, in one directory.
//
// A write is encoded at once (so a value that cannot be stored fails its own
// caller), given the next version, and queued. One loop appends what is
// queued as one write system call, makes it durable per the fsync policy,
// then applies it to the backend's own view of the store and acknowledges
// it. Writes that arrive while the loop waits on the disk share its next
// append and fsync (group commit).
//
// The backend keeps the store's records (the same frozen objects its changes
// carry, so a replica holding them costs no second copy of the data) in
// order to write snapshots on its own. A snapshot is taken between two
// appends: the loop opens a new segment that starts after the snapshot's
// version (durably, before anything goes into it) and writes the snapshot in
// the background while appends go on into the new segment. Load therefore
// reads the snapshot, then every segment from the one it names, in order.
//
// adopt() replaces the store with another history's snapshot, between two
// appends too: the new history's first segment is made under a temporary
// name, the snapshot naming it is installed (the commit point), and only
// then is the segment renamed and the old log removed. A load finishes a
// rename the crash interrupted, and removes a segment no snapshot names.
// The same steps give the store a new history when it is opened after a
// process that did not close it (see #startNewHistory).
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Change, StorageBackend, StoreSnapshot, ValueSealer, WriteOp } from '../backend.js';
import type { DataRecord } from '../types.js';
import { randomId } from '../../crypto/random.js';
import { Errors, PosternError } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import { encodeChange, makeRecord } from './codec.js';
import { DatabrokerCorruptError, NOTHING_TO_KEEP_ADVICE, RECOVERY_ADVICE, type Damage } from './corrupt.js';
import { asideName, DIR_MODE, FILE_MODE, listDirectory, pathIn, segmentFileName, SNAPSHOT_FILE, syncDirectory, TEMP_SUFFIX } from './layout.js';
import { lockDirectory, type DirectoryLock } from './lock.js';
import { MAX_CHANGE_BYTES, readSegment, SegmentWriter, type EncodedChange, type SegmentHeader } from './segment.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';

/**
 * When a write is acknowledged:
 * - `always`: after an fsync that covers it (writes waiting meanwhile share the next one);
 * - `batch`: after an fsync too, but at most one fsync per `batchIntervalMs`: a write waits up to that long.
 *   Fewer fsyncs (for volumes that charge per operation, or where one is slow) for more latency; where fsync
 *   is fast, `always` with its group commit is both quicker and as safe;
 * - `never`: once the operating system has the bytes. A crash of Postern loses nothing; a crash of the
 *   machine or a power cut loses the writes of the last seconds (whatever the kernel had not yet written).
 */
export type FsyncPolicy = 'always' | 'batch' | 'never';

export const DEFAULT_SNAPSHOT_EVERY = 100_000;
export const DEFAULT_BATCH_INTERVAL_MS = 10;

export interface FileBackendOptions {
  /** The store's directory; created (owner only) when missing. */
  readonly dir: string;
  readonly sealer: ValueSealer;
  /** Default `always`. */
  readonly fsync?: FsyncPolicy;
  /** `batch` only: the shortest time between two fsyncs. */
  readonly batchIntervalMs?: number;
  /**
   * A snapshot is taken once this many changes were logged since the last one, and at least as many as
   * the store has records, so that the work of writing snapshots stays proportional to the writes.
   */
  readonly snapshotEvery?: number;
  /**
   * On damage, keep every change before the damaged block, move the rest of the log aside
   * (`*.corrupt-<time>` files, never deleted), log what was dropped and start. Without it a damaged
   * store refuses to start. It refuses all the same when nothing at all could be read (a wrong key, most
   * likely), and for a damaged snapshot, since nothing after a snapshot means anything without it. After a
   * power cut on a file system that may extend a file before writing its data (ext4 with data=writeback,
   * XFS), the last block can read as damage rather than as a torn write: this option is the way out.
   */
  readonly recoverValidPrefix?: boolean;
  readonly logger: Logger;
}

interface Pending extends EncodedChange {
  readonly change: Change;
  readonly resolve: (change: Change) => void;
  readonly reject: (err: Error) => void;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface Adoption extends Waiter {
  readonly snapshot: StoreSnapshot;
}

export async function openFileBackend(options: FileBackendOptions): Promise<StorageBackend> {
  const snapshotEvery = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  if (!Number.isSafeInteger(snapshotEvery) || snapshotEvery < 1) throw new RangeError(`snapshotEvery must be a positive integer, not ${snapshotEvery}`);
  const batchIntervalMs = options.batchIntervalMs ?? DEFAULT_BATCH_INTERVAL_MS;
  if (!Number.isFinite(batchIntervalMs) || batchIntervalMs < 0) throw new RangeError(`batchIntervalMs must be a number of milliseconds, not ${batchIntervalMs}`);
  const fsync = options.fsync ?? 'always';
  if (fsync !== 'always' && fsync !== 'batch' && fsync !== 'never') throw new RangeError(`fsync must be always, batch or never, not ${String(fsync)}`);
  await mkdir(options.dir, { recursive: true, mode: DIR_MODE });
  const lock = await lockDirectory(options.dir);
  return new FileBackend({ ...options, fsync }, snapshotEvery, batchIntervalMs, lock);
}

class FileBackend implements StorageBackend {
  readonly kind = 'file';
  readonly #dir: string;
  readonly #sealer: ValueSealer;
  readonly #fsync: FsyncPolicy;
  readonly #batchIntervalMs: number;
  readonly #snapshotEvery: number;
  readonly #recover: boolean;
  readonly #logger: Logger;
  readonly #lock: DirectoryLock;

  #state: 'new' | 'loading' | 'open' | 'closing' | 'closed' = 'new';
  #closing: Promise<void> | null = null;
  /** Durable records by type, then id. */
  readonly #records = new Map<string, Map<string, DataRecord>>();
  #recordCount = 0;
  #serverVersion = '';
  /** The last version given to a write. */
  #version = 0;
  /** The last version acknowledged (in the log per the policy). */
  #durableVersion = 0;
  #segment: SegmentWriter | null = null;
  #pending: Pending[] = [];
  #draining = false;
  #drained: Promise<void> = Promise.resolve();
  #lastSyncAt = 0;
  #changesSinceSnapshot = 0;
  #snapshotting: Promise<void> | null = null;
  #snapshotWaiters: Waiter[] = [];
  /** An adopt() waiting for the append loop; writes are refused meanwhile. */
  #adoption: Adoption | null = null;
  /** Set by the first failed append or fsync: after it nothing on disk can be trusted to follow on. */
  #failure: PosternError | null = null;

  constructor(options: FileBackendOptions & { readonly fsync: FsyncPolicy }, snapshotEvery: number, batchIntervalMs: number, lock: DirectoryLock) {
    this.#dir = options.dir;
    this.#sealer = options.sealer;
    this.#fsync = options.fsync;
    this.#batchIntervalMs = batchIntervalMs;
    this.#snapshotEvery = snapshotEvery;
    this.#recover = options.recoverValidPrefix === true;
    this.#logger = options.logger;
    this.#lock = lock;
  }

  async load(): Promise<StoreSnapshot> {
    if (this.#state !== 'new') throw new Error('load() is called once, before anything else');
    this.#state = 'loading';
    try {
      await this.#restore();
      if (this.#lock.takenOver) await this.#startNewHistory();
    } catch (err) {
      this.#state = 'closed';
      await this.#segment?.close().catch(() => undefined);
      await this.#lock.release();
      throw err;
    }
    this.#state = 'open';
    this.#logger.info(
      { dir: this.#dir, serverVersion: this.#serverVersion, version: this.#version, records: this.#recordCount, fsync: this.#fsync },
      'databroker file storage loaded',
    );
    return { serverVersion: this.#serverVersion, version: this.#version, records: this.#allRecords() };
  }

  write(op: WriteOp): Promise<Change> {
    if (this.#state !== 'open') {
      return Promise.reject(
        this.#state === 'new' || this.#state === 'loading'
          ? new Error('write() before load() finished')
          : new PosternError(Errors.DATABROKER_CLOSED),
      );
    }
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#adoption !== null) return Promise.reject(new PosternError(Errors.DATABROKER_WRITE_REFUSED, 'the file storage is replacing its history (adopt)'));
    if (typeof op.type !== 'string' || typeof op.id !== 'string') return Promise.reject(new TypeError('a record type and id are strings'));
    if (!Number.isFinite(op.modifiedAt)) return Promise.reject(new RangeError(`modifiedAt must be a finite number, not ${op.modifiedAt}`));
    if (op.expiresAt !== null && !Number.isFinite(op.expiresAt)) {
      return Promise.reject(new RangeError(`expiresAt must be a finite number of milliseconds or null, not ${op.expiresAt}`));
    }
    let bytes: Buffer;
    try {
      bytes = encodeChange(op);
    } catch (err) {
      return Promise.reject(new TypeError(`the ${op.type} record cannot be encoded`, { cause: err }));
    }
    if (bytes.length > MAX_CHANGE_BYTES) return Promise.reject(new RangeError(`the ${op.type} record is ${bytes.length} bytes encoded; at most ${MAX_CHANGE_BYTES}`));
    const version = ++this.#version;
    const record = op.data === null ? null : makeRecord(op.type, op.id, version, op.data, op.modifiedAt, op.expiresAt);
    const change: Change = Object.freeze({ version, type: op.type, id: op.id, record });
    return new Promise<Change>((resolve, reject) => {
      this.#pending.push({ version, bytes, change, resolve, reject });
      this.#kick();
    });
  }

  /**
   * Writes a snapshot of the durable state as it is when the compaction
   * starts (so it holds everything `snapshot` holds; `snapshot` is only
   * checked to belong to this history and not to be ahead of it), then
   * removes the log before it. Resolves once the snapshot is installed.
   */
  compact(snapshot: StoreSnapshot): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new PosternError(Errors.DATABROKER_CLOSED, `the file storage is ${this.#state}`));
    if (snapshot.serverVersion !== this.#serverVersion) return Promise.reject(new RangeError(`the snapshot belongs to history ${snapshot.serverVersion}, not ${this.#serverVersion}`));
    if (snapshot.version > this.#version) return Promise.reject(new RangeError(`the snapshot is at version ${snapshot.version}, ahead of the log (${this.#version})`));
    return new Promise<void>((resolve, reject) => {
      this.#snapshotWaiters.push({ resolve, reject });
      this.#kick();
    });
  }

  /**
   * Replaces the store with `snapshot`, another history, once the writes
   * already issued are durable (see StorageBackend.adopt). Resolves once the
   * snapshot is installed; from then on a restart loads exactly it and the
   * writes that follow. A failure before that leaves the store as it was;
   * one after it stops the store, as a failed append does.
   */
  adopt(snapshot: StoreSnapshot): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new PosternError(Errors.DATABROKER_CLOSED, `the file storage is ${this.#state}`));
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#adoption !== null) return Promise.reject(new Error('adopt() is already under way'));
    if (typeof snapshot.serverVersion !== 'string' || snapshot.serverVersion === '') return Promise.reject(new RangeError('the snapshot names no history'));
    if (snapshot.serverVersion === this.#serverVersion) return Promise.reject(new RangeError(`adopt() starts another history; ${snapshot.serverVersion} is the current one`));
    if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) return Promise.reject(new RangeError(`the snapshot's version must be a count, not ${snapshot.version}`));
    return new Promise<void>((resolve, reject) => {
      this.#adoption = { snapshot, resolve, reject };
      this.#kick();
    });
  }

  health(): { readonly ok: boolean; readonly detail: string } {
    if (this.#failure !== null) return { ok: false, detail: this.#failure.message };
    if (this.#state !== 'open') return { ok: false, detail: `file storage ${this.#state}` };
    return { ok: true, detail: `file storage in ${this.#dir}, fsync ${this.#fsync}, version ${this.#durableVersion}` };
  }

  /** Acknowledges what is queued, waits for a snapshot being written, makes everything durable and unlocks the directory. */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'closed';
      await this.#lock.release();
      return;
    }
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    while (this.#draining || this.#snapshotting !== null) {
      await this.#drained;
      await this.#snapshotting;
    }
    for (const waiter of this.#snapshotWaiters.splice(0)) waiter.reject(new PosternError(Errors.DATABROKER_CLOSED));
    this.#adoption?.reject(new PosternError(Errors.DATABROKER_CLOSED));
    this.#adoption = null;
    const segment = this.#segment;
    this.#segment = null;
    try {
      if (segment !== null && this.#failure === null) await segment.sync();
    } finally {
      await segment?.close().catch(() => undefined);
      this.#state = 'closed';
      await this.#lock.release();
    }
  }

  // ── Loading ────────────────────────────────────────────────────────────

  async #restore(): Promise<void> {
    const dir = this.#dir;
    const listing = await listDirectory(dir);
    let serverVersion: string | null = null;
    let lastVersion = 0;
    let firstSegment = 1;
    if (listing.hasSnapshot) {
      const snapshot = await readSnapshot(dir, this.#sealer, (record) => this.#set(record));
      ({ serverVersion, version: lastVersion, nextSegment: firstSegment } = snapshot);
    }

    const segments = [...listing.segments];
    for (const name of listing.temporaries) {
      const path = pathIn(dir, name);
      // An adopted history's first segment, once its snapshot is installed, is live whatever its name.
      if (listing.hasSnapshot && name === segmentFileName(firstSegment) + TEMP_SUFFIX && !segments.includes(firstSegment)) {
        await rename(path, pathIn(dir, segmentFileName(firstSegment)));
        await syncDirectory(dir);
        segments.push(firstSegment);
        segments.sort((a, b) => a - b);
        this.#logger.info({ file: path }, 'finished installing an adopted history (a crash came before its first segment was renamed)');
        continue;
      }
      await unlink(path);
      this.#logger.info({ file: path }, name === SNAPSHOT_FILE + TEMP_SUFFIX ? 'removed an unfinished snapshot left by a crash' : 'removed an unfinished log segment left by a crash');
    }

    // Segments before the snapshot's are covered by it: a crash came between installing it and deleting them.
    const obsolete = segments.filter((s) => s < firstSegment);
    const live = segments.filter((s) => s >= firstSegment);
    let contiguous = 0;
    while (contiguous < live.length && live[contiguous] === firstSegment + contiguous) contiguous++;
    const stranded = live.slice(contiguous);

    let writer: SegmentWriter | null = null;
    let damage: Damage | null = null;
    for (let i = 0; i < contiguous && damage === null; i++) {
      const segment = live[i]!;
      const path = pathIn(dir, segmentFileName(segment));
      const last = i === contiguous - 1 && stranded.length === 0;
      const result = await readSegment(path, { segment, serverVersion, startVersion: lastVersion + 1, last }, this.#sealer, (change) => this.#apply(change));
      serverVersion ??= result.header?.serverVersion ?? null;
      lastVersion = result.lastVersion;
      if (result.status === 'complete') {
        if (last) writer = await SegmentWriter.reopen(path, result.header, result.end, this.#sealer);
        continue;
      }
      if (result.status === 'torn') {
        this.#logger.warn(
          { file: path, offset: result.end, droppedBytes: result.size - result.end, reason: result.reason, version: lastVersion },
          'databroker log ends inside a block (a write cut short by a crash, never acknowledged); truncated to the last complete block',
        );
        writer = await this.#continueSegment(path, segment, result.header, result.end, serverVersion, lastVersion);
        continue;
      }
      damage = result.damage;
      if (!this.#recover) throw new DatabrokerCorruptError(damage, RECOVERY_ADVICE);
      // Not even the first header opened: most likely a wrong key, and a "recovery" would keep nothing.
      if (!listing.hasSnapshot && i === 0 && result.header === null) throw new DatabrokerCorruptError(damage, NOTHING_TO_KEEP_ADVICE);
      const aside = await this.#setAside(path, result.end, result.size, live.slice(i + 1));
      this.#logger.error(
        { file: path, offset: damage.offset, reason: damage.reason, keptThroughVersion: lastVersion, movedAside: aside },
        'DATABROKER STORAGE DAMAGED: kept every change before the damaged block, moved the rest aside; changes after it are lost',
      );
      writer = await this.#continueSegment(path, segment, result.header, result.end, serverVersion, lastVersion);
    }

    const missing = firstSegment + contiguous;
    if (damage === null && (stranded.length > 0 || (listing.hasSnapshot && contiguous === 0))) {
      const missingDamage: Damage = {
        file: pathIn(dir, segmentFileName(missing)),
        offset: 0,
        reason: stranded.length > 0 ? `the segment is missing, yet ${segmentFileName(stranded[0]!)} exists` : 'the segment that continues the snapshot is missing',
      };
      if (!this.#recover) throw new DatabrokerCorruptError(missingDamage, RECOVERY_ADVICE);
      const aside = await this.#setAside(null, 0, 0, stranded);
      this.#logger.error(
        { file: missingDamage.file, reason: missingDamage.reason, keptThroughVersion: lastVersion, movedAside: aside },
        'DATABROKER STORAGE DAMAGED: a log segment is missing; kept everything before it, moved the segments after it aside',
      );
    }
    writer ??= await SegmentWriter.create(dir, missing, serverVersion ?? randomId(), lastVersion + 1, this.#sealer);
    this.#segment = writer;

    for (const segment of obsolete) await unlink(pathIn(dir, segmentFileName(segment)));
    if (obsolete.length > 0) {
      await syncDirectory(dir);
      this.#logger.info({ segments: obsolete.map(segmentFileName) }, 'removed log segments an installed snapshot already holds (a crash came before their removal)');
    }

    this.#serverVersion = writer.header.serverVersion;
    this.#version = this.#durableVersion = lastVersion;
  }

  /** The segment to append to after a torn or damaged end: the same file cut back, or a fresh one when even its header is gone. */
  #continueSegment(path: string, segment: number, header: SegmentHeader | null, end: number, serverVersion: string | null, lastVersion: number): Promise<SegmentWriter> {
    return header !== null
      ? SegmentWriter.reopen(path, header, end, this.#sealer)
      : SegmentWriter.create(this.#dir, segment, serverVersion ?? randomId(), lastVersion + 1, this.#sealer);
  }

  /**
   * Moves damaged data out of the way without destroying it: the bytes of
   * `path` from `end` on are copied to a `.corrupt-…` file (the caller then
   * cuts the segment back), and whole later segments are renamed. Returns the
   * new names.
   */
  async #setAside(path: string | null, end: number, size: number, laterSegments: readonly number[]): Promise<string[]> {
    const taken = new Set(await readdir(this.#dir));
    const now = new Date();
    const moved: string[] = [];
    const targetFor = (name: string): string => {
      const aside = asideName(name, now, taken);
      taken.add(aside);
      return pathIn(this.#dir, aside);
    };
    if (path !== null && size > end) {
      const target = targetFor(basename(path));
      const source = await open(path, 'r');
      const sink = await open(target, 'wx', FILE_MODE);
      try {
        const chunk = Buffer.allocUnsafe(1024 * 1024);
        for (let at = end; at < size; ) {
          const { bytesRead } = await source.read(chunk, 0, Math.min(chunk.length, size - at), at);
          if (bytesRead === 0) break;
          await sink.write(chunk, 0, bytesRead);
          at += bytesRead;
        }
        await sink.sync();
      } finally {
        await source.close();
        await sink.close();
      }
      moved.push(target);
    }
    for (const segment of laterSegments) {
      const name = segmentFileName(segment);
      const target = targetFor(name);
      await rename(pathIn(this.#dir, name), target);
      moved.push(target);
    }
    await syncDirectory(this.#dir);
    return moved;
  }

  // ── The append loop ────────────────────────────────────────────────────

  #kick(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#drained = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#failure === null) {
        if (this.#pending.length > 0) await this.#commitPending();
        else if (this.#adoption !== null) await this.#adoptNow(this.#adoption);
        else if (this.#snapshotDue()) await this.#rotate();
        else break;
      }
    } catch (err) {
      this.#fail(err as Error, []);
    } finally {
      this.#draining = false;
    }
  }

  async #commitPending(): Promise<void> {
    if (this.#fsync === 'batch') {
      const wait = this.#lastSyncAt + this.#batchIntervalMs - Date.now();
      if (wait > 0) await delay(wait);
    }
    const batch = this.#pending;
    this.#pending = [];
    const segment = this.#segment!;
    try {
      await segment.append(batch);
      if (this.#fsync !== 'never') {
        await segment.sync();
        this.#lastSyncAt = Date.now();
      }
    } catch (err) {
      this.#fail(err as Error, batch);
      return;
    }
    for (const pending of batch) this.#apply(pending.change);
    this.#durableVersion = batch[batch.length - 1]!.version;
    this.#changesSinceSnapshot += batch.length;
    for (const pending of batch) pending.resolve(pending.change);
  }

  #fail(err: Error, batch: readonly Pending[]): void {
    this.#failure ??= new PosternError(Errors.DATABROKER_WRITE_FAILED, `${this.#segment?.path ?? this.#dir}: ${err.message}`, { cause: err });
    this.#logger.error({ err, dir: this.#dir }, 'databroker log write failed: the store accepts no more writes until Postern restarts');
    const failure = this.#failure;
    for (const pending of batch) pending.reject(failure);
    for (const pending of this.#pending.splice(0)) pending.reject(failure);
    for (const waiter of this.#snapshotWaiters.splice(0)) waiter.reject(failure);
    this.#adoption?.reject(failure);
    this.#adoption = null;
  }

  // ── Snapshots ──────────────────────────────────────────────────────────

  #snapshotDue(): boolean {
    if (this.#snapshotting !== null) return false;
    return this.#snapshotWaiters.length > 0 || this.#changesSinceSnapshot >= Math.max(this.#snapshotEvery, this.#recordCount);
  }

  /**
   * Between two appends: captures the durable state, starts the segment that
   * follows it, and leaves the snapshot to be written while appends go on.
   */
  async #rotate(): Promise<void> {
    const waiters = this.#snapshotWaiters.splice(0);
    const old = this.#segment!;
    const records = this.#allRecords();
    const version = this.#durableVersion;
    let next: SegmentWriter;
    try {
      // The new segment must never outlive the end of this one; the other policies synced it already.
      if (this.#fsync === 'never') await old.sync();
      next = await SegmentWriter.create(this.#dir, old.header.segment + 1, this.#serverVersion, version + 1, this.#sealer);
    } catch (err) {
      for (const waiter of waiters) this.#snapshotWaiters.push(waiter);
      this.#fail(err as Error, []);
      return;
    }
    this.#segment = next;
    this.#changesSinceSnapshot = 0;
    await old.close().catch((err: unknown) => this.#logger.warn({ err, file: old.path }, 'closing a finished log segment failed'));

    const started = Date.now();
    this.#snapshotting = writeSnapshot(this.#dir, { serverVersion: this.#serverVersion, version, nextSegment: next.header.segment, records }, this.#sealer)
      .then(async () => {
        await this.#removeSegmentsBefore(next.header.segment);
        this.#logger.info({ version, records: records.length, ms: Date.now() - started }, 'databroker snapshot written');
        for (const waiter of waiters) waiter.resolve();
      })
      .catch((err: unknown) => {
        this.#logger.error({ err, dir: this.#dir }, 'databroker snapshot failed; the log still holds every change');
        for (const waiter of waiters) waiter.reject(err as Error);
      })
      .finally(() => {
        this.#snapshotting = null;
        if (this.#state === 'open' || this.#state === 'closing') this.#kick();
      });
  }

  // ── Another history ────────────────────────────────────────────────────

  /** In the append loop, after the writes issued before adopt(). */
  async #adoptNow(adoption: Adoption): Promise<void> {
    // A snapshot of the old history still being written would be installed over the new one.
    while (this.#snapshotting !== null) await this.#snapshotting;
    try {
      await this.#install(adoption.snapshot);
    } catch (err) {
      this.#adoption = null;
      adoption.reject(err as Error);
      return;
    }
    this.#adoption = null;
    this.#logger.info(
      { serverVersion: this.#serverVersion, version: this.#version, records: this.#recordCount },
      'databroker file storage replaced by another history (adopted a snapshot)',
    );
    adoption.resolve();
  }

  /**
   * A previous process that did not close the store may have acknowledged
   * writes it then lost (with fsync `never`, a machine crash loses what the
   * kernel had not written). Replicas and peer followers may hold those
   * changes; if this store went on under the same server_version, its new
   * changes would take the same versions and a follower would keep the lost
   * ones as if they were its prefix, diverging without a sign. A new
   * server_version makes every reader start again from this store's state.
   * Any unclean end counts: the lock cannot tell which fsync policy the
   * previous process ran with, nor whether the machine went down with it,
   * and the cost (one snapshot written here, and one sent to each follower)
   * comes only after a crash.
   */
  async #startNewHistory(): Promise<void> {
    const previous = this.#serverVersion;
    await this.#install({ serverVersion: randomId(), version: this.#version, records: this.#allRecords() });
    this.#logger.warn(
      { dir: this.#dir, previous, serverVersion: this.#serverVersion, version: this.#version },
      'the previous process did not close the databroker store; starting a new history so that no replica keeps changes it may have lost',
    );
  }

  /**
   * Makes `snapshot` the whole store, atomically: the new history's first
   * segment (durable, under a temporary name), then the snapshot naming it
   * (the commit point), then the segment's rename and the old log's removal.
   */
  async #install(snapshot: StoreSnapshot): Promise<void> {
    const dir = this.#dir;
    const old = this.#segment!;
    const segment = old.header.segment + 1;
    const next = await SegmentWriter.createTemporary(dir, segment, snapshot.serverVersion, snapshot.version + 1, this.#sealer).catch(async (err: unknown) => {
      await unlink(pathIn(dir, segmentFileName(segment) + TEMP_SUFFIX)).catch(() => undefined);
      throw err;
    });
    try {
      await writeSnapshot(dir, { serverVersion: snapshot.serverVersion, version: snapshot.version, nextSegment: segment, records: snapshot.records }, this.#sealer);
    } catch (err) {
      await next.close().catch(() => undefined);
      await unlink(next.path).catch(() => undefined);
      throw err;
    }
    // Installed: from here on a restart loads the new history, whatever else happens.
    this.#segment = next;
    this.#records.clear();
    this.#recordCount = 0;
    for (const record of snapshot.records) this.#set(record);
    this.#serverVersion = snapshot.serverVersion;
    this.#version = this.#durableVersion = snapshot.version;
    this.#changesSinceSnapshot = 0;
    await old.close().catch((err: unknown) => this.#logger.warn({ err, file: old.path }, 'closing a finished log segment failed'));
    try {
      await next.install(dir);
      await this.#removeSegmentsBefore(segment);
    } catch (err) {
      this.#fail(err as Error, []);
      throw this.#failure!;
    }
  }

  async #removeSegmentsBefore(segment: number): Promise<void> {
    const { segments } = await listDirectory(this.#dir);
    const old = segments.filter((s) => s < segment);
    for (const s of old) await unlink(pathIn(this.#dir, segmentFileName(s)));
    if (old.length > 0) await syncDirectory(this.#dir);
  }

  // ── The records ────────────────────────────────────────────────────────

  #apply(change: Change): void {
    if (change.record !== null) this.#set(change.record);
    else this.#remove(change.type, change.id);
  }

  #set(record: DataRecord): void {
    let byId = this.#records.get(record.type);
    if (byId === undefined) {
      byId = new Map();
      this.#records.set(record.type, byId);
    }
    const size = byId.size;
    byId.set(record.id, record);
    this.#recordCount += byId.size - size;
  }

  #remove(type: string, id: string): void {
    const byId = this.#records.get(type);
    if (byId === undefined || !byId.delete(id)) return;
    this.#recordCount--;
    if (byId.size === 0) this.#records.delete(type);
  }

  #allRecords(): DataRecord[] {
    const out: DataRecord[] = [];
    for (const byId of this.#records.values()) for (const record of byId.values()) out.push(record);
    return out;
  }
}
