// The databroker's contract: typed, versioned records with expiry and a
// change feed. Reads are synchronous (they come from the in-process replica,
// so the request path never waits on the network); writes are asynchronous
// (a durable or remote backend acknowledges them only once they are safe).
import type { Change } from './backend.js';

export interface DataRecord<T = unknown> {
  /** Record type, e.g. `session`, `user`, `service_account`. */
  readonly type: string;
  readonly id: string;
  /** Grows with every change in this store (across all types). */
  readonly version: number;
  readonly data: T;
  /** Milliseconds since the epoch. */
  readonly modifiedAt: number;
  /** Milliseconds since the epoch; null = never expires. An expired record reads as absent. */
  readonly expiresAt: number | null;
}

export interface PutOptions {
  readonly expiresAt?: number | null;
}

/**
 * What change listeners receive: a put (record set) or a deletion (record
 * null), with the version it created. `resync` marks the changes that
 * summarise a resynchronisation rather than a write: the replica jumped to a
 * snapshot of the store (after a gap it could not fill, or because the
 * store's history changed), and these say which records differ from before;
 * they all carry the snapshot's version.
 */
export interface ChangeEvent extends Change {
  readonly resync?: true;
}

/**
 * Called for every change, in version order, once the change is applied and
 * before the write that made it resolves. A listener may run after later
 * changes were made, so it must read the change's own version, not the
 * store's.
 */
export type ChangeListener = (change: ChangeEvent) => void;

/** Fields to index, by record type: top-level string fields of the data, e.g. `{ session: ['userId'] }`. */
export type IndexedFields = Readonly<Record<string, readonly string[]>>;

export interface Databroker {
  /** The live record, or null when absent, deleted or expired. */
  get<T>(type: string, id: string): DataRecord<T> | null;
  /** Every live record of a type. */
  list<T>(type: string): DataRecord<T>[];
  put<T>(type: string, id: string, data: T, options?: PutOptions): Promise<DataRecord<T>>;
  /** Resolves true when a live record was deleted. */
  delete(type: string, id: string): Promise<boolean>;
  /** Called after every put and delete (and expiry); returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void;
  close(): Promise<void>;
}
