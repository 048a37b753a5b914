// What the peer tests share: peer certificates made with the openssl CLI
// (each usable as TLS server and client, as a peer's must be), a durable
// backend kept in memory (its state survives close() and load(), as a file
// backend's would), a replica that applies what a backend delivers, a
// capturing logger and a TCP relay that a test can cut to make a partition.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Change, StorageBackend, StoreSnapshot, WriteOp } from '../../../src/databroker/backend.js';
import type { DataRecord } from '../../../src/databroker/types.js';
import type { Logger } from '../../../src/telemetry/logger.js';
import { createCertificateAuthority, type CertificateAuthority } from '../../helpers/certs.js';

export { createCertificateAuthority, type CertificateAuthority };

export interface PeerCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface PeerCertificateOptions {
  readonly commonName: string;
  /** DNS subjectAltNames; none means a certificate named by its CN only. */
  readonly dnsNames?: readonly string[];
  /** Signed by its own key instead of by the CA. */
  readonly selfSigned?: boolean;
}

let counter = 0;

function openssl(cwd: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A P-256 certificate for a peer (serverAuth and clientAuth), signed by `ca` unless self-signed. */
export function createPeerCertificate(ca: CertificateAuthority, options: PeerCertificateOptions): PeerCertificate {
  counter += 1;
  const stem = join(ca.dir, `peer${counter}`);
  const lines = ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=serverAuth,clientAuth'];
  if (options.dnsNames !== undefined && options.dnsNames.length > 0) lines.push(`subjectAltName=${options.dnsNames.map((n) => `DNS:${n}`).join(',')}`);
  writeFileSync(`${stem}.ext`, `${lines.join('\n')}\n`);
  const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const subject = ['-subj', `/CN=${options.commonName}`];
  if (options.selfSigned) {
    const san = options.dnsNames !== undefined && options.dnsNames.length > 0 ? ['-addext', `subjectAltName=${options.dnsNames.map((n) => `DNS:${n}`).join(',')}`] : [];
    openssl(ca.dir, ['req', '-x509', ...curve, '-keyout', `${stem}.key`, '-out', `${stem}.pem`, '-days', '2', ...subject, '-addext', 'extendedKeyUsage=serverAuth,clientAuth', ...san]);
  } else {
    openssl(ca.dir, ['req', '-new', ...curve, '-keyout', `${stem}.key`, '-out', `${stem}.csr`, ...subject]);
    openssl(ca.dir, ['x509', '-req', '-in', `${stem}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', `${stem}.pem`, '-days', '2', '-extfile', `${stem}.ext`]);
  }
  return { certPem: readFileSync(`${stem}.pem`, 'utf8'), keyPem: readFileSync(`${stem}.key`, 'utf8') };
}

/** A durable backend kept in memory: close() keeps the state, so a "restarted" node finds it again. */
export class KeptBackend implements StorageBackend {
  readonly kind = 'kept';
  serverVersion = randomBytes(8).toString('hex');
  version = 0;
  readonly records = new Map<string, DataRecord>();
  adoptions = 0;

  load(): Promise<StoreSnapshot> {
    return Promise.resolve({ serverVersion: this.serverVersion, version: this.version, records: [...this.records.values()] });
  }

  write(op: WriteOp): Promise<Change> {
    const version = ++this.version;
    const key = `${op.type}/${op.id}`;
    if (op.data === null) {
      this.records.delete(key);
      return Promise.resolve({ version, type: op.type, id: op.id, record: null });
    }
    const record: DataRecord = { type: op.type, id: op.id, version, data: op.data, modifiedAt: op.modifiedAt, expiresAt: op.expiresAt };
    this.records.set(key, record);
    return Promise.resolve({ version, type: op.type, id: op.id, record });
  }

  adopt(snapshot: StoreSnapshot): Promise<void> {
    this.adoptions++;
    this.serverVersion = snapshot.serverVersion;
    this.version = snapshot.version;
    this.records.clear();
    for (const record of snapshot.records) this.records.set(`${record.type}/${record.id}`, record);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Applies what a backend's load() and subscribe() deliver, as the databroker's replica does, and counts it. */
export class TestReplica {
  readonly records = new Map<string, DataRecord>();
  serverVersion = '';
  version = 0;
  /** The version load() gave. */
  loadedVersion = 0;
  snapshots = 0;
  changes = 0;
  /** Changes that did not follow the replica's version: must stay empty. */
  readonly gaps: string[] = [];
  #unsubscribe: () => void = () => undefined;

  static async attach(backend: StorageBackend): Promise<TestReplica> {
    const replica = new TestReplica();
    replica.#reset(await backend.load());
    replica.loadedVersion = replica.version;
    replica.#unsubscribe = backend.subscribe!(
      replica.version,
      (change) => replica.#apply(change),
      (snapshot) => {
        replica.snapshots++;
        replica.#reset(snapshot);
      },
    );
    return replica;
  }

  get(type: string, id: string): DataRecord | undefined {
    return this.records.get(`${type}/${id}`);
  }

  detach(): void {
    this.#unsubscribe();
  }

  #reset(snapshot: StoreSnapshot): void {
    this.records.clear();
    for (const record of snapshot.records) this.records.set(`${record.type}/${record.id}`, record);
    this.serverVersion = snapshot.serverVersion;
    this.version = snapshot.version;
  }

  #apply(change: Change): void {
    if (change.version !== this.version + 1) this.gaps.push(`change ${change.version} after ${this.version}`);
    this.changes++;
    this.version = change.version;
    const key = `${change.type}/${change.id}`;
    if (change.record === null) this.records.delete(key);
    else this.records.set(key, change.record);
  }
}

/** A write op as the replica would issue it. */
export function op(type: string, id: string, data: unknown, expiresAt: number | null = null): WriteOp {
  return { type, id, data, expiresAt, modifiedAt: Date.now() };
}

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
}

export function capturingLogger(): CapturedLogger {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** A TCP relay from its own port to `targetPort`; cut() drops every connection and refuses new ones until restore(). */
export class Relay {
  readonly port: number;
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;

  private constructor(port: number, targetPort: number) {
    this.port = port;
    this.#targetPort = targetPort;
  }

  static async start(targetPort: number): Promise<Relay> {
    const relay = new Relay(await freePort(), targetPort);
    await relay.restore();
    return relay;
  }

  async restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = netConnect(this.#targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('error', () => undefined);
        socket.once('close', () => {
          this.#sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
