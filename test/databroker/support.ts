// A shared store for replica and lease tests: one totally ordered log of
// changes (what Postgres or a peer leader provides), and a backend per
// instance whose acknowledgements and notifications wait in queues until the
// test releases them, in whatever order it chooses. Nothing runs by itself,
// so property tests can explore interleavings deterministically.
import { pino } from 'pino';
import type { Change, StorageBackend, StoreSnapshot, WriteOp } from '../../src/databroker/backend.js';
import type { DataRecord } from '../../src/databroker/types.js';
import type { Logger } from '../../src/telemetry/logger.js';

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function capturingLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** Lets promise callbacks run (several rounds, for chains of awaits). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

interface Ack {
  readonly change: Change;
  readonly resolve: (change: Change) => void;
}

interface Subscription {
  readonly listener: (change: Change) => void;
  readonly onResync: (snapshot: StoreSnapshot) => void;
  /** Changes (or a snapshot) waiting to be delivered, in order. */
  readonly inbox: ({ change: Change } | { snapshot: StoreSnapshot })[];
  active: boolean;
}

export class SharedLog {
  serverVersion = 'history-1';
  /** Every change of the current history, by version - 1. */
  changes: Change[] = [];
  /** Changes before this version are no longer kept: a subscriber from further back gets a snapshot. */
  earliest = 0;
  readonly #records = new Map<string, DataRecord>();
  /** The records at `earliest`, from which the kept changes replay. */
  readonly #base = new Map<string, DataRecord>();
  readonly #nodes: SharedLogBackend[] = [];

  get version(): number {
    return this.earliest + this.changes.length;
  }

  /**
   * A backend for one instance. With `commitOnWrite: false` a write waits
   * (see commit()) before the log gives it a version, as a write on its way
   * to a database or a leader does: its time is when it was made, its
   * place in the order when it arrives.
   */
  backend(options: { commitOnWrite?: boolean } = {}): SharedLogBackend {
    const node = new SharedLogBackend(this, options.commitOnWrite ?? true);
    this.#nodes.push(node);
    return node;
  }

  snapshot(): StoreSnapshot {
    return { serverVersion: this.serverVersion, version: this.version, records: [...this.#records.values()] };
  }

  append(op: WriteOp): Change {
    const version = this.version + 1;
    const key = `${op.type}\u0000${op.id}`;
    const record = op.data === null ? null : { type: op.type, id: op.id, version, data: op.data, modifiedAt: op.modifiedAt, expiresAt: op.expiresAt };
    if (record === null) this.#records.delete(key);
    else this.#records.set(key, record);
    const change = { version, type: op.type, id: op.id, record };
    this.changes.push(change);
    for (const node of this.#nodes) node.notify(change);
    return change;
  }

  /** Forgets the kept changes (as a bounded feed does): subscribers from before now get a snapshot. */
  forgetChanges(): void {
    this.earliest = this.version;
    this.changes = [];
    this.#rebase();
  }

  /**
   * Loses the last `count` changes and keeps the server version, as a store
   * does that acknowledged changes it then lost (a log written without
   * fsync and a machine crash, a restore from a copy). Later writes take the
   * lost versions again.
   */
  loseLastChanges(count: number): void {
    if (!Number.isSafeInteger(count) || count < 0 || count > this.changes.length) throw new RangeError(`cannot lose ${count} of ${this.changes.length} kept changes`);
    this.changes = this.changes.slice(0, this.changes.length - count);
    this.#records.clear();
    for (const [key, record] of this.#base) this.#records.set(key, record);
    for (const c of this.changes) {
      const key = `${c.type}\u0000${c.id}`;
      if (c.record === null) this.#records.delete(key);
      else this.#records.set(key, c.record);
    }
  }

  /** Starts a new history with the same records (a store recreated from a backup, say). */
  newHistory(serverVersion: string): void {
    this.serverVersion = serverVersion;
    let version = 0;
    for (const [key, r] of this.#records) this.#records.set(key, { ...r, version: ++version });
    this.changes = [];
    this.earliest = version;
    this.#rebase();
  }

  #rebase(): void {
    this.#base.clear();
    for (const [key, record] of this.#records) this.#base.set(key, record);
  }
}

export class SharedLogBackend implements StorageBackend {
  readonly kind = 'shared-log';
  readonly #log: SharedLog;
  readonly #commitOnWrite: boolean;
  readonly #subscriptions: Subscription[] = [];
  /** Writes not yet in the log, in the order they were made. */
  readonly #uncommitted: { readonly op: WriteOp; readonly resolve: (change: Change) => void }[] = [];
  /** Writes in the log but not yet acknowledged to the writer. */
  readonly acks: Ack[] = [];
  subscribeCalls = 0;
  closed = false;

  constructor(log: SharedLog, commitOnWrite: boolean) {
    this.#log = log;
    this.#commitOnWrite = commitOnWrite;
  }

  load(): Promise<StoreSnapshot> {
    return Promise.resolve(this.#log.snapshot());
  }

  write(op: WriteOp): Promise<Change> {
    if (this.closed) return Promise.reject(new Error('closed'));
    return new Promise((resolve) => {
      this.#uncommitted.push({ op, resolve });
      if (this.#commitOnWrite) this.commit();
    });
  }

  /** Gives the oldest waiting write its place in the log; false when none waits. */
  commit(): boolean {
    const next = this.#uncommitted.shift();
    if (next === undefined) return false;
    this.acks.push({ change: this.#log.append(next.op), resolve: next.resolve });
    return true;
  }

  subscribe(fromVersion: number, listener: (change: Change) => void, onResync: (snapshot: StoreSnapshot) => void): () => void {
    this.subscribeCalls++;
    const sub: Subscription = { listener, onResync, inbox: [], active: true };
    if (fromVersion < this.#log.earliest || fromVersion > this.#log.version) sub.inbox.push({ snapshot: this.#log.snapshot() });
    else for (const change of this.#log.changes.slice(fromVersion - this.#log.earliest)) sub.inbox.push({ change });
    this.#subscriptions.push(sub);
    return () => {
      sub.active = false;
    };
  }

  notify(change: Change): void {
    for (const sub of this.#subscriptions) if (sub.active) sub.inbox.push({ change });
  }

  /** A snapshot pushed to the subscribers, as a backend does after a new history. */
  pushResync(): void {
    for (const sub of this.#subscriptions) if (sub.active) sub.inbox.push({ snapshot: this.#log.snapshot() });
  }

  /** How many notifications wait for the current subscription. */
  get pending(): number {
    return this.#current()?.inbox.length ?? 0;
  }

  /** Delivers the next notification; false when there is none. */
  deliver(): boolean {
    const sub = this.#current();
    const next = sub?.inbox.shift();
    if (sub === undefined || next === undefined) return false;
    if ('change' in next) sub.listener(next.change);
    else sub.onResync(next.snapshot);
    return true;
  }

  /** Loses the next notification (a dropped NOTIFY, a broken stream). */
  drop(): boolean {
    return this.#current()?.inbox.shift() !== undefined;
  }

  /** Acknowledges the write at `index` of the pending ones; false when there is none. */
  ack(index = 0): boolean {
    const [ack] = this.acks.splice(index, 1);
    if (ack === undefined) return false;
    ack.resolve(ack.change);
    return true;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const sub of this.#subscriptions) sub.active = false;
    return Promise.resolve();
  }

  #current(): Subscription | undefined {
    for (let i = this.#subscriptions.length - 1; i >= 0; i--) if (this.#subscriptions[i]!.active) return this.#subscriptions[i];
    return undefined;
  }
}

/** Delivers and acknowledges everything, letting promise callbacks run in between, until nothing is left. */
export async function drain(backends: readonly SharedLogBackend[]): Promise<void> {
  for (let progress = true; progress; ) {
    progress = false;
    await settle();
    for (const b of backends) {
      while (b.commit()) progress = true;
      while (b.deliver()) progress = true;
      while (b.ack()) progress = true;
    }
  }
  await settle();
}
