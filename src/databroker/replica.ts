// The in-process replica: what the request path reads, synchronously, in
// front of whichever storage backend makes writes durable or shared. A write
// goes to the backend first and is applied here only with the version the
// backend gave it; changes made elsewhere (another instance over Postgres,
// the leader of a peer group) arrive through the backend's subscription.
// Both are applied strictly in version order, so every replica of a store
// passes through the same states. A gap that does not fill, a new history,
// or a store that lost changes the replica had, makes the replica start
// again from the backend's snapshot.
//
// Expiry is checked on every read, so correctness never depends on a timer;
// the sweep deletes expired records through the backend, so their removal is
// durable and seen by every instance.
import { hostname } from 'node:os';
import { deepFreeze } from '../config/freeze.js';
import { randomId } from '../crypto/random.js';
import { Errors, PosternError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Change, StorageBackend, StoreSnapshot, WriteOp } from './backend.js';
import { ChangeFeed, type FeedAnswer } from './feed.js';
import { DEFAULT_LEASE_TTL_MS, Leases, type Lease } from './leases.js';
import { DEFAULT_SHARDS, ShardedRecords } from './shards.js';
import type { ChangeEvent, ChangeListener, Databroker, DataRecord, IndexedFields, PutOptions } from './types.js';

export const DEFAULT_SWEEP_INTERVAL_MS = 30_000;
/**
 * How long past its expiry a record is left before the sweep deletes it.
 * The sweep cannot delete "this version only", so it waits until nobody can
 * still be writing the record on the strength of its old expiry (a lease
 * holder renewing just in time, a write delayed in flight).
 */
export const DEFAULT_SWEEP_GRACE_MS = 60_000;
/** How long changes may wait for a missing earlier one before the replica asks the backend again. */
export const DEFAULT_GAP_TIMEOUT_MS = 1_000;
/** The lease under which one instance at a time sweeps a shared store. */
export const SWEEPER_LEASE = 'databroker_sweeper';
/** How long close() waits to hand its leases back; unreleased ones expire by themselves. */
const RELEASE_TIMEOUT_MS = 2_000;

export interface ReplicaOptions {
  /** Listener and sweep failures, resyncs and gaps are logged here. */
  readonly logger: Logger;
  readonly shards?: number;
  /** Fields query() can search, by record type. */
  readonly indexes?: IndexedFields;
  /** 0 = no periodic sweep (call sweep() yourself). */
  readonly sweepIntervalMs?: number;
  readonly sweepGraceMs?: number;
  /** How many recent changes the feed keeps for readers catching up. */
  readonly feedCapacity?: number;
  readonly gapTimeoutMs?: number;
  /** This instance as a lease holder; by default host, pid and a random part. */
  readonly instanceId?: string;
  /** Milliseconds since the epoch; injectable so tests control expiry. */
  readonly now?: () => number;
}

interface Waiter {
  readonly version: number;
  readonly resolve: () => void;
}

function isLive(record: DataRecord, now: number): boolean {
  return record.expiresAt === null || record.expiresAt > now;
}

/**
 * Readers on the hot path share one record object, so none of them may
 * change what the others see. Data frozen at the top was deep-frozen by
 * put() or by the backend's decoder; anything else is frozen here.
 */
function freezeRecord(record: DataRecord): DataRecord {
  if (Object.isFrozen(record)) return record;
  if (!Object.isFrozen(record.data)) deepFreeze(record.data);
  return Object.freeze(record);
}

function defaultInstanceId(): string {
  return `${hostname()}/${process.pid}/${randomId(6)}`;
}

export class Replica implements Databroker {
  /** Leases stored in this store: shared with every instance that shares the store. */
  readonly leases: Leases;
  readonly instanceId: string;
  readonly #backend: StorageBackend;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #shards: number;
  readonly #indexes: IndexedFields;
  readonly #sweepGraceMs: number;
  readonly #gapTimeoutMs: number;
  readonly #feed: ChangeFeed;
  #table: ShardedRecords;
  #serverVersion: string;
  #version: number;
  /** Grows when the history changes: a write acknowledged in an older history is not applied to the new one. */
  #epoch = 0;
  /** Changes that arrived before one they follow, by version. */
  readonly #early = new Map<number, Change>();
  /** Writes waiting for the replica to reach their version. */
  #waiters: Waiter[] = [];
  readonly #listeners = new Set<{ readonly fn: ChangeListener }>();
  // Changes applied while listeners run are queued behind the one being
  // delivered, so every listener sees every change in version order.
  readonly #undelivered: ChangeEvent[] = [];
  #delivering = false;
  #unsubscribe: (() => void) | null = null;
  /** Which subscription is current: deliveries to an older one are ignored. */
  #generation = 0;
  #gapTimer: NodeJS.Timeout | null = null;
  #sweeper: NodeJS.Timeout | null = null;
  #sweeping = false;
  #closed = false;
  #closing: Promise<void> | null = null;

  /** Loads the backend's state and follows its changes. */
  static async open(backend: StorageBackend, options: ReplicaOptions): Promise<Replica> {
    return new Replica(backend, await backend.load(), options);
  }

  /** Starts from `snapshot`, which must be what `backend.load()` gave. */
  constructor(backend: StorageBackend, snapshot: StoreSnapshot, options: ReplicaOptions) {
    this.#backend = backend;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#shards = options.shards ?? DEFAULT_SHARDS;
    this.#indexes = options.indexes ?? {};
    this.#sweepGraceMs = options.sweepGraceMs ?? DEFAULT_SWEEP_GRACE_MS;
    this.#gapTimeoutMs = options.gapTimeoutMs ?? DEFAULT_GAP_TIMEOUT_MS;
    this.instanceId = options.instanceId ?? defaultInstanceId();
    this.#table = new ShardedRecords(this.#shards, this.#indexes);
    for (const record of snapshot.records) this.#table.set(freezeRecord(record));
    this.#serverVersion = snapshot.serverVersion;
    this.#version = snapshot.version;
    this.#feed = new ChangeFeed({
      serverVersion: snapshot.serverVersion,
      version: snapshot.version,
      ...(options.feedCapacity === undefined ? {} : { capacity: options.feedCapacity }),
      records: () => this.#table.all(),
    });
    this.leases = new Leases(this, this.#now);
    this.#subscribe();
    const interval = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (interval > 0) {
      // Held a few rounds at a time, so the same instance keeps sweeping while it is up.
      const leaseTtlMs = Math.max(3 * interval, DEFAULT_LEASE_TTL_MS);
      this.#sweeper = setInterval(() => void this.#sweepRound(leaseTtlMs), interval);
      this.#sweeper.unref();
    }
  }

  /** The backend's kind: `memory`, `file`, `postgres`, `peer-follower`, … */
  get kind(): string {
    return this.#backend.kind;
  }

  /**
   * The backend behind the replica, for metrics and reconfiguration (a peer
   * group's leader changing on reload). Reads and writes go through the replica.
   */
  get storage(): StorageBackend {
    return this.#backend;
  }

  /** The history this replica follows (a new one after the store is recreated). */
  get serverVersion(): string {
    return this.#serverVersion;
  }

  /** The version of the latest change applied. */
  get version(): number {
    return this.#version;
  }

  get<T>(type: string, id: string): DataRecord<T> | null {
    const record = this.#table.get(type, id);
    if (record === undefined || !isLive(record, this.#now())) return null;
    return record as DataRecord<T>;
  }

  list<T>(type: string): DataRecord<T>[] {
    const now = this.#now();
    const out: DataRecord<T>[] = [];
    this.#table.forEachOfType(type, (record) => {
      if (isLive(record, now)) out.push(record as DataRecord<T>);
    });
    return out;
  }

  /** The live records of `type` whose indexed `field` equals `value`; the field must be declared in `indexes`. */
  query<T>(type: string, field: string, value: string): DataRecord<T>[] {
    if (!this.#table.isIndexed(type, field)) throw new RangeError(`${type}.${field} is not an indexed field`);
    const now = this.#now();
    return this.#table.lookup(type, field, value).filter((record) => isLive(record, now)) as DataRecord<T>[];
  }

  async put<T>(type: string, id: string, data: T, options?: PutOptions): Promise<DataRecord<T>> {
    const expiresAt = options?.expiresAt ?? null;
    if (expiresAt !== null && !Number.isFinite(expiresAt)) throw new RangeError(`expiresAt must be a finite number of milliseconds, not ${expiresAt}`);
    if (data === null || data === undefined) throw new TypeError(`a record's data cannot be ${data}: delete the record instead`);
    // The caller's data becomes part of the store.
    const change = await this.#write({ type, id, data: deepFreeze(data), expiresAt, modifiedAt: this.#now() });
    return freezeRecord(change.record as DataRecord) as DataRecord<T>;
  }

  async delete(type: string, id: string): Promise<boolean> {
    const existing = this.#table.get(type, id);
    // When only this process writes, what it does not have does not exist.
    // A shared store may have it from a write not yet seen here.
    if (existing === undefined && this.#backend.subscribe === undefined) {
      if (this.#closed) throw new PosternError(Errors.DATABROKER_CLOSED);
      return false;
    }
    const live = existing !== undefined && isLive(existing, this.#now());
    await this.#write({ type, id, data: null, expiresAt: null, modifiedAt: this.#now() });
    return live;
  }

  onChange(listener: ChangeListener): () => void {
    const entry = { fn: listener };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** The changes after `version` of `serverVersion`, or why the reader must start from snapshot(). */
  changesSince(serverVersion: string, version: number): FeedAnswer {
    return this.#feed.changesSince(serverVersion, version);
  }

  /** Every record now, with the version to continue from with changesSince(). */
  snapshot(): StoreSnapshot {
    return this.#feed.snapshot();
  }

  /** The lease `name` held by this instance (see Leases), for work that must run on one instance only. */
  lease(name: string, ttlMs = DEFAULT_LEASE_TTL_MS): Lease {
    return this.leases.lease(name, this.instanceId, ttlMs);
  }

  /** For /healthz and metrics: the backend's word, or that a local store is fine. */
  health(): { readonly ok: boolean; readonly detail: string } {
    return this.#backend.health?.() ?? { ok: true, detail: `${this.#backend.kind} storage` };
  }

  /**
   * Deletes, through the backend, every record expired for longer than the
   * grace period; resolves with how many. Runs on the interval (on one
   * instance of a shared store); public so tests and tools can run it.
   */
  async sweep(): Promise<number> {
    const now = this.#now();
    const cutoff = now - this.#sweepGraceMs;
    const expired: DataRecord[] = [];
    this.#table.forEach((record) => {
      if (record.expiresAt !== null && record.expiresAt <= cutoff) expired.push(record);
    });
    await Promise.all(expired.map((record) => this.#write({ type: record.type, id: record.id, data: null, expiresAt: null, modifiedAt: now })));
    return expired.length;
  }

  /** Releases this instance's leases, stops following the backend and closes it; the records stay readable. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#sweeper !== null) clearInterval(this.#sweeper);
      this.#sweeper = null;
      // Another instance can take over the work at once rather than after the
      // leases expire; but a store that cannot be reached must not hold up a shutdown.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.leases.releaseAll(), new Promise<void>((resolve) => (timer = setTimeout(resolve, RELEASE_TIMEOUT_MS)))]);
      clearTimeout(timer);
      this.#closed = true;
      if (this.#gapTimer !== null) clearTimeout(this.#gapTimer);
      this.#gapTimer = null;
      this.#unsubscribe?.();
      this.#unsubscribe = null;
      this.#listeners.clear();
      this.#settle(true);
      await this.#backend.close();
    })();
    return this.#closing;
  }

  /** Makes the write through the backend; resolves once this replica has applied it (read-your-writes). */
  async #write(op: WriteOp): Promise<Change> {
    if (this.#closed) throw new PosternError(Errors.DATABROKER_CLOSED);
    const epoch = this.#epoch;
    const change = await this.#backend.write(op);
    if (epoch !== this.#epoch) return change;
    this.#offer(change);
    if (change.version > this.#version) await new Promise<void>((resolve) => this.#waiters.push({ version: change.version, resolve }));
    return change;
  }

  #offer(change: Change): void {
    if (this.#closed || change.version <= this.#version) return;
    if (change.version !== this.#version + 1) {
      this.#early.set(change.version, change);
      this.#armGapTimer();
      return;
    }
    this.#apply(change);
    this.#drainEarly();
  }

  #apply(change: Change): void {
    if (change.record === null) this.#table.remove(change.type, change.id);
    else this.#table.set(freezeRecord(change.record));
    this.#version = change.version;
    this.#feed.append(change);
    this.#emit(change);
  }

  /** Applies the early changes that now follow on, then wakes the writes that are applied. */
  #drainEarly(): void {
    for (let next = this.#early.get(this.#version + 1); next !== undefined; next = this.#early.get(this.#version + 1)) {
      this.#early.delete(next.version);
      this.#apply(next);
    }
    if (this.#early.size === 0 && this.#gapTimer !== null) {
      clearTimeout(this.#gapTimer);
      this.#gapTimer = null;
    }
    this.#settle(false);
  }

  #settle(all: boolean): void {
    if (this.#waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (all || waiter.version <= this.#version) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#waiters = waiting;
  }

  #armGapTimer(): void {
    if (this.#gapTimer !== null) return;
    this.#gapTimer = setTimeout(() => this.#onGap(), this.#gapTimeoutMs);
    this.#gapTimer.unref();
  }

  #onGap(): void {
    this.#gapTimer = null;
    if (this.#closed || this.#early.size === 0) return;
    const waitingFor = this.#version + 1;
    if (this.#backend.subscribe !== undefined) {
      // Subscribing again from our version makes the backend send what we
      // miss, or a snapshot when it no longer has it.
      this.#logger.warn({ version: this.#version, waitingFor, storage: this.#backend.kind }, 'databroker change missing; subscribing again');
      this.#subscribe();
      if (this.#early.size > 0) this.#armGapTimer();
      return;
    }
    // Only this process writes to a local backend, and the missing version
    // is not coming: the backend numbered a write it never acknowledged.
    const next = Math.min(...this.#early.keys());
    this.#logger.error({ version: this.#version, skippedTo: next, storage: this.#backend.kind }, 'databroker versions skipped by the storage backend');
    this.#version = next - 1;
    this.#feed.reset(this.#serverVersion, this.#version);
    this.#drainEarly();
  }

  #subscribe(): void {
    if (this.#backend.subscribe === undefined) return;
    this.#unsubscribe?.();
    const generation = ++this.#generation;
    this.#unsubscribe = this.#backend.subscribe(
      this.#version,
      (change) => {
        if (generation === this.#generation) this.#offer(change);
      },
      (snapshot) => {
        if (generation === this.#generation) this.#resync(snapshot);
      },
    );
  }

  /**
   * Jumps to the backend's snapshot, telling listeners which records differ
   * from before. The store is the truth, even when its snapshot is of this
   * history but behind the replica: the store lost changes the replica had
   * seen (a log written without fsync and a machine crash, a database or
   * directory restored from a copy). Keeping them would make this replica
   * differ from the store and from every other replica for as long as those
   * records live, and the store's next changes would take their versions;
   * so the lost changes are undone here like those of an abandoned history,
   * and said loudly.
   */
  #resync(snapshot: StoreSnapshot): void {
    if (this.#closed) return;
    const sameHistory = snapshot.serverVersion === this.#serverVersion;
    const lost = sameHistory ? Math.max(0, this.#version - snapshot.version) : 0;
    if (lost > 0) {
      this.#logger.error(
        { serverVersion: snapshot.serverVersion, replicaVersion: this.#version, storeVersion: snapshot.version, lostVersions: lost, storage: this.#backend.kind },
        `DATABROKER STORE LOST CHANGES: it is ${lost} version(s) behind this replica on the same history; following the store and undoing the changes it lost`,
      );
    }
    const before = this.#table;
    const after = new ShardedRecords(this.#shards, this.#indexes);
    for (const record of snapshot.records) {
      // Unchanged records stay the same objects, so references held elsewhere stay current.
      // (Versions up to the snapshot's are common to the store and the replica, lost changes or not.)
      const old = sameHistory ? before.get(record.type, record.id) : undefined;
      after.set(old !== undefined && old.version === record.version ? old : freezeRecord(record));
    }
    const changes: ChangeEvent[] = [];
    const version = snapshot.version;
    before.forEach((old) => {
      if (after.get(old.type, old.id) === undefined) changes.push(Object.freeze({ version, type: old.type, id: old.id, record: null, resync: true }));
    });
    after.forEach((record) => {
      if (before.get(record.type, record.id) !== record) changes.push(Object.freeze({ version, type: record.type, id: record.id, record, resync: true }));
    });
    this.#table = after;
    // Writes acknowledged in an abandoned history, or in the lost changes, will never be applied.
    const abandoned = !sameHistory || lost > 0;
    if (abandoned) {
      this.#serverVersion = snapshot.serverVersion;
      this.#epoch++;
      this.#early.clear();
    }
    for (const v of this.#early.keys()) if (v <= version) this.#early.delete(v);
    this.#logger.info(
      { from: this.#version, to: version, serverVersion: snapshot.serverVersion, newHistory: !sameHistory, changed: changes.length },
      'databroker replica resynchronised from a snapshot',
    );
    this.#version = version;
    this.#feed.reset(snapshot.serverVersion, version);
    for (const change of changes) this.#emit(change);
    // Their callers were answered by the backend; they are done.
    if (abandoned) this.#settle(true);
    this.#drainEarly();
  }

  /** Periodic sweep; on a shared store only while holding the sweeper lease. */
  async #sweepRound(leaseTtlMs: number): Promise<void> {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    try {
      if (this.#backend.subscribe !== undefined && !(await this.leases.acquire(SWEEPER_LEASE, this.instanceId, leaseTtlMs))) return;
      const removed = await this.sweep();
      if (removed > 0) this.#logger.debug({ removed }, 'databroker swept expired records');
    } catch (err) {
      this.#logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'databroker sweep failed; trying again on the next round');
    } finally {
      this.#sweeping = false;
    }
  }

  #emit(change: ChangeEvent): void {
    if (this.#listeners.size === 0) return;
    this.#undelivered.push(change);
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let next = this.#undelivered.shift(); next !== undefined; next = this.#undelivered.shift()) {
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
