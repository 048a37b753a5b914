// The default storage (`databroker_storage_type: memory`): nothing durable,
// nothing shared. It only numbers the writes, in the order they arrive; the
// records themselves live in the replica. Every start is a new history (a
// new random server version), so a handle that names the old one is stale.
import { Errors, PosternError } from '../errors.js';
import type { Change, StorageBackend, StoreSnapshot, WriteOp } from './backend.js';
import { newServerVersion } from './feed.js';

export class MemoryBackend implements StorageBackend {
  readonly kind = 'memory';
  #serverVersion = newServerVersion();
  #version = 0;
  #closed = false;

  get serverVersion(): string {
    return this.#serverVersion;
  }

  /** The empty store this backend starts as; load() resolves to the same. */
  initial(): StoreSnapshot {
    return { serverVersion: this.#serverVersion, version: 0, records: [] };
  }

  load(): Promise<StoreSnapshot> {
    return Promise.resolve(this.initial());
  }

  write(op: WriteOp): Promise<Change> {
    if (this.#closed) return Promise.reject(new PosternError(Errors.DATABROKER_CLOSED));
    const version = ++this.#version;
    const record =
      op.data === null ? null : { type: op.type, id: op.id, version, data: op.data, modifiedAt: op.modifiedAt, expiresAt: op.expiresAt };
    return Promise.resolve({ version, type: op.type, id: op.id, record });
  }

  /**
   * Continues from the snapshot: later writes take the versions after it,
   * in its history. (A promoted peer seeds its store this way; the records
   * stay in the replica, as always with this backend.)
   */
  adopt(snapshot: StoreSnapshot): Promise<void> {
    if (this.#closed) return Promise.reject(new PosternError(Errors.DATABROKER_CLOSED));
    if (snapshot.serverVersion === this.#serverVersion) return Promise.reject(new RangeError(`adopt() starts another history; ${snapshot.serverVersion} is the current one`));
    this.#serverVersion = snapshot.serverVersion;
    this.#version = snapshot.version;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
