// The databroker backend of a node in a peer group. The leader keeps the
// history in its own durable backend (memory or file) and serves it to the
// followers (feed-server.ts); a follower keeps a full copy in step with the
// leader's (leader-link.ts), serves reads from its replica and forwards its
// writes. The same object changes role when the configured leader changes:
// a promoted follower seeds its durable backend from its copy and continues
// the history from there; the others follow it without losing theirs.
import { Errors, PosternError } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Change, StorageBackend, StoreSnapshot, WriteOp } from '../backend.js';
import { newServerVersion } from '../feed.js';
import { parseNodeAddress, type NodeAddress } from './address.js';
import { FeedServer } from './feed-server.js';
import { ReplicatedHistory } from './history.js';
import { LeaderLink } from './leader-link.js';
import { parseWriteOp } from './messages.js';
import { checkPeerTls, type PeerTls } from './tls.js';
import { DEFAULT_PEER_TUNING, type PeerTuning } from './tuning.js';

export interface PeerNode {
  readonly id: string;
  /** `host:port`: where this node listens when it leads, and where the others dial it. */
  readonly address: string;
}

export interface PeerBackendOptions {
  /** databroker_cluster_node_id */
  readonly nodeId: string;
  /** databroker_cluster_leader_id */
  readonly leaderId: string;
  /** databroker_cluster_nodes */
  readonly nodes: readonly PeerNode[];
  /** databroker_cluster_certificate_file, _certificate_key_file and _ca_file, read. */
  readonly tls: PeerTls;
  /**
   * This node's own durable backend (memory or file): the store while it
   * leads. It must support adopt(), which a promotion uses to replace what it
   * holds with the replicated history. The peer backend owns it and closes it.
   */
  readonly local: StorageBackend;
  readonly logger: Logger;
  /** Bounds and timings; the defaults suit production. */
  readonly tuning?: Partial<PeerTuning>;
}

/** `changing` while a promotion or demotion is under way (and after a promotion failed). */
export type PeerRole = 'leader' | 'follower' | 'changing';

export interface PeerStatus {
  readonly nodeId: string;
  readonly leaderId: string;
  readonly role: PeerRole;
  readonly serverVersion: string;
  readonly version: number;
  /** Followers connected to this node while it leads. */
  readonly followers: readonly string[];
  /** While following: since when (ms since the epoch) the leader is unreachable; null while it is reachable. */
  readonly leaderUnreachableSince: number | null;
}

export interface PeerBackend extends StorageBackend {
  readonly role: PeerRole;
  subscribe(fromVersion: number, listener: (change: Change) => void, onResync: (snapshot: StoreSnapshot) => void): () => void;
  health(): { readonly ok: boolean; readonly detail: string };
  /** For metrics: role, versions, followers, leader reachability. */
  status(): PeerStatus;
  /**
   * Applies a new databroker_cluster_leader_id (config reload): this node
   * becomes the leader when it is named, and otherwise follows the node
   * named. Resolves once the new role is in effect (a follower may still be
   * connecting). Calls are applied one after the other.
   */
  reconfigure(next: { readonly leaderId: string }): Promise<void>;
}

interface Subscriber {
  readonly listener: (change: Change) => void;
  readonly onResync: (snapshot: StoreSnapshot) => void;
}

/** Checks the cluster settings and builds the backend; nothing is opened before load(). */
export async function openPeerBackend(options: PeerBackendOptions): Promise<PeerBackend> {
  const addresses = new Map<string, NodeAddress>();
  for (const node of options.nodes) {
    if (addresses.has(node.id)) throw new Error(`databroker_cluster_nodes: node "${node.id}" is listed twice`);
    const address = parseNodeAddress(node.address);
    if (typeof address === 'string') throw new Error(`databroker_cluster_nodes: node "${node.id}": ${address}`);
    addresses.set(node.id, address);
  }
  if (!addresses.has(options.nodeId)) throw new Error(`databroker_cluster_node_id "${options.nodeId}" is not in databroker_cluster_nodes`);
  if (!addresses.has(options.leaderId)) throw new Error(`databroker_cluster_leader_id "${options.leaderId}" is not in databroker_cluster_nodes`);
  if (options.local.adopt === undefined) throw new Error(`the ${options.local.kind} backend cannot seed a promoted leader: it has no adopt()`);
  checkPeerTls(options.tls, options.nodeId);
  return new PeerGroupBackend(options, addresses, { ...DEFAULT_PEER_TUNING, ...options.tuning });
}

/** Why a write cannot be replicated (every change must reach the followers in one frame), or null. */
function replicationProblem(op: WriteOp, maxRecordBytes: number): string | null {
  if (parseWriteOp(op) === null) return 'the write names no valid type or id, or has an invalid expiry or time';
  let json: string | undefined;
  try {
    json = JSON.stringify(op.data);
  } catch {
    json = undefined;
  }
  if (json === undefined) return 'the record value is not JSON';
  const bytes = Buffer.byteLength(json);
  return bytes > maxRecordBytes ? `the record value is ${bytes} bytes; the limit is ${maxRecordBytes}` : null;
}

class PeerGroupBackend implements PeerBackend {
  readonly #nodeId: string;
  readonly #nodeIds: ReadonlySet<string>;
  readonly #addresses: ReadonlyMap<string, NodeAddress>;
  readonly #tls: PeerTls;
  readonly #local: StorageBackend;
  readonly #logger: Logger;
  readonly #tuning: PeerTuning;
  readonly #history: ReplicatedHistory;
  readonly #subscribers = new Set<Subscriber>();
  /** The leader's writes not yet applied; a demotion waits for them. */
  readonly #leaderWrites = new Set<Promise<unknown>>();
  #leaderId: string;
  #role: PeerRole = 'changing';
  #server: FeedServer | null = null;
  #link: LeaderLink | null = null;
  #localLoaded = false;
  #loaded = false;
  #closed = false;
  /** Why the last promotion failed, until the next reconfigure. */
  #problem: string | null = null;
  #transition: Promise<void> = Promise.resolve();
  #onFirstSync: (() => void) | null = null;

  constructor(options: PeerBackendOptions, addresses: ReadonlyMap<string, NodeAddress>, tuning: PeerTuning) {
    this.#nodeId = options.nodeId;
    this.#leaderId = options.leaderId;
    this.#addresses = addresses;
    this.#nodeIds = new Set(addresses.keys());
    this.#tls = options.tls;
    this.#local = options.local;
    this.#logger = options.logger.child({ component: 'databroker-peers', node: options.nodeId });
    this.#tuning = tuning;
    this.#history = new ReplicatedHistory(tuning.retainedChanges);
  }

  get kind(): string {
    return `peer-${this.#role}`;
  }

  get role(): PeerRole {
    return this.#role;
  }

  async load(): Promise<StoreSnapshot> {
    if (this.#loaded) throw new Error('load() was already called');
    this.#loaded = true;
    if (this.#leaderId === this.#nodeId) {
      const snapshot = await this.#local.load();
      this.#localLoaded = true;
      this.#history.reset(snapshot);
      await this.#serve();
      this.#role = 'leader';
      return snapshot;
    }
    let timer: NodeJS.Timeout | undefined;
    const synced = new Promise<boolean>((resolve) => {
      this.#onFirstSync = () => resolve(true);
      timer = setTimeout(() => resolve(false), this.#tuning.initialSyncTimeoutMs);
    });
    this.#follow(this.#leaderId);
    const inStep = await synced;
    clearTimeout(timer);
    this.#onFirstSync = null;
    if (!inStep) {
      this.#logger.warn(
        { leader: this.#leaderId, waitedMs: this.#tuning.initialSyncTimeoutMs },
        'no snapshot from the databroker leader yet; starting empty and read-only until it answers',
      );
    }
    return this.#history.snapshot();
  }

  write(op: WriteOp): Promise<Change> {
    const problem = replicationProblem(op, this.#tuning.maxRecordBytes);
    if (problem !== null) return Promise.reject(new PosternError(Errors.DATABROKER_WRITE_REFUSED, problem));
    if (this.#role === 'leader') return this.#leaderWrite(op);
    if (this.#role === 'follower' && this.#link !== null) return this.#link.write(op);
    return Promise.reject(new PosternError(Errors.DATABROKER_READ_ONLY, this.#problem ?? `node ${this.#nodeId} is changing roles (leader: ${this.#leaderId})`));
  }

  /**
   * Delivers the changes after `fromVersion` at once (synchronously, from the
   * retained changes), or a snapshot when they are no longer retained, then
   * every change as it is applied: the leader's own writes and forwarded
   * ones alike, in version order.
   */
  subscribe(fromVersion: number, listener: (change: Change) => void, onResync: (snapshot: StoreSnapshot) => void): () => void {
    const subscriber: Subscriber = { listener, onResync };
    this.#subscribers.add(subscriber);
    const history = this.#history;
    if (fromVersion !== history.version) {
      if (fromVersion < history.version && fromVersion >= history.earliest - 1) {
        for (let version = fromVersion + 1; version <= history.version; version++) listener(history.changeAt(version)!);
      } else {
        onResync(history.snapshot());
      }
    }
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  health(): { readonly ok: boolean; readonly detail: string } {
    if (this.#closed) return { ok: false, detail: 'closed' };
    switch (this.#role) {
      case 'leader': {
        const followers = this.#server?.followers() ?? [];
        return { ok: true, detail: `leader ${this.#nodeId}; followers connected: ${followers.length === 0 ? 'none' : followers.join(', ')} (of ${this.#nodeIds.size - 1})` };
      }
      case 'follower': {
        const link = this.#link!;
        if (link.reachable) return { ok: true, detail: `following leader ${this.#leaderId}` };
        return { ok: false, detail: `${link.unreachableDetail()}; serving reads, refusing writes` };
      }
      case 'changing':
        return { ok: false, detail: this.#problem ?? `changing role (leader: ${this.#leaderId})` };
    }
  }

  status(): PeerStatus {
    return {
      nodeId: this.#nodeId,
      leaderId: this.#leaderId,
      role: this.#role,
      serverVersion: this.#history.serverVersion,
      version: this.#history.version,
      followers: this.#server?.followers() ?? [],
      leaderUnreachableSince: this.#role === 'follower' ? this.#link!.downSince : null,
    };
  }

  reconfigure(next: { readonly leaderId: string }): Promise<void> {
    if (!this.#nodeIds.has(next.leaderId)) return Promise.reject(new Error(`databroker_cluster_leader_id "${next.leaderId}" is not in databroker_cluster_nodes`));
    const run = this.#transition.then(() => this.#changeLeader(next.leaderId));
    this.#transition = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#transition;
    this.#link?.stop();
    this.#link = null;
    await this.#server?.close();
    this.#server = null;
    await Promise.allSettled([...this.#leaderWrites]);
    this.#subscribers.clear();
    await this.#local.close();
  }

  async #changeLeader(leaderId: string): Promise<void> {
    if (this.#closed) throw new Error('the databroker is closed');
    if (leaderId === this.#leaderId && this.#role !== 'changing') return;
    const previous = this.#leaderId;
    this.#leaderId = leaderId;
    if (!this.#loaded) return;
    this.#problem = null;
    this.#logger.info({ from: previous, to: leaderId }, 'databroker leader changed by configuration');
    if (leaderId === this.#nodeId) {
      await this.#promote();
      return;
    }
    if (this.#server !== null) {
      this.#role = 'changing';
      await this.#server.close();
      this.#server = null;
      // Writes the local backend is still making belong to the history this node hands over.
      await Promise.allSettled([...this.#leaderWrites]);
    }
    this.#link?.stop();
    this.#follow(leaderId);
  }

  async #promote(): Promise<void> {
    this.#role = 'changing';
    this.#link?.stop();
    this.#link = null;
    const history = this.#history;
    if (history.serverVersion === '') this.#logger.warn('promoted before the first snapshot from the old leader arrived: the store starts empty');
    try {
      if (!this.#localLoaded) {
        await this.#local.load();
        this.#localLoaded = true;
      }
      // A new history that continues the replicated one: followers that are a
      // prefix of it catch up with changes; any that saw more get a snapshot.
      const serverVersion = newServerVersion();
      await this.#local.adopt!({ ...history.snapshot(), serverVersion });
      history.fork(serverVersion);
      await this.#serve();
      this.#role = 'leader';
      this.#logger.info({ serverVersion, version: history.version, continues: history.position.fork }, 'this node is now the databroker leader');
    } catch (err) {
      this.#problem = `promotion to leader failed: ${(err as Error).message}`;
      this.#logger.error({ err }, 'databroker promotion failed');
      throw err;
    }
  }

  #follow(leaderId: string): void {
    this.#link = new LeaderLink({
      nodeId: this.#nodeId,
      leaderId,
      leaderAddress: this.#addresses.get(leaderId)!,
      tls: this.#tls,
      history: this.#history,
      logger: this.#logger,
      tuning: this.#tuning,
      onChange: (change) => this.#publish(change),
      onSnapshot: (snapshot) => this.#resync(snapshot),
      onSynced: () => this.#onFirstSync?.(),
    });
    this.#role = 'follower';
    this.#link.start();
  }

  async #serve(): Promise<void> {
    const server = new FeedServer({
      nodeId: this.#nodeId,
      nodeIds: this.#nodeIds,
      listen: this.#addresses.get(this.#nodeId)!,
      tls: this.#tls,
      history: this.#history,
      write: (op) => this.write(op),
      logger: this.#logger,
      tuning: this.#tuning,
    });
    await server.listen();
    this.#server = server;
  }

  #leaderWrite(op: WriteOp): Promise<Change> {
    const done = this.#local.write(op).then((change) => {
      // The local backend versions writes in the order they were issued and
      // acknowledges them in that order, so each change follows the last.
      this.#history.apply(change);
      this.#publish(change);
      this.#server?.notify();
      return change;
    });
    this.#leaderWrites.add(done);
    const forget = (): void => {
      this.#leaderWrites.delete(done);
    };
    done.then(forget, forget);
    return done;
  }

  #publish(change: Change): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber.listener(change);
      } catch (err) {
        this.#logger.error({ err, type: change.type, id: change.id }, 'databroker subscriber failed on a change');
      }
    }
  }

  #resync(snapshot: StoreSnapshot): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber.onResync(snapshot);
      } catch (err) {
        this.#logger.error({ err }, 'databroker subscriber failed on a snapshot');
      }
    }
  }
}
