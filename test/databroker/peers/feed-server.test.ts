// The leader's door: mutual TLS with the cluster CA only, a certificate that
// names a configured node, a hello that matches it, and frames within bounds.
// Whatever a peer does, the leader stays up and keeps serving the others.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ConnectionOptions } from 'node:tls';
import { encodeFrame, FrameDecoder } from '../../../src/databroker/peers/frames.js';
import { waitUntil } from '../../helpers/wait.js';
import { TestCluster, type RunningNode } from './cluster.js';
import { createCertificateAuthority, createPeerCertificate, op, type CertificateAuthority, type PeerCertificate } from './fixtures.js';

interface Probe {
  /** Messages the leader sent before the connection closed. */
  readonly received: unknown[];
  /** The client-side error, if the connection ended with one. */
  readonly error: string | null;
  readonly closedAfterMs: number;
}

let cluster: TestCluster;
let leader: RunningNode;
let otherCa: CertificateAuthority;

before(async () => {
  cluster = await TestCluster.create(['a', 'b', 'c']);
  leader = await cluster.start('a', 'a', { tuning: { handshakeTimeoutMs: 300, heartbeatMs: 100, maxFrameBytes: 64 * 1024 } });
  await leader.backend.write(op('session', 'secret', { token: 'not for strangers' }));
  otherCa = createCertificateAuthority('Another CA');
});

after(async () => {
  await cluster.close();
  otherCa.remove();
});

/** Connects to the leader as a raw TLS client, sends `frames` once connected, and reports what happened by the time the leader closed. */
function probe(client: Partial<PeerCertificate>, frames: readonly Buffer[] = []): Promise<Probe> {
  const options: ConnectionOptions = {
    host: '127.0.0.1',
    port: cluster.ports.get('a')!,
    ca: cluster.ca.certPem,
    checkServerIdentity: () => undefined,
    ...(client.certPem !== undefined ? { cert: client.certPem, key: client.keyPem } : {}),
  };
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const received: unknown[] = [];
    const decoder = new FrameDecoder(1 << 20);
    let error: string | null = null;
    const socket = connect(options);
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the leader kept the connection open; received ${JSON.stringify(received)}`));
    }, 3_000);
    socket.on('secureConnect', () => {
      for (const frame of frames) socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        received.push(...decoder.push(chunk));
      } catch (err) {
        error = (err as Error).message;
      }
    });
    socket.on('error', (err: Error) => {
      error = err.message;
    });
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ received: received.filter((m) => (m as { t: string }).t !== 'ping'), error, closedAfterMs: Date.now() - started });
    });
  });
}

const hello = (node: string): Buffer => encodeFrame({ t: 'hello', node, serverVersion: '', version: 0 }, 1024);

function loggedSince(count: number, msg: string): boolean {
  return leader.log.lines.slice(count).some((line) => line.msg === msg);
}

/** The reason of the first handshake refusal the leader logged after line `count`. */
function refusalSince(count: number): string {
  const line = leader.log.lines.slice(count).find((l) => l.msg === 'databroker peer refused: TLS handshake failed');
  return line === undefined ? '(none logged)' : String(line.reason);
}

test('a client without a certificate is refused in the handshake', async () => {
  const before = leader.log.lines.length;
  const result = await probe({}, [hello('b')]);
  assert.deepEqual(result.received, []);
  assert.match(result.error ?? '', /certificate required/i);
  assert.match(refusalSince(before), /did not return a certificate|certificate/i);
});

test('a self-signed client certificate is refused in the handshake, even one naming a node', async () => {
  const before = leader.log.lines.length;
  const result = await probe(createPeerCertificate(cluster.ca, { commonName: 'b', dnsNames: ['b'], selfSigned: true }), [hello('b')]);
  assert.deepEqual(result.received, []);
  assert.equal(refusalSince(before), 'DEPTH_ZERO_SELF_SIGNED_CERT');
});

test('a client certificate from another CA is refused in the handshake', async () => {
  const before = leader.log.lines.length;
  const result = await probe(createPeerCertificate(otherCa, { commonName: 'b', dnsNames: ['b'] }), [hello('b')]);
  assert.deepEqual(result.received, []);
  assert.equal(refusalSince(before), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('a certificate from the cluster CA that names no configured node is refused before a byte is read', async () => {
  const before = leader.log.lines.length;
  const result = await probe(createPeerCertificate(cluster.ca, { commonName: 'mallory', dnsNames: ['mallory'] }), [hello('b')]);
  assert.deepEqual(result.received, [{ t: 'refused', reason: 'the client certificate names no node in databroker_cluster_nodes (a, b, c)' }]);
  assert.ok(loggedSince(before, 'databroker peer refused: its certificate names no configured node'));
});

test('a node that claims to be another node, or the leader itself, is refused with the reason', async () => {
  const asC = cluster.certificates.get('c')!;
  const pretending = await probe(asC, [hello('b')]);
  assert.deepEqual(pretending.received, [{ t: 'refused', reason: 'the client certificate does not name node "b"' }]);
  const asLeader = await probe(cluster.certificates.get('a')!, [hello('a')]);
  assert.deepEqual(asLeader.received, [{ t: 'refused', reason: 'node "a" is this leader; a node does not follow itself' }]);
});

test('a peer that breaks the protocol loses its connection and nothing else', async () => {
  const asB = cluster.certificates.get('b')!;
  const huge = Buffer.alloc(4);
  huge.writeUInt32BE(1 << 30, 0);
  const cases: Array<[string, Buffer[]]> = [
    ['a frame announced at 1 GiB', [huge]],
    ['a frame that is not JSON', [Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('hello')])]],
    ['an unknown message', [encodeFrame({ t: 'gimme' }, 1024)]],
    ['a write before the hello', [encodeFrame({ t: 'write', id: 1, op: op('session', 'x', {}) }, 1024)]],
    ['a second hello', [hello('b'), hello('b')]],
  ];
  for (const [name, frames] of cases) {
    const result = await probe(asB, frames);
    assert.ok(!result.received.some((m) => (m as { t: string }).t === 'ack'), name);
  }
  const silent = await probe(asB);
  assert.deepEqual(silent.received, [], 'no hello: nothing is sent');
  assert.ok(silent.closedAfterMs < 2_000, `dropped after the hello timeout (${silent.closedAfterMs} ms)`);
  assert.ok(leader.backend.health().ok);
  const follower = await cluster.start('b', 'a');
  assert.deepEqual(follower.replica.get('session', 'secret')?.data, { token: 'not for strangers' }, 'a proper follower is still served');
  await cluster.stop('b');
});

test('a hello then silence: the leader sends the snapshot, then drops the peer after three missed heartbeats', async () => {
  const result = await probe(cluster.certificates.get('b')!, [hello('b')]);
  const kinds = result.received.map((m) => (m as { t: string }).t);
  assert.deepEqual(kinds, ['snapshot-begin', 'records', 'snapshot-end']);
  assert.ok(result.closedAfterMs >= 300 && result.closedAfterMs < 2_000, `${result.closedAfterMs} ms`);
  assert.ok(await waitUntil(() => leader.backend.status().followers.length === 0, 1_000));
});
