// The databroker's contract: typed, versioned records with expiry and a
// change feed. Reads are synchronous (they come from the in-process replica,
// so the request path never waits on the network); writes are asynchronous
// (a durable or remote backend acknowledges them only once they are safe).

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

export type ChangeListener = (change: { readonly type: string; readonly id: string; readonly record: DataRecord | null }) => void;

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
