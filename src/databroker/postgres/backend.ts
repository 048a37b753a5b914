// The `postgres` storage backend: records sealed before they are stored,
// each write atomic and durable when it resolves (writes queued behind a
// batch on its way go together in the next: see statements.ts), and a
// change feed over LISTEN/NOTIFY so that every instance sharing the database
// sees every change within a round trip or two of its COMMIT (a sign-out on
// one instance is refused on the others). Two connections: the writer
// (writes, loads, pruning) and, once subscribed, the listener (LISTEN and
// the feed reads), so a burst of writes never delays the feed and the feed
// never delays a write.
import { randomBytes } from 'node:crypto';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type pg from 'pg';
import { Errors, PosternError } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Change, StorageBackend, StoreSnapshot, ValueSealer, WriteOp } from '../backend.js';
import type { DataRecord } from '../types.js';
import { RECONNECT_BACKOFF } from './backoff.js';
import { keyProblem, openData, sealData } from './codec.js';
import { errorSummary, PgLink } from './link.js';
import { migrate, type SchemaNames } from './schema.js';
import { ChangeSequencer } from './sequencer.js';
import type { Statements } from './statements.js';

/** No answer to a write or a feed read within this long: the connection is dropped and the call fails. */
export const DEADLINE_MS = 6_000;
/** The server gives up on a statement a little earlier, so a slow statement fails cleanly first. */
export const STATEMENT_TIMEOUT_MS = 5_000;
/** A whole snapshot (all live records, page by page). */
const LOAD_DEADLINE_MS = 300_000;
const FEED_PAGE = 1_000;
/** Writes sent in one statement at most. */
const MAX_BATCH = 500;
const SNAPSHOT_PAGE = 5_000;

/**
 * How long the change table keeps changes for subscribers that fell behind
 * (a reconnecting instance); one that needs a pruned change resynchronises
 * from a snapshot instead. Expired records are not swept here: the replica's
 * sweep deletes them through write(), so every instance hears of it.
 */
export interface RetentionOptions {
  /** How often the change table is pruned; 0 = never (tests call pruneChanges()). */
  readonly pruneIntervalMs: number;
  /** Changes kept at least, by count… */
  readonly keepChanges: number;
  /** …and by age: a change is pruned only when it is older than this AND not among the last keepChanges. */
  readonly keepChangesMs: number;
}

export const DEFAULT_RETENTION: RetentionOptions = Object.freeze({ pruneIntervalMs: 60_000, keepChanges: 100_000, keepChangesMs: 3_600_000 });

export interface PostgresBackendParts {
  readonly config: pg.ClientConfig;
  readonly target: string;
  readonly names: SchemaNames;
  readonly sql: Statements;
  readonly sealer: ValueSealer;
  readonly logger: Logger;
  readonly retention: RetentionOptions;
}

interface Subscription {
  readonly listener: (change: Change) => void;
  readonly onResync: (snapshot: StoreSnapshot) => void;
  readonly sequencer: ChangeSequencer;
  readonly link: PgLink;
  /** One feed read at a time; a request during one asks for another after it. */
  reading: boolean;
  readAgain: boolean;
}

interface QueuedWrite {
  readonly op: WriteOp;
  readonly sealed: Buffer | null;
  readonly seq: number;
  /** The subscription when the write was issued, which puts it in order. */
  readonly sub: Subscription | null;
  readonly resolve: (change: Change) => void;
  readonly reject: (err: unknown) => void;
}

interface Snapshot {
  readonly snapshot: StoreSnapshot;
  /** `type/id` of records whose value no known key opens. */
  readonly unreadable: readonly string[];
}

interface ChangeRow {
  readonly version: string;
  readonly type: string;
  readonly id: string;
  readonly value: Buffer | null;
  readonly modified_at: string;
  readonly expires_at: string | null;
  readonly origin: string;
}

interface RecordRow {
  readonly type: string;
  readonly id: string;
  readonly version: string;
  readonly value: Buffer;
  readonly modified_at: string;
  readonly expires_at: string | null;
}

function unavailable(detail: string): PosternError {
  return new PosternError(Errors.DATABROKER_UNAVAILABLE, detail);
}

function feedDown(target: string): PosternError {
  return unavailable(`postgres listener ${target}: the change feed is down; the write committed and will arrive through the feed`);
}

function checkOp(op: WriteOp): string | null {
  const problem = keyProblem('type', op.type) ?? keyProblem('id', op.id);
  if (problem !== null) return problem;
  if (!Number.isSafeInteger(op.modifiedAt)) return `modifiedAt must be whole milliseconds, not ${op.modifiedAt}`;
  if (op.expiresAt !== null && !Number.isSafeInteger(op.expiresAt)) return `expiresAt must be whole milliseconds or null, not ${op.expiresAt}`;
  return null;
}

export class PostgresBackend implements StorageBackend {
  readonly kind = 'postgres';
  readonly #parts: PostgresBackendParts;
  readonly #sql: Statements;
  /** Names this instance's writes in the change table: `<origin>:<write sequence number>`. */
  readonly #originPrefix = `${randomBytes(6).toString('hex')}:`;
  readonly #writer: PgLink;
  #subscription: Subscription | null = null;
  /** The history the replica holds: from load() or the last resynchronisation. */
  #serverVersion: string | null = null;
  /** The highest version known to exist (from notifications and reads). */
  #latest = 0;
  /** Numbers this instance's writes, across subscriptions. */
  #writeSeq = 0;
  /** Writes waiting for the batch on its way to finish. */
  #queue: QueuedWrite[] = [];
  #flushing = false;
  /** Feed changes whose value no key opened, delivered as deletions; reported by health(). */
  #unreadable = 0;
  #pruneTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(parts: PostgresBackendParts) {
    this.#parts = parts;
    this.#sql = parts.sql;
    this.#writer = new PgLink({
      role: 'writer',
      config: parts.config,
      target: parts.target,
      logger: parts.logger,
      backoff: RECONNECT_BACKOFF,
      // On every connection, not only the first: a schema dropped while we
      // were away is recreated (with a new server_version, which the feed
      // notices and resynchronises on).
      onConnect: async (client) => {
        const applied = await migrate(client, parts.names);
        if (applied.length > 0) parts.logger.info({ schema: parts.names.name, applied }, 'databroker postgres schema migrated');
      },
    });
    if (parts.retention.pruneIntervalMs > 0) {
      this.#pruneTimer = setInterval(() => void this.pruneChanges().catch(() => undefined), parts.retention.pruneIntervalMs);
      this.#pruneTimer.unref();
    }
  }

  /** Resolves once the writer is connected and the schema current; rejects when the first attempt fails. */
  ready(): Promise<void> {
    return this.#writer.firstConnect;
  }

  async load(): Promise<StoreSnapshot> {
    const { snapshot, unreadable } = await this.#writer.run(LOAD_DEADLINE_MS, (client) => this.#readSnapshot(client));
    if (unreadable.length > 0) {
      throw new PosternError(
        Errors.DATABROKER_RECORD_UNREADABLE,
        `${unreadable.length} record(s) in schema ${this.#parts.names.name} (first: ${unreadable[0]}): a key is missing or the rows were tampered with`,
      );
    }
    this.#serverVersion = snapshot.serverVersion;
    this.#latest = Math.max(this.#latest, snapshot.version);
    return snapshot;
  }

  write(op: WriteOp): Promise<Change> {
    if (this.#closed) return Promise.reject(unavailable(`postgres ${this.#parts.target}: the backend is closed`));
    const problem = checkOp(op);
    if (problem !== null) return Promise.reject(new RangeError(`record ${op.type}/${op.id}: ${problem}`));
    if (this.#writer.state !== 'up') return Promise.reject(unavailable(`postgres writer ${this.#parts.target}: ${this.#writer.detail}`));
    const sub = this.#subscription;
    // Without the feed a write could not be put in order with the others' changes.
    if (sub !== null && sub.link.state === 'down') return Promise.reject(unavailable(`postgres listener ${this.#parts.target}: ${sub.link.detail}`));
    let sealed: Buffer | null;
    try {
      sealed = op.data === null ? null : sealData(this.#parts.sealer, op.type, op.id, op.data);
    } catch (err) {
      return Promise.reject(err);
    }
    const seq = ++this.#writeSeq;
    sub?.sequencer.writeSent(seq);
    return new Promise<Change>((resolve, reject) => {
      this.#queue.push({ op, sealed, seq, sub, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  subscribe(fromVersion: number, listener: (change: Change) => void, onResync: (snapshot: StoreSnapshot) => void): () => void {
    if (this.#closed) throw new Error('the postgres backend is closed');
    if (this.#subscription !== null) throw new Error('the postgres backend feeds one subscriber; unsubscribe first');
    const sequencer = new ChangeSequencer(fromVersion);
    const channel = this.#parts.names.channel;
    let sub: Subscription | null = null;
    const link = new PgLink({
      role: 'listener',
      config: this.#parts.config,
      target: this.#parts.target,
      logger: this.#parts.logger,
      backoff: RECONNECT_BACKOFF,
      onConnect: async (client) => {
        client.on('notification', (message: pg.Notification) => {
          if (message.channel !== channel || sub === null) return;
          const version = Number(message.payload);
          if (version > this.#latest) this.#latest = version;
          if (version > sub.sequencer.applied) this.#readFeed(sub);
        });
        await client.query(`LISTEN "${channel}"`);
      },
      // On every (re)connection: read everything after the last version passed on.
      onUp: () => {
        if (sub !== null) this.#readFeed(sub);
      },
      onDown: () => sequencer.failWaiting(feedDown(this.#parts.target)),
    });
    sub = { listener, onResync, sequencer, link, reading: false, readAgain: false };
    this.#subscription = sub;
    return () => {
      if (this.#subscription !== sub) return;
      this.#subscription = null;
      sequencer.release();
      void link.close();
    };
  }

  health(): { readonly ok: boolean; readonly detail: string } {
    const target = `postgres ${this.#parts.target}`;
    if (this.#closed) return { ok: false, detail: `${target}: closed` };
    if (this.#writer.state !== 'up') return { ok: false, detail: `${target}: writer ${this.#writer.detail}` };
    const sub = this.#subscription;
    if (sub !== null && sub.link.state !== 'up') return { ok: false, detail: `${target}: change feed ${sub.link.detail}` };
    if (this.#unreadable > 0) return { ok: false, detail: `${target}: ${this.#unreadable} change(s) could not be opened with the configured keys` };
    return { ok: true, detail: `${target}: connected` };
  }

  /**
   * Deletes the changes the retention no longer keeps; resolves with how
   * many. Runs on the interval; public for tests and tools.
   */
  pruneChanges(): Promise<number> {
    const { keepChanges, keepChangesMs } = this.#parts.retention;
    return this.#writer
      .run(DEADLINE_MS, (client) => client.query(this.#sql.pruneChanges, [keepChanges, keepChangesMs]))
      .then(
        (result) => result.rowCount ?? 0,
        (err: unknown) => {
          this.#parts.logger.warn({ error: errorSummary(err) }, 'databroker postgres change pruning failed');
          throw err;
        },
      );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pruneTimer !== null) clearInterval(this.#pruneTimer);
    this.#pruneTimer = null;
    const sub = this.#subscription;
    this.#subscription = null;
    if (sub !== null) {
      sub.sequencer.release();
      await sub.link.close();
    }
    await this.#writer.close();
  }

  /** Sends the queued writes, a batch at a time, until none is left. */
  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) await this.#send(this.#queue.splice(0, MAX_BATCH));
    } finally {
      this.#flushing = false;
    }
  }

  async #send(batch: readonly QueuedWrite[]): Promise<void> {
    let base: number;
    try {
      const { rows } = await this.#writer.run(DEADLINE_MS, (client) =>
        client.query<{ base: string }>({
          name: 'postern_write',
          text: this.#sql.write,
          values: [
            batch.map((w) => w.op.type),
            batch.map((w) => w.op.id),
            batch.map((w) => w.sealed),
            batch.map((w) => w.op.modifiedAt),
            batch.map((w) => w.op.expiresAt),
            batch.map((w) => this.#originPrefix + w.seq),
            batch.length,
            this.#parts.names.channel,
          ],
        }),
      );
      base = Number(rows[0]!.base);
    } catch (err) {
      for (const w of batch) {
        w.sub?.sequencer.writeFailed(w.seq);
        w.reject(err);
      }
      if (this.#subscription !== null) this.#resumeFeed(this.#subscription);
      return;
    }
    if (base + batch.length > this.#latest) this.#latest = base + batch.length;
    const current = this.#subscription;
    let waits = false;
    for (let i = 0; i < batch.length; i++) {
      const w = batch[i]!;
      const { op } = w;
      const version = base + i + 1;
      const record: DataRecord | null =
        op.data === null ? null : { type: op.type, id: op.id, version, data: op.data, modifiedAt: op.modifiedAt, expiresAt: op.expiresAt };
      const change: Change = { version, type: op.type, id: op.id, record };
      if (w.sub === null) {
        w.resolve(change);
        continue;
      }
      const committed = w.sub.sequencer.writeCommitted(w.seq, change);
      committed.change.then(w.resolve, w.reject);
      if (w.sub === current && committed.waits) waits = true;
    }
    if (current === null) return;
    if (waits && current.link.state === 'down') {
      // The feed went down while the writes were on their way: fail now rather than hang.
      current.sequencer.failWaiting(feedDown(this.#parts.target));
    } else if (waits) {
      this.#readFeed(current);
    } else {
      // The feed may have stopped at one of these writes' rows: read on.
      this.#resumeFeed(current);
    }
  }

  /** Reads on when a write or a failure may have unblocked the feed. */
  #resumeFeed(sub: Subscription): void {
    if (sub.sequencer.applied < this.#latest) this.#readFeed(sub);
  }

  /** Reads the feed until it is current; one read at a time, notifications during a read ask for another. */
  #readFeed(sub: Subscription): void {
    if (sub.reading) {
      sub.readAgain = true;
      return;
    }
    sub.reading = true;
    void (async () => {
      try {
        do {
          sub.readAgain = false;
          if (this.#subscription !== sub || sub.link.state !== 'up') break;
          await sub.link.run(DEADLINE_MS, (client) => this.#catchUp(client, sub));
        } while (sub.readAgain);
      } catch (err) {
        // The link reconnects and reads again once it is back (onUp).
        this.#parts.logger.debug({ error: errorSummary(err) }, 'databroker postgres feed read failed');
      } finally {
        sub.reading = false;
      }
    })();
  }

  async #catchUp(client: pg.Client, sub: Subscription): Promise<void> {
    const { sequencer } = sub;
    // Our own writes may move `applied` past what this read sees; what was passed on before it cannot be.
    const before = sequencer.applied;
    const head = await client.query<{ server_version: string; version: string }>(this.#sql.head);
    const serverVersion = head.rows[0]!.server_version;
    const top = Number(head.rows[0]!.version);
    if (top > this.#latest) this.#latest = top;
    if (serverVersion !== this.#serverVersion || top < before) return this.#resync(client, sub, 'the store history changed');
    while (sequencer.applied < top) {
      const from = sequencer.applied;
      const { rows } = await client.query<ChangeRow>(this.#sql.changesBetween, [from, top, FEED_PAGE]);
      if (this.#subscription !== sub) return;
      // Versions are gap-free and pruning removes the oldest: a missing first row means it was pruned.
      if (rows.length === 0 || Number(rows[0]!.version) !== from + 1) return this.#resync(client, sub, 'the changes needed were pruned');
      let resolvedWrites = false;
      for (const row of rows) {
        const version = Number(row.version);
        if (resolvedWrites && !sequencer.resolves(version)) {
          // The writes just resolved continue in microtasks: let them apply
          // their changes before anything later is passed on.
          resolvedWrites = false;
          await setImmediatePromise();
          if (this.#subscription !== sub) return;
        }
        const verdict = sequencer.offer(version, this.#ownWrite(row.origin));
        if (verdict === 'wait') return;
        if (verdict === 'resolved') resolvedWrites = true;
        if (verdict === 'deliver') this.#deliver(sub, this.#changeFrom(row, version));
      }
    }
  }

  async #resync(client: pg.Client, sub: Subscription, reason: string): Promise<void> {
    const { snapshot, unreadable } = await this.#readSnapshot(client);
    if (this.#subscription !== sub) return;
    this.#parts.logger.warn(
      { reason, from: sub.sequencer.applied, to: snapshot.version, serverVersion: snapshot.serverVersion },
      'databroker postgres feed resynchronised from a snapshot',
    );
    if (unreadable.length > 0) {
      this.#unreadable += unreadable.length;
      this.#parts.logger.error({ count: unreadable.length, first: unreadable[0] }, 'databroker postgres records cannot be opened with the configured keys; left out');
    }
    this.#serverVersion = snapshot.serverVersion;
    try {
      sub.onResync(snapshot);
    } catch (err) {
      this.#parts.logger.error({ err }, 'databroker resync listener failed');
    }
    sub.sequencer.resynchronised(snapshot.version);
  }

  #deliver(sub: Subscription, change: Change): void {
    try {
      sub.listener(change);
    } catch (err) {
      this.#parts.logger.error({ err, type: change.type, id: change.id }, 'databroker change listener failed');
    }
  }

  #ownWrite(origin: string): number | null {
    return origin.startsWith(this.#originPrefix) ? Number(origin.slice(this.#originPrefix.length)) : null;
  }

  #changeFrom(row: ChangeRow, version: number): Change {
    if (row.value === null) return { version, type: row.type, id: row.id, record: null };
    const data = openData(this.#parts.sealer, row.type, row.id, row.value);
    if (data === undefined) {
      // Fail closed: a record this instance cannot read is absent here.
      this.#unreadable++;
      this.#parts.logger.error({ type: row.type, id: row.id, version }, 'databroker postgres change cannot be opened with the configured keys; applied as a deletion');
      return { version, type: row.type, id: row.id, record: null };
    }
    const record: DataRecord = {
      type: row.type,
      id: row.id,
      version,
      data,
      modifiedAt: Number(row.modified_at),
      expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    };
    return { version, type: row.type, id: row.id, record };
  }

  /** Every live record and the version they are at, read in one REPEATABLE READ transaction. */
  async #readSnapshot(client: pg.Client): Promise<Snapshot> {
    const now = Date.now();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const head = await client.query<{ server_version: string; version: string }>(this.#sql.head);
      const records: DataRecord[] = [];
      const unreadable: string[] = [];
      let afterType = '';
      let afterId = '';
      for (;;) {
        const { rows } = await client.query<RecordRow>(this.#sql.recordsPage, [now, afterType, afterId, SNAPSHOT_PAGE]);
        for (const row of rows) {
          const data = openData(this.#parts.sealer, row.type, row.id, row.value);
          if (data === undefined) {
            unreadable.push(`${row.type}/${row.id}`);
            continue;
          }
          records.push({
            type: row.type,
            id: row.id,
            version: Number(row.version),
            data,
            modifiedAt: Number(row.modified_at),
            expiresAt: row.expires_at === null ? null : Number(row.expires_at),
          });
        }
        if (rows.length < SNAPSHOT_PAGE) break;
        afterType = rows[rows.length - 1]!.type;
        afterId = rows[rows.length - 1]!.id;
      }
      await client.query('COMMIT');
      const snapshot: StoreSnapshot = { serverVersion: head.rows[0]!.server_version, version: Number(head.rows[0]!.version), records };
      return { snapshot, unreadable };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
