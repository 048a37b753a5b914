// The contract between the databroker's in-process replica (what the
// request path reads, synchronously) and the storage behind it (what makes
// a write durable or shared). The replica applies changes strictly in
// version order, from its own acknowledged writes and from the backend's
// subscription (changes made elsewhere: another instance over Postgres, the
// leader of a peer group).
import type { DataRecord } from './types.js';

/** One change in the feed: a put (record set) or a deletion (record null). */
export interface Change {
  /** The version this change created; versions grow by one per change within a server_version. */
  readonly version: number;
  readonly type: string;
  readonly id: string;
  /** The record after the change, or null when it was deleted (or expired). */
  readonly record: DataRecord | null;
}

/** A whole store at one version: what a restart or a new replica starts from. */
export interface StoreSnapshot {
  /** Random id of this store's history: versions of different histories are not comparable. */
  readonly serverVersion: string;
  /** The version of the last change included. */
  readonly version: number;
  /** Live records (expired ones may be included; readers treat them as absent). */
  readonly records: readonly DataRecord[];
}

/** A write, before the backend has given it a version. */
export interface WriteOp {
  readonly type: string;
  readonly id: string;
  /** null deletes the record. */
  readonly data: unknown | null;
  readonly expiresAt: number | null;
  /** Milliseconds since the epoch, set by the writer. */
  readonly modifiedAt: number;
}

export interface StorageBackend {
  /** `memory`, `file`, `postgres`, `peer-follower`, … for logs and health. */
  readonly kind: string;
  /** Restores the durable state (a fresh, empty history when there is none). Called once, first. */
  load(): Promise<StoreSnapshot>;
  /**
   * Makes a write durable (or shared) and returns its change, with its
   * version. Resolves only once the write is safe by the backend's rules
   * (in the log per the fsync policy; committed in Postgres; acknowledged by
   * the leader). Writes issued in order are versioned in that order.
   */
  write(op: WriteOp): Promise<Change>;
  /**
   * Changes made elsewhere (other instances, the leader), in version order.
   * The replica also asks for everything after its version when it
   * (re)subscribes, so a gap is never silent. Optional: a backend only this
   * process writes to has nothing to report.
   */
  subscribe?(fromVersion: number, listener: (change: Change) => void, onResync: (snapshot: StoreSnapshot) => void): () => void;
  /**
   * Log compaction: writes a snapshot of the backend's own state and drops
   * the log it covers; the history goes on unchanged. `snapshot` only names
   * the point (of this history, not ahead of it). Optional.
   */
  compact?(snapshot: StoreSnapshot): Promise<void>;
  /**
   * Replaces the whole durable state with `snapshot`, which starts another
   * history (its serverVersion must differ from the current one): from then
   * on load() gives exactly its records, and writes take the versions after
   * its version. Atomic: a crash at any point leaves the old state or the
   * new, never a mix. Writes issued before it are made first, in the old
   * history; writes issued while it runs are refused. Optional: what a
   * promoted peer seeds its own store with.
   */
  adopt?(snapshot: StoreSnapshot): Promise<void>;
  /** Health for /healthz and metrics: e.g. `{ ok: false, detail: 'leader unreachable' }`. */
  health?(): { readonly ok: boolean; readonly detail: string };
  close(): Promise<void>;
}

/**
 * Encrypts record values before they reach a disk or a database. Every blob
 * carries the id of its key, so keys can rotate: new writes use the newest,
 * old blobs stay readable with the older ones (crypto/aead.ts does this).
 */
export interface ValueSealer {
  seal(plaintext: Buffer, aad: string): Buffer;
  /** null when no known key opens it or it was tampered with. */
  open(blob: Buffer, aad: string): Buffer | null;
}
