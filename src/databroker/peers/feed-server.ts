// The leader's side of the peer group: a TLS server that requires a client
// certificate from databroker_cluster_ca_file, admits only configured nodes,
// brings each follower up to date (changes or snapshot, see catch-up.ts) and
// then streams every new change, and applies the writes followers forward.
//
// Each follower has a cursor into the history, and the server writes from it
// only while the socket's queue is short: a slow follower lags (and gets a
// snapshot if it falls out of the retained changes) instead of making the
// leader buffer without bound.
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../../telemetry/logger.js';
import type { Change, StoreSnapshot, WriteOp } from '../backend.js';
import type { NodeAddress } from './address.js';
import { planCatchUp } from './catch-up.js';
import { PeerConnection, ProtocolError } from './connection.js';
import { encodeFrame, encodeJsonFrame } from './frames.js';
import type { ReplicatedHistory } from './history.js';
import { parseFollowerMessage, type Ack, type Nack, type Refused, type Resume, type SnapshotBegin } from './messages.js';
import { admitFollower, certificateNamesNode, namesSomeNode } from './peer-identity.js';
import type { PeerTls } from './tls.js';
import type { PeerTuning } from './tuning.js';

export interface FeedServerOptions {
  readonly nodeId: string;
  readonly nodeIds: ReadonlySet<string>;
  readonly listen: NodeAddress;
  readonly tls: PeerTls;
  readonly history: ReplicatedHistory;
  /** Applies a write a follower forwarded, exactly as the leader's own writes are applied. */
  readonly write: (op: WriteOp) => Promise<Change>;
  readonly logger: Logger;
  readonly tuning: PeerTuning;
}

type Cursor =
  | { readonly kind: 'log'; next: number }
  | { readonly kind: 'snapshot'; readonly snapshot: StoreSnapshot; index: number; begun: boolean };

interface FollowerSession {
  readonly connection: PeerConnection;
  readonly remote: string;
  readonly certificateNames: (nodeId: string) => boolean;
  readonly helloTimer: NodeJS.Timeout;
  /** Set by the hello. */
  node: string | null;
  /** null until the hello. */
  cursor: Cursor | null;
  pendingWrites: number;
}

const SNAPSHOT_END = encodeFrame({ t: 'snapshot-end' }, 64);

export class FeedServer {
  readonly #options: FeedServerOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<FollowerSession>();
  /** The latest change's frame: in steady state every follower is sent the same one. */
  #lastChange: { readonly change: Change; readonly frame: Buffer } | null = null;

  constructor(options: FeedServerOptions) {
    this.#options = options;
    const { tls, tuning, logger } = options;
    this.#server = createServer({
      cert: tls.certPem,
      key: tls.keyPem,
      ca: tls.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      handshakeTimeout: tuning.handshakeTimeoutMs,
    });
    this.#server.maxConnections = tuning.maxConnections;
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('secureConnection', (socket: TLSSocket) => this.#accept(socket));
    this.#server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      // A certificate that does not verify ends the handshake without an
      // OpenSSL error (Node checks it afterwards and destroys the socket), so
      // the verification result explains more than the error does.
      const verification: unknown = socket.authorizationError;
      const reason = typeof verification === 'string' && verification !== '' ? verification : err.message;
      logger.warn({ remote: socket.remoteAddress, reason }, 'databroker peer refused: TLS handshake failed');
    });
  }

  listen(): Promise<void> {
    const { host, port } = this.#options.listen;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (err: Error) => this.#options.logger.error({ err }, 'databroker peer server failed'));
        resolve();
      });
    });
  }

  /** Node ids of the followers that said hello and are connected. */
  followers(): string[] {
    const nodes: string[] = [];
    for (const session of this.#sessions) if (session.node !== null) nodes.push(session.node);
    return nodes.sort();
  }

  /** The history has new changes: feed every follower that is in step. */
  notify(): void {
    for (const session of this.#sessions) this.#pump(session);
  }

  /** Stops listening and drops every connection, handshakes included. */
  close(): Promise<void> {
    for (const session of this.#sessions) session.connection.close('the leader is stopping');
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: TLSSocket): void {
    const { nodeIds, logger, tuning } = this.#options;
    const cert = socket.getPeerX509Certificate();
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const certificateNames = (nodeId: string): boolean => cert !== undefined && certificateNamesNode(cert, nodeId);
    if (!namesSomeNode(nodeIds, certificateNames)) {
      // The CA vouches for this peer, so it may learn why: a node missing from this leader's configuration.
      const reason = `the client certificate names no node in databroker_cluster_nodes (${[...nodeIds].join(', ')})`;
      logger.warn({ remote, subject: cert?.subject }, 'databroker peer refused: its certificate names no configured node');
      socket.on('error', () => undefined);
      socket.end(encodeFrame({ t: 'refused', reason } satisfies Refused, tuning.maxFrameBytes));
      setTimeout(() => socket.destroy(), tuning.handshakeTimeoutMs).unref();
      return;
    }
    const session: FollowerSession = {
      remote,
      certificateNames,
      node: null,
      cursor: null,
      pendingWrites: 0,
      helloTimer: setTimeout(() => session.connection.close(`no hello within ${tuning.handshakeTimeoutMs} ms`), tuning.handshakeTimeoutMs),
      connection: new PeerConnection(socket, {
        maxFrameBytes: tuning.maxFrameBytes,
        heartbeatMs: tuning.heartbeatMs,
        onMessage: (value) => this.#receive(session, value),
        onDrain: () => this.#pump(session),
        onClose: (reason) => this.#closed(session, reason),
      }),
    };
    session.helloTimer.unref();
    this.#sessions.add(session);
  }

  #closed(session: FollowerSession, reason: string): void {
    clearTimeout(session.helloTimer);
    this.#sessions.delete(session);
    if (session.node !== null) this.#options.logger.info({ node: session.node, remote: session.remote, reason }, 'databroker follower disconnected');
  }

  #receive(session: FollowerSession, value: unknown): void {
    const message = parseFollowerMessage(value);
    if (message === null) throw new ProtocolError('the follower sent a malformed message');
    switch (message.t) {
      case 'hello':
        this.#hello(session, message.node, message.serverVersion, message.version);
        return;
      case 'write':
        if (session.node === null) throw new ProtocolError('the follower wrote before its hello');
        this.#write(session, message.id, message.op);
        return;
      case 'ping':
        return;
    }
  }

  #hello(session: FollowerSession, node: string, serverVersion: string, version: number): void {
    const { nodeId, nodeIds, history, logger } = this.#options;
    if (session.node !== null) throw new ProtocolError('the follower said hello twice');
    clearTimeout(session.helloTimer);
    const admission = admitFollower(node, nodeId, nodeIds, session.certificateNames);
    if (!admission.ok) {
      logger.warn({ remote: session.remote, node, reason: admission.reason }, 'databroker peer refused');
      session.connection.closeAfter({ t: 'refused', reason: admission.reason } satisfies Refused, admission.reason);
      return;
    }
    // A follower that reconnects before its old connection timed out: the new one is the live one.
    for (const other of this.#sessions) {
      if (other !== session && other.node === node) other.connection.close('replaced by a newer connection from the same node');
    }
    session.node = node;
    if (serverVersion === history.serverVersion && version > history.version) {
      // Only a leader that lost acknowledged changes (a log written without fsync, restored from an old copy) is behind its own followers.
      logger.error({ node, followerVersion: version, leaderVersion: history.version }, 'a follower is ahead of this leader on its own history: changes acknowledged earlier are lost');
    }
    const plan = planCatchUp({ serverVersion, version }, history.position);
    if (plan === 'changes') {
      session.connection.send({ t: 'resume', serverVersion: history.serverVersion } satisfies Resume);
      session.cursor = { kind: 'log', next: version + 1 };
    } else {
      session.cursor = { kind: 'snapshot', snapshot: history.snapshot(), index: 0, begun: false };
    }
    logger.info(
      { node, remote: session.remote, plan, from: { serverVersion, version }, to: { serverVersion: history.serverVersion, version: history.version } },
      'databroker follower connected',
    );
    this.#pump(session);
  }

  #write(session: FollowerSession, id: number, op: WriteOp): void {
    const connection = session.connection;
    if (session.pendingWrites >= this.#options.tuning.maxPendingWrites) {
      connection.send({ t: 'nack', id, reason: 'too many writes in flight from this node' } satisfies Nack);
      return;
    }
    session.pendingWrites++;
    this.#options.write(op).then(
      (change) => {
        session.pendingWrites--;
        connection.send({ t: 'ack', id, version: change.version } satisfies Ack);
      },
      (err: unknown) => {
        session.pendingWrites--;
        connection.send({ t: 'nack', id, reason: err instanceof Error ? err.message : String(err) } satisfies Nack);
      },
    );
  }

  #pump(session: FollowerSession): void {
    const { connection } = session;
    const { history, tuning, logger } = this.#options;
    try {
      while (session.cursor !== null && !connection.closed && connection.writableLength < tuning.sendHighWaterBytes) {
        const cursor = session.cursor;
        if (cursor.kind === 'snapshot') {
          const { snapshot } = cursor;
          if (!cursor.begun) {
            connection.send({ t: 'snapshot-begin', serverVersion: snapshot.serverVersion, version: snapshot.version } satisfies SnapshotBegin);
            cursor.begun = true;
          } else if (cursor.index < snapshot.records.length) {
            cursor.index = this.#sendRecords(connection, snapshot, cursor.index);
          } else {
            connection.sendFrame(SNAPSHOT_END);
            session.cursor = { kind: 'log', next: snapshot.version + 1 };
          }
          continue;
        }
        if (cursor.next > history.version) return;
        const change = history.changeAt(cursor.next);
        if (change === undefined) {
          logger.info({ node: session.node, behind: history.version - cursor.next + 1 }, 'databroker follower fell behind the retained changes; sending a snapshot');
          session.cursor = { kind: 'snapshot', snapshot: history.snapshot(), index: 0, begun: false };
          continue;
        }
        connection.sendFrame(this.#changeFrame(change));
        cursor.next++;
      }
    } catch (err) {
      // Only an unencodable frame lands here (a record too large for a frame); the follower cannot be fed.
      logger.error({ err, node: session.node }, 'databroker follower cannot be fed');
      connection.close('a change could not be encoded');
    }
  }

  /** Sends one frame of records from `index`; returns the index after the last record sent. */
  #sendRecords(connection: PeerConnection, snapshot: StoreSnapshot, index: number): number {
    const { snapshotChunkBytes, maxFrameBytes } = this.#options.tuning;
    const parts: string[] = [];
    let bytes = 0;
    let i = index;
    while (i < snapshot.records.length && (parts.length === 0 || bytes < snapshotChunkBytes)) {
      const json = JSON.stringify(snapshot.records[i]);
      parts.push(json);
      bytes += json.length;
      i++;
    }
    connection.sendFrame(encodeJsonFrame(`{"t":"records","records":[${parts.join(',')}]}`, maxFrameBytes));
    return i;
  }

  #changeFrame(change: Change): Buffer {
    if (this.#lastChange?.change !== change) {
      this.#lastChange = { change, frame: encodeFrame({ t: 'change', change }, this.#options.tuning.maxFrameBytes) };
    }
    return this.#lastChange.frame;
  }
}
