// Peer groups for the tests: nodes in this process on loopback ports, each
// with its certificate from one test CA, a kept durable backend and a replica
// fed by its peer backend, and timings short enough that losing and finding
// a leader takes milliseconds. startReplica() builds a node as
// openDatabroker() does instead: the databroker's own Replica over a peer
// backend over any local storage (a file store, say).
import type { StorageBackend } from '../../../src/databroker/backend.js';
import { openPeerBackend, type PeerBackend, type PeerTuning } from '../../../src/databroker/peers/index.js';
import { Replica } from '../../../src/databroker/replica.js';
import {
  capturingLogger,
  createCertificateAuthority,
  createPeerCertificate,
  freePort,
  KeptBackend,
  TestReplica,
  type CapturedLogger,
  type CertificateAuthority,
  type PeerCertificate,
} from './fixtures.js';

export const FAST: Partial<PeerTuning> = {
  heartbeatMs: 200,
  connectTimeoutMs: 1_000,
  handshakeTimeoutMs: 1_000,
  writeTimeoutMs: 2_000,
  initialSyncTimeoutMs: 3_000,
  reconnectMinMs: 20,
  reconnectMaxMs: 200,
};

export interface StartOptions {
  /** Reuse a node's durable state, as a restart would. */
  readonly local?: KeptBackend;
  readonly tuning?: Partial<PeerTuning>;
  /** Where this node dials (or listens for) each node; default: the cluster's own ports. */
  readonly portOf?: (id: string) => number;
  /** Another certificate than the node's own (made by the cluster's CA unless said otherwise). */
  readonly certificate?: PeerCertificate;
  /** The nodes this node's configuration lists; default: every node of the cluster. */
  readonly nodes?: readonly string[];
}

export interface RunningNode {
  readonly id: string;
  readonly backend: PeerBackend;
  readonly replica: TestReplica;
  readonly local: KeptBackend;
  readonly log: CapturedLogger;
}

export interface ReplicaNode {
  readonly id: string;
  readonly replica: Replica;
  readonly peers: PeerBackend;
  readonly log: CapturedLogger;
}

export class TestCluster {
  readonly ca: CertificateAuthority;
  readonly ports: ReadonlyMap<string, number>;
  readonly certificates: ReadonlyMap<string, PeerCertificate>;
  readonly #running = new Map<string, RunningNode>();
  readonly #replicas = new Map<string, ReplicaNode>();

  private constructor(ca: CertificateAuthority, ports: ReadonlyMap<string, number>, certificates: ReadonlyMap<string, PeerCertificate>) {
    this.ca = ca;
    this.ports = ports;
    this.certificates = certificates;
  }

  static async create(ids: readonly string[]): Promise<TestCluster> {
    const ca = createCertificateAuthority('Peers test CA');
    const ports = new Map<string, number>();
    const certificates = new Map<string, PeerCertificate>();
    for (const id of ids) {
      ports.set(id, await freePort());
      certificates.set(id, createPeerCertificate(ca, { commonName: id, dnsNames: [id] }));
    }
    return new TestCluster(ca, ports, certificates);
  }

  node(id: string): RunningNode {
    const node = this.#running.get(id);
    if (node === undefined) throw new Error(`node ${id} is not running`);
    return node;
  }

  /** Opens and loads node `id` with `leaderId` as its configured leader, and attaches a replica. */
  async start(id: string, leaderId: string, options: StartOptions = {}): Promise<RunningNode> {
    const log = capturingLogger();
    const local = options.local ?? new KeptBackend();
    const portOf = options.portOf ?? ((n: string) => this.ports.get(n)!);
    const certificate = options.certificate ?? this.certificates.get(id)!;
    const backend = await openPeerBackend({
      nodeId: id,
      leaderId,
      nodes: (options.nodes ?? [...this.ports.keys()]).map((n) => ({ id: n, address: `127.0.0.1:${portOf(n)}` })),
      tls: { certPem: certificate.certPem, keyPem: certificate.keyPem, caPem: this.ca.certPem },
      local,
      logger: log.logger,
      tuning: { ...FAST, ...options.tuning },
    });
    const replica = await TestReplica.attach(backend);
    const node: RunningNode = { id, backend, replica, local, log };
    this.#running.set(id, node);
    return node;
  }

  /** Opens node `id` over `local` with `leaderId` as its configured leader, under the databroker's Replica. */
  async startReplica(id: string, leaderId: string, local: StorageBackend, options: Pick<StartOptions, 'portOf' | 'tuning'> = {}): Promise<ReplicaNode> {
    const log = capturingLogger();
    const portOf = options.portOf ?? ((n: string) => this.ports.get(n)!);
    const certificate = this.certificates.get(id)!;
    const peers = await openPeerBackend({
      nodeId: id,
      leaderId,
      nodes: [...this.ports.keys()].map((n) => ({ id: n, address: `127.0.0.1:${portOf(n)}` })),
      tls: { certPem: certificate.certPem, keyPem: certificate.keyPem, caPem: this.ca.certPem },
      local,
      logger: log.logger,
      tuning: { ...FAST, ...options.tuning },
    });
    const replica = await Replica.open(peers, { logger: log.logger, sweepIntervalMs: 0 });
    const node: ReplicaNode = { id, replica, peers, log };
    this.#replicas.set(id, node);
    return node;
  }

  /** Closes a node started with startReplica(), its local storage included. */
  async stopReplica(id: string): Promise<void> {
    const node = this.#replicas.get(id);
    if (node === undefined) return;
    this.#replicas.delete(id);
    await node.replica.close();
  }

  async stop(id: string): Promise<void> {
    const node = this.#running.get(id);
    if (node === undefined) return;
    this.#running.delete(id);
    node.replica.detach();
    await node.backend.close();
  }

  async close(): Promise<void> {
    for (const id of [...this.#running.keys()]) await this.stop(id);
    for (const id of [...this.#replicas.keys()]) await this.stopReplica(id);
    this.ca.remove();
  }
}
