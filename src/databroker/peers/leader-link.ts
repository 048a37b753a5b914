// A follower's side of the peer group: one mutual-TLS connection to the
// leader that keeps the history in step with the leader's (a snapshot or the
// missing changes first, then every change as it happens) and carries the
// writes this node forwards. When the connection is lost the link retries
// with capped exponential backoff, forever, and says since when the leader is
// unreachable; writes meanwhile fail at once, reads go on from the history.
import { X509Certificate } from 'node:crypto';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { Errors, PosternError } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Change, StoreSnapshot, WriteOp } from '../backend.js';
import type { DataRecord } from '../types.js';
import type { NodeAddress } from './address.js';
import { reconnectDelay } from './backoff.js';
import { PeerConnection, ProtocolError } from './connection.js';
import { encodeFrame } from './frames.js';
import type { ReplicatedHistory } from './history.js';
import { parseLeaderMessage, type Hello, type LeaderMessage } from './messages.js';
import { certificateNamesNode } from './peer-identity.js';
import type { PeerTls } from './tls.js';
import type { PeerTuning } from './tuning.js';

export interface LeaderLinkOptions {
  readonly nodeId: string;
  readonly leaderId: string;
  readonly leaderAddress: NodeAddress;
  readonly tls: PeerTls;
  readonly history: ReplicatedHistory;
  readonly logger: Logger;
  readonly tuning: PeerTuning;
  /** A change from the leader, already applied to the history. */
  readonly onChange: (change: Change) => void;
  /** The history was replaced by the leader's snapshot. */
  readonly onSnapshot: (snapshot: StoreSnapshot) => void;
  /** The history is in step with the leader (after a resume or a complete snapshot). */
  readonly onSynced: () => void;
}

interface ForwardedWrite {
  readonly op: WriteOp;
  readonly resolve: (change: Change) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** The version the leader gave it; 0 until acknowledged. */
  version: number;
}

interface StagedSnapshot {
  readonly serverVersion: string;
  readonly version: number;
  readonly records: DataRecord[];
}

/** The change a write made, built from the write itself when the history is past it but no longer holds it. */
function changeFromOp(op: WriteOp, version: number): Change {
  const record = op.data === null ? null : { type: op.type, id: op.id, version, data: op.data, modifiedAt: op.modifiedAt, expiresAt: op.expiresAt };
  return { version, type: op.type, id: op.id, record };
}

export class LeaderLink {
  readonly #options: LeaderLinkOptions;
  readonly #writes = new Map<number, ForwardedWrite>();
  #nextWriteId = 1;
  /** The socket of a connection attempt, until its handshake completes. */
  #connecting: TLSSocket | null = null;
  #connection: PeerConnection | null = null;
  /** The leader answered this connection's hello: writes may go through. */
  #answered = false;
  #staging: StagedSnapshot | null = null;
  #retry: NodeJS.Timeout | null = null;
  #attempt = 0;
  #stopped = false;
  #downSince: number | null = Date.now();
  #lastError: string | null = null;
  /** The leader's reason for refusing this node, which explains more than the reset that follows it. */
  #refusal: string | null = null;
  /** One warning per outage; the retries that follow log at debug. */
  #warned = false;

  constructor(options: LeaderLinkOptions) {
    this.#options = options;
  }

  get leaderId(): string {
    return this.#options.leaderId;
  }

  /** The leader answered and the connection is up. */
  get reachable(): boolean {
    return this.#connection !== null && this.#answered;
  }

  /** Since when (ms since the epoch) the leader is unreachable; null while it is reachable. */
  get downSince(): number | null {
    return this.#downSince;
  }

  start(): void {
    this.#connect();
  }

  /**
   * Forwards a write; resolves once the leader acknowledged it and its change
   * is in the history, and fails as unconfirmed when that does not happen on
   * this connection within the write timeout.
   */
  write(op: WriteOp): Promise<Change> {
    const connection = this.#connection;
    if (connection === null || !this.#answered) return Promise.reject(this.#readOnlyError());
    const { maxPendingWrites, maxFrameBytes, writeTimeoutMs } = this.#options.tuning;
    if (this.#writes.size >= maxPendingWrites) {
      return Promise.reject(new PosternError(Errors.DATABROKER_WRITE_REFUSED, `${this.#writes.size} writes are already waiting for leader ${this.leaderId}`));
    }
    const id = this.#nextWriteId++;
    let frame: Buffer;
    try {
      frame = encodeFrame({ t: 'write', id, op }, maxFrameBytes);
    } catch (err) {
      return Promise.reject(new PosternError(Errors.DATABROKER_WRITE_REFUSED, (err as Error).message, { cause: err }));
    }
    return new Promise<Change>((resolve, reject) => {
      const timer = setTimeout(() => this.#timedOut(id), writeTimeoutMs);
      this.#writes.set(id, { op, resolve, reject, timer, version: 0 });
      connection.sendFrame(frame);
    });
  }

  /** `leader a unreachable since <ISO time> (<last error>)`. */
  unreachableDetail(): string {
    const since = this.#downSince === null ? '' : ` since ${new Date(this.#downSince).toISOString()}`;
    const why = this.#lastError === null ? '' : ` (${this.#lastError})`;
    return `leader ${this.leaderId} unreachable${since}${why}`;
  }

  /** What a write fails with while the leader is unreachable. */
  #readOnlyError(): PosternError {
    return new PosternError(Errors.DATABROKER_READ_ONLY, this.unreachableDetail());
  }

  /** Stops for good: no reconnect; writes still waiting fail. */
  stop(): void {
    this.#stopped = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    this.#connecting?.destroy();
    this.#connecting = null;
    this.#connection?.close(`stopped following leader ${this.leaderId}`);
    this.#failWrites(`this node stopped following leader ${this.leaderId}`, 'this node stopped following it before the change arrived');
  }

  #connect(): void {
    if (this.#stopped) return;
    const { leaderAddress, tls, tuning } = this.#options;
    const socket = connect({
      host: leaderAddress.host,
      port: leaderAddress.port,
      cert: tls.certPem,
      key: tls.keyPem,
      ca: tls.caPem,
      minVersion: 'TLSv1.3',
      // The leader is identified by its node id, not by the host it is dialled at.
      checkServerIdentity: (_host: string, cert: PeerCertificate) => this.#checkLeader(cert),
    });
    this.#connecting = socket;
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS connection within ${tuning.connectTimeoutMs} ms`)), tuning.connectTimeoutMs);
    let failure = 'the connection closed during the TLS handshake';
    socket.on('error', (err: Error) => {
      failure = err.message;
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      this.#connecting = null;
      this.#connected(socket);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.#connecting !== socket) return;
      this.#connecting = null;
      this.#unreachable(failure);
    });
  }

  #checkLeader(cert: PeerCertificate): Error | undefined {
    const { leaderId } = this.#options;
    return certificateNamesNode(new X509Certificate(cert.raw), leaderId) ? undefined : new Error(`the leader's certificate does not name node "${leaderId}"`);
  }

  #connected(socket: TLSSocket): void {
    const { history, tuning, nodeId } = this.#options;
    const connection = new PeerConnection(socket, {
      maxFrameBytes: tuning.maxFrameBytes,
      heartbeatMs: tuning.heartbeatMs,
      onMessage: (value) => this.#receive(value),
      onDrain: () => undefined,
      onClose: (reason) => this.#lost(connection, reason),
    });
    this.#connection = connection;
    this.#refusal = null;
    if (this.#stopped) {
      connection.close('stopped');
      return;
    }
    connection.send({ t: 'hello', node: nodeId, serverVersion: history.serverVersion, version: history.version } satisfies Hello);
  }

  #receive(value: unknown): void {
    const message = parseLeaderMessage(value);
    if (message === null) throw new ProtocolError('the leader sent a malformed message');
    this.#handle(message);
  }

  #handle(message: LeaderMessage): void {
    const { history } = this.#options;
    switch (message.t) {
      case 'resume':
        if (this.#staging !== null) throw new ProtocolError('resume during a snapshot');
        history.adopt(message.serverVersion);
        this.#answer();
        this.#synced();
        return;
      case 'snapshot-begin':
        if (this.#staging !== null) throw new ProtocolError('a snapshot began inside another');
        this.#staging = { serverVersion: message.serverVersion, version: message.version, records: [] };
        this.#answer();
        return;
      case 'records': {
        const staging = this.#staging;
        if (staging === null) throw new ProtocolError('records outside a snapshot');
        for (const record of message.records) staging.records.push(record);
        return;
      }
      case 'snapshot-end': {
        const snapshot = this.#staging;
        if (snapshot === null) throw new ProtocolError('a snapshot ended that never began');
        this.#staging = null;
        history.reset(snapshot);
        this.#options.onSnapshot(snapshot);
        this.#settleWrites();
        this.#synced();
        return;
      }
      case 'change':
        if (this.#staging !== null) throw new ProtocolError('a change inside a snapshot');
        history.apply(message.change);
        this.#options.onChange(message.change);
        this.#settleWrites();
        return;
      case 'ack': {
        const write = this.#writes.get(message.id);
        // A write that timed out is forgotten; its late ack changes nothing.
        if (write === undefined || write.version !== 0) return;
        write.version = message.version;
        this.#settleWrites();
        return;
      }
      case 'nack': {
        const write = this.#writes.get(message.id);
        if (write === undefined) return;
        this.#finish(message.id, write);
        write.reject(new PosternError(Errors.DATABROKER_WRITE_REFUSED, `leader ${this.leaderId}: ${message.reason}`));
        return;
      }
      case 'refused':
        this.#refusal = `leader ${this.leaderId} refused this node: ${message.reason}`;
        this.#options.logger.warn({ leader: this.leaderId, reason: message.reason }, 'the databroker leader refused this node');
        return;
      case 'ping':
        return;
    }
  }

  #answer(): void {
    if (this.#answered) return;
    this.#answered = true;
    this.#downSince = null;
    this.#lastError = null;
    this.#warned = false;
    this.#options.logger.info({ leader: this.leaderId }, 'following the databroker leader');
  }

  #synced(): void {
    this.#attempt = 0;
    this.#options.onSynced();
  }

  /**
   * Resolves the acknowledged writes whose version the history has reached
   * (read-your-writes). Only then: the replica applies the change a write
   * resolves with, and a version its history lacks would sit in the replica
   * as if replicated. Should this node, or one that replicated no more than
   * it, be promoted, that version goes to another change, which the replica
   * skips as already seen, silently and for as long as the record lives.
   * While a snapshot is coming in, the history is still the one it replaces,
   * whose versions are not the leader's.
   */
  #settleWrites(): void {
    const { history } = this.#options;
    if (this.#staging !== null) return;
    for (const [id, write] of this.#writes) {
      if (write.version === 0 || write.version > history.version) continue;
      this.#finish(id, write);
      write.resolve(history.changeAt(write.version) ?? changeFromOp(write.op, write.version));
    }
  }

  #timedOut(id: number): void {
    const write = this.#writes.get(id);
    if (write === undefined) return;
    const within = `within ${this.#options.tuning.writeTimeoutMs} ms`;
    this.#unconfirmed(id, write, `leader ${this.leaderId} did not acknowledge the write ${within}`, `its change did not reach this node ${within}`);
  }

  #finish(id: number, write: ForwardedWrite): void {
    clearTimeout(write.timer);
    this.#writes.delete(id);
  }

  #failWrites(unacknowledged: string, acknowledgedBut: string): void {
    for (const [id, write] of this.#writes) this.#unconfirmed(id, write, unacknowledged, acknowledgedBut);
  }

  /**
   * Fails a write that this connection will not see through. One the leader
   * acknowledged fails too, rather than resolving with a change made up from
   * the write: its change is not in this node's history and lasts only as
   * long as the leader does; the next leader (a promoted follower, or this
   * one restarted without it) may have given its version to another change.
   * Waiting for it on the next connection could resolve it with that change.
   */
  #unconfirmed(id: number, write: ForwardedWrite, unacknowledged: string, acknowledgedBut: string): void {
    this.#finish(id, write);
    const message = write.version === 0 ? unacknowledged : `leader ${this.leaderId} acknowledged the write as version ${write.version}, but ${acknowledgedBut}`;
    write.reject(new PosternError(Errors.DATABROKER_WRITE_UNCONFIRMED, message));
  }

  #lost(connection: PeerConnection, reason: string): void {
    if (this.#connection !== connection) return;
    this.#connection = null;
    this.#staging = null;
    const wasAnswered = this.#answered;
    this.#answered = false;
    this.#failWrites(
      `the connection to leader ${this.leaderId} closed before it acknowledged the write (${reason})`,
      `the connection closed before its change reached this node (${reason})`,
    );
    if (this.#stopped) return;
    if (wasAnswered) this.#downSince = Date.now();
    this.#unreachable(reason);
  }

  #unreachable(reason: string): void {
    if (this.#stopped) return;
    this.#lastError = this.#refusal ?? reason;
    this.#downSince ??= Date.now();
    const delay = reconnectDelay(this.#attempt++, { minMs: this.#options.tuning.reconnectMinMs, maxMs: this.#options.tuning.reconnectMaxMs });
    const log = { leader: this.leaderId, reason: this.#lastError, retryInMs: delay };
    if (this.#warned) this.#options.logger.debug(log, 'databroker leader still unreachable');
    else this.#options.logger.warn(log, 'databroker leader unreachable; serving reads, refusing writes');
    this.#warned = true;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect();
    }, delay);
  }
}
