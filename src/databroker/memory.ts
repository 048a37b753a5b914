// The in-memory databroker: the default store, and the in-process replica
// every other backend will feed. Records are sharded by a hash of their id,
// so a lookup or a write touches one shard and a shard can later be
// snapshotted or locked without the others. Expiry is checked on every read,
// so correctness never depends on a timer; the periodic sweep only frees
// memory and tells listeners that expired records are gone.
import { deepFreeze } from '../config/freeze.js';
import type { Logger } from '../telemetry/logger.js';
import type { ChangeListener, Databroker, DataRecord, PutOptions } from './types.js';

export const DEFAULT_SHARDS = 16;
export const DEFAULT_SWEEP_INTERVAL_MS = 30_000;

export interface MemoryDatabrokerOptions {
  /** Listener failures are logged here; they never fail the write. */
  readonly logger: Logger;
  readonly shards?: number;
  /** 0 = no periodic sweep (call sweep() yourself). */
  readonly sweepIntervalMs?: number;
  /** Milliseconds since the epoch; injectable so tests control expiry. */
  readonly now?: () => number;
}

/**
 * What listeners receive. `version` is the change's own version (a deletion
 * has no record to carry it); a listener may run after later changes were
 * made, so it must not read the store's current version instead.
 */
interface Change {
  readonly type: string;
  readonly id: string;
  readonly record: DataRecord | null;
  readonly version: number;
}

/** One shard: records by type, then by id. */
type Shard = Map<string, Map<string, DataRecord>>;

/** FNV-1a over the id's UTF-16 code units: cheap, allocation-free and well spread for short ids. */
export function shardIndex(id: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

function isLive(record: DataRecord, now: number): boolean {
  return record.expiresAt === null || record.expiresAt > now;
}

export class MemoryDatabroker implements Databroker {
  readonly #shards: Shard[];
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #listeners = new Set<{ readonly fn: ChangeListener }>();
  // Changes made by a listener are queued behind the one being delivered, so
  // every listener sees every change in version order.
  readonly #pending: Change[] = [];
  #delivering = false;
  #version = 0;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(options: MemoryDatabrokerOptions) {
    const shards = options.shards ?? DEFAULT_SHARDS;
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, not ${shards}`);
    this.#shards = Array.from({ length: shards }, (): Shard => new Map());
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    const interval = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (interval > 0) {
      this.#sweeper = setInterval(() => this.sweep(), interval);
      this.#sweeper.unref();
    }
  }

  /** The version of the latest change: grows by one with every put, delete and expiry. */
  get version(): number {
    return this.#version;
  }

  get<T>(type: string, id: string): DataRecord<T> | null {
    const record = this.#shards[shardIndex(id, this.#shards.length)]!.get(type)?.get(id);
    if (record === undefined || !isLive(record, this.#now())) return null;
    return record as DataRecord<T>;
  }

  list<T>(type: string): DataRecord<T>[] {
    const now = this.#now();
    const out: DataRecord<T>[] = [];
    for (const shard of this.#shards) {
      const byId = shard.get(type);
      if (byId === undefined) continue;
      for (const record of byId.values()) if (isLive(record, now)) out.push(record as DataRecord<T>);
    }
    return out;
  }

  put<T>(type: string, id: string, data: T, options?: PutOptions): Promise<DataRecord<T>> {
    const expiresAt = options?.expiresAt ?? null;
    if (expiresAt !== null && !Number.isFinite(expiresAt)) {
      return Promise.reject(new RangeError(`expiresAt must be a finite number of milliseconds, not ${expiresAt}`));
    }
    const shard = this.#shards[shardIndex(id, this.#shards.length)]!;
    let byId = shard.get(type);
    if (byId === undefined) {
      byId = new Map();
      shard.set(type, byId);
    }
    const record: DataRecord<T> = Object.freeze({
      type,
      id,
      version: ++this.#version,
      // Readers on the hot path share this one object, so none of them may
      // change what the others see; the caller's data becomes part of the store.
      data: deepFreeze(data),
      modifiedAt: this.#now(),
      expiresAt,
    });
    byId.set(id, record);
    this.#emit({ type, id, record, version: record.version });
    return Promise.resolve(record);
  }

  delete(type: string, id: string): Promise<boolean> {
    const byId = this.#shards[shardIndex(id, this.#shards.length)]!.get(type);
    const record = byId?.get(id);
    if (byId === undefined || record === undefined) return Promise.resolve(false);
    const live = isLive(record, this.#now());
    this.#remove(byId, type, id);
    return Promise.resolve(live);
  }

  /**
   * Removes every expired record, one change each; returns how many. Runs on
   * the interval; public so tests and shutdown code can run it on demand.
   */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const shard of this.#shards) {
      for (const [type, byId] of shard) {
        for (const [id, record] of byId) {
          if (isLive(record, now)) continue;
          // Deleting the current entry while iterating a Map is safe.
          this.#remove(byId, type, id);
          removed++;
        }
      }
    }
    return removed;
  }

  onChange(listener: ChangeListener): () => void {
    const entry = { fn: listener };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Stops the sweep and forgets the listeners; the records stay readable. */
  close(): Promise<void> {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    this.#listeners.clear();
    return Promise.resolve();
  }

  #remove(byId: Map<string, DataRecord>, type: string, id: string): void {
    byId.delete(id);
    this.#emit({ type, id, record: null, version: ++this.#version });
  }

  #emit(change: Change): void {
    if (this.#listeners.size === 0) return;
    this.#pending.push(change);
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) {
        for (const entry of this.#listeners) {
          try {
            entry.fn(next);
          } catch (err) {
            this.#logger.error({ err, type: next.type, id: next.id }, 'databroker change listener failed');
          }
        }
      }
    } finally {
      this.#delivering = false;
    }
  }
}
