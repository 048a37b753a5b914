// The store as the peer group replicates it: every live record, plus the
// most recent changes in a ring, under one server_version. The leader serves
// snapshots and catch-ups from it; a follower keeps it in step with the
// leader's stream, so that it can itself serve the group once promoted.
// Records are the very objects the feed delivers, so this copy costs the map
// entries, not a second set of records.
import type { Change, StoreSnapshot } from '../backend.js';
import type { DataRecord } from '../types.js';
import type { FeedPosition, HistoryFork } from './catch-up.js';

export class ReplicatedHistory {
  readonly #records = new Map<string, Map<string, DataRecord>>();
  /** Change of version v at v % capacity; the last #retained versions are present. */
  readonly #ring: (Change | undefined)[];
  #retained = 0;
  #serverVersion = '';
  #version = 0;
  #fork: HistoryFork | null = null;

  constructor(retainedChanges: number) {
    if (!Number.isSafeInteger(retainedChanges) || retainedChanges < 1) throw new RangeError(`retainedChanges must be a positive integer, not ${retainedChanges}`);
    this.#ring = new Array<Change | undefined>(retainedChanges);
  }

  /** '' until the first snapshot. */
  get serverVersion(): string {
    return this.#serverVersion;
  }

  get version(): number {
    return this.#version;
  }

  /** The oldest retained change; version + 1 when none is. */
  get earliest(): number {
    return this.#version - this.#retained + 1;
  }

  get position(): FeedPosition {
    return { serverVersion: this.#serverVersion, version: this.#version, earliest: this.earliest, fork: this.#fork };
  }

  /** Replaces everything with a snapshot; no change before it is retained. */
  reset(snapshot: StoreSnapshot): void {
    this.#records.clear();
    for (const record of snapshot.records) this.#set(record);
    this.#ring.fill(undefined);
    this.#retained = 0;
    this.#serverVersion = snapshot.serverVersion;
    this.#version = snapshot.version;
    this.#fork = null;
  }

  /** The leader says this replica is a prefix of its history `serverVersion`: continue on it. */
  adopt(serverVersion: string): void {
    this.#serverVersion = serverVersion;
    this.#fork = null;
  }

  /** Starts a new history that continues this one from the current version (a promotion). */
  fork(serverVersion: string): void {
    this.#fork = { serverVersion: this.#serverVersion, version: this.#version };
    this.#serverVersion = serverVersion;
  }

  /** Applies the next change; anything but version + 1 is a broken feed and throws. */
  apply(change: Change): void {
    if (change.version !== this.#version + 1) {
      throw new Error(`change ${change.version} does not follow version ${this.#version} of history ${this.#serverVersion}`);
    }
    if (change.record === null) {
      const byId = this.#records.get(change.type);
      if (byId !== undefined && byId.delete(change.id) && byId.size === 0) this.#records.delete(change.type);
    } else {
      this.#set(change.record);
    }
    this.#ring[change.version % this.#ring.length] = change;
    if (this.#retained < this.#ring.length) this.#retained++;
    this.#version = change.version;
  }

  /** The retained change that created `version`, if it is still retained. */
  changeAt(version: number): Change | undefined {
    if (version < this.earliest || version > this.#version) return undefined;
    return this.#ring[version % this.#ring.length];
  }

  /** Every record at the current version (the array is new; the records are shared). */
  snapshot(): StoreSnapshot {
    const records: DataRecord[] = [];
    for (const byId of this.#records.values()) for (const record of byId.values()) records.push(record);
    return { serverVersion: this.#serverVersion, version: this.#version, records };
  }

  #set(record: DataRecord): void {
    let byId = this.#records.get(record.type);
    if (byId === undefined) {
      byId = new Map();
      this.#records.set(record.type, byId);
    }
    byId.set(record.id, record);
  }
}
