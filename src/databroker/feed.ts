// The change feed: the last changes of a store, kept so that a reader who
// fell a little behind (a follower that reconnects, a replica that saw a gap)
// catches up with those changes alone, and a reader who fell further behind
// is told so and starts again from a snapshot. Pomerium's Sync answers the
// same two ways ("invalid record version", "invalid server version").
import { randomBytes } from 'node:crypto';
import type { Change, StoreSnapshot } from './backend.js';
import type { DataRecord } from './types.js';

export const DEFAULT_FEED_CAPACITY = 10_000;

/**
 * What a reader at some version gets: the changes it is missing, in version
 * order (none when it is up to date); `too-far-behind` when some of them are
 * no longer kept; `different-history` when its versions belong to another
 * history of the store (another server version, or a version this history
 * never reached). Either refusal means: start again from snapshot().
 */
export type FeedAnswer = readonly Change[] | 'too-far-behind' | 'different-history';

/** A random server version: names one history of a store (64 random bits, as in Pomerium). */
export function newServerVersion(): string {
  return randomBytes(8).toString('hex');
}

export interface ChangeFeedOptions {
  readonly serverVersion: string;
  /** The version the store is at now; the feed keeps changes from the next one on. */
  readonly version: number;
  /** How many changes are kept. Each keeps its record alive, so this bounds the memory too. */
  readonly capacity?: number;
  /** The store's records as they are now, for snapshots. */
  readonly records: () => readonly DataRecord[];
}

export class ChangeFeed {
  readonly #capacity: number;
  readonly #records: () => readonly DataRecord[];
  /** Ring buffer: the change of version v is at index v % capacity while kept. */
  readonly #ring: (Change | undefined)[];
  #serverVersion: string;
  #version: number;
  /** How many of the latest changes are kept (≤ capacity). */
  #kept = 0;

  constructor(options: ChangeFeedOptions) {
    const capacity = options.capacity ?? DEFAULT_FEED_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
    this.#capacity = capacity;
    this.#records = options.records;
    this.#ring = new Array<Change | undefined>(capacity);
    this.#serverVersion = options.serverVersion;
    this.#version = options.version;
  }

  get serverVersion(): string {
    return this.#serverVersion;
  }

  /** The version of the latest change. */
  get version(): number {
    return this.#version;
  }

  /** The oldest version a reader may be at and still catch up with changes alone. */
  get earliestVersion(): number {
    return this.#version - this.#kept;
  }

  /** Records the next change; it must carry the next version. */
  append(change: Change): void {
    if (change.version !== this.#version + 1) {
      throw new RangeError(`the feed is at version ${this.#version}; change ${change.version} is not the next one`);
    }
    this.#ring[change.version % this.#capacity] = change;
    this.#version = change.version;
    if (this.#kept < this.#capacity) this.#kept++;
  }

  /** Forgets the kept changes: the store jumped to `version` of `serverVersion` (a snapshot, a new history). */
  reset(serverVersion: string, version: number): void {
    this.#ring.fill(undefined);
    this.#kept = 0;
    this.#serverVersion = serverVersion;
    this.#version = version;
  }

  /** The changes after `version` for a reader of `serverVersion`, or why it must take a snapshot instead. */
  changesSince(serverVersion: string, version: number): FeedAnswer {
    if (serverVersion !== this.#serverVersion || !Number.isSafeInteger(version) || version < 0 || version > this.#version) {
      return 'different-history';
    }
    if (version < this.earliestVersion) return 'too-far-behind';
    const out: Change[] = new Array<Change>(this.#version - version);
    for (let v = version + 1; v <= this.#version; v++) out[v - version - 1] = this.#ring[v % this.#capacity] as Change;
    return out;
  }

  /** The whole store now, with the version to continue from with changesSince. */
  snapshot(): StoreSnapshot {
    return { serverVersion: this.#serverVersion, version: this.#version, records: this.#records() };
  }
}
