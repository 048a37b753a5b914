// A follower's link to its leader: it trusts only a leader certified by the
// cluster CA for the leader's node id, survives a leader that misbehaves,
// and settles each forwarded write exactly once: refused, unconfirmed, or
// acknowledged and already visible in its replica.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type TLSSocket } from 'node:tls';
import { Errors, PosternError } from '../../../src/errors.js';
import { encodeFrame, FrameDecoder } from '../../../src/databroker/peers/frames.js';
import { sleep, waitUntil } from '../../helpers/wait.js';
import { TestCluster, type RunningNode } from './cluster.js';
import { createCertificateAuthority, createPeerCertificate, op, type CertificateAuthority } from './fixtures.js';

let cluster: TestCluster;
let otherCa: CertificateAuthority;

before(async () => {
  cluster = await TestCluster.create(['a', 'b', 'c']);
  otherCa = createCertificateAuthority('Another CA');
});

after(async () => {
  await cluster.close();
  otherCa.remove();
});

type Message = { readonly t: string } & Record<string, unknown>;

interface FakeLeader {
  connections: number;
  close(): Promise<void>;
}

/** A TLS server at node a's address (with a's certificate unless told otherwise) that answers each message as `answer` says. */
async function fakeLeader(answer: (message: Message, send: (m: unknown) => void, socket: TLSSocket) => void, certificate = cluster.certificates.get('a')!): Promise<FakeLeader> {
  const sockets = new Set<TLSSocket>();
  const server = createServer({ cert: certificate.certPem, key: certificate.keyPem, ca: cluster.ca.certPem, requestCert: true, rejectUnauthorized: true });
  const fake = {
    connections: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('secureConnection', (socket: TLSSocket) => {
    fake.connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    const decoder = new FrameDecoder(1 << 20);
    const send = (m: unknown): void => {
      if (!socket.destroyed) socket.write(encodeFrame(m, 1 << 20));
    };
    socket.on('data', (chunk: Buffer) => {
      for (const message of decoder.push(chunk)) answer(message as Message, send, socket);
    });
  });
  server.listen(cluster.ports.get('a')!, '127.0.0.1');
  await once(server, 'listening');
  return fake;
}

/** Answers a hello with an empty snapshot of history `h`. */
function greet(message: Message, send: (m: unknown) => void): boolean {
  if (message.t !== 'hello') return false;
  send({ t: 'snapshot-begin', serverVersion: 'h', version: 0 });
  send({ t: 'snapshot-end' });
  return true;
}

/** A forwarded write, as the fake leader receives it. */
interface ForwardedWrite {
  readonly id: number;
  readonly op: { readonly type: string; readonly id: string; readonly data: unknown; readonly modifiedAt: number; readonly expiresAt: number | null };
}

function changeOf(write: ForwardedWrite, version: number): unknown {
  return { version, type: write.op.type, id: write.op.id, record: { ...write.op, version } };
}

async function rejection(promise: Promise<unknown>): Promise<PosternError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PosternError, String(err));
    return err;
  }
  assert.fail('the write succeeded');
}

test('a leader whose certificate names another node is not followed', async () => {
  const fake = await fakeLeader(greet, createPeerCertificate(cluster.ca, { commonName: 'x', dnsNames: ['x'] }));
  const b = await cluster.start('b', 'a', { tuning: { initialSyncTimeoutMs: 300 } });
  try {
    const health = b.backend.health();
    assert.equal(health.ok, false);
    assert.match(health.detail, /leader a unreachable since .*the leader's certificate does not name node "a"/);
    assert.equal((await rejection(b.backend.write(op('session', 's', {})))).code, Errors.DATABROKER_READ_ONLY.code);
    assert.equal(fake.connections, 0, 'the follower hung up in the handshake');
  } finally {
    await cluster.stop('b');
    await fake.close();
  }
});

test('a leader certified by another CA is not followed', async () => {
  const fake = await fakeLeader(greet, createPeerCertificate(otherCa, { commonName: 'a', dnsNames: ['a'] }));
  const b = await cluster.start('b', 'a', { tuning: { initialSyncTimeoutMs: 300 } });
  try {
    assert.equal(b.backend.health().ok, false);
    assert.match(b.backend.health().detail, /unable to verify the first certificate/);
  } finally {
    await cluster.stop('b');
    await fake.close();
  }
});

test('a node the leader\'s configuration does not list is refused, and says why in its health', async () => {
  await cluster.start('a', 'a', { nodes: ['a', 'b'] });
  const c = await cluster.start('c', 'a', { tuning: { initialSyncTimeoutMs: 300 } });
  try {
    assert.equal(c.backend.health().ok, false);
    assert.match(c.backend.health().detail, /leader a refused this node: the client certificate names no node in databroker_cluster_nodes \(a, b\)/);
  } finally {
    await cluster.stop('c');
    await cluster.stop('a');
  }
});

test('a leader that sends garbage is dropped and retried with backoff; the follower lives on', async () => {
  const cases: Array<[string, (send: (m: unknown) => void, socket: TLSSocket) => void]> = [
    ['not JSON', (_send, socket) => socket.write(Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('}{')]))],
    ['a frame beyond the limit', (_send, socket) => socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]))],
    ['an unknown message', (send) => send({ t: 'surprise' })],
    ['a change out of order', (send) => send({ t: 'change', change: { version: 5, type: 'session', id: 's', record: null } })],
    ['records outside a snapshot', (send) => send({ t: 'records', records: [] })],
  ];
  for (const [name, misbehave] of cases) {
    const fake = await fakeLeader((message, send, socket) => {
      if (message.t === 'hello') misbehave(send, socket);
    });
    const b = await cluster.start('b', 'a', { tuning: { initialSyncTimeoutMs: 100, reconnectMinMs: 20, reconnectMaxMs: 100 } });
    try {
      await sleep(500);
      assert.equal(b.backend.health().ok, false, name);
      assert.ok(fake.connections >= 2 && fake.connections <= 30, `${name}: ${fake.connections} connections in 500 ms`);
    } finally {
      await cluster.stop('b');
      await fake.close();
    }
  }
});

test('a write the leader never acknowledges fails as unconfirmed after the write timeout', async () => {
  const fake = await fakeLeader((message, send) => void greet(message, send));
  const b = await cluster.start('b', 'a', { tuning: { writeTimeoutMs: 200 } });
  try {
    const started = Date.now();
    const err = await rejection(b.backend.write(op('session', 's', {})));
    assert.equal(err.code, Errors.DATABROKER_WRITE_UNCONFIRMED.code);
    assert.match(err.message, /did not acknowledge the write within 200 ms/);
    assert.ok(Date.now() - started >= 190);
  } finally {
    await cluster.stop('b');
    await fake.close();
  }
});

test('a write in flight when the leader connection drops fails as unconfirmed at once', async () => {
  const fake = await fakeLeader((message, send, socket) => {
    if (!greet(message, send) && message.t === 'write') socket.destroy();
  });
  const b = await cluster.start('b', 'a');
  try {
    const err = await rejection(b.backend.write(op('session', 's', {})));
    assert.equal(err.code, Errors.DATABROKER_WRITE_UNCONFIRMED.code);
    assert.match(err.message, /closed before it acknowledged the write/);
  } finally {
    await cluster.stop('b');
    await fake.close();
  }
});

test('an acknowledged write resolves only once its change has reached the replica', async () => {
  const fake = await fakeLeader((message, send) => {
    if (greet(message, send) || message.t !== 'write') return;
    const write = message as unknown as ForwardedWrite;
    send({ t: 'ack', id: write.id, version: 1 });
    setTimeout(() => send({ t: 'change', change: changeOf(write, 1) }), 150);
  });
  const b = await cluster.start('b', 'a');
  try {
    const started = Date.now();
    const change = await b.backend.write(op('session', 's', { n: 1 }));
    assert.ok(Date.now() - started >= 140, 'waited for the change');
    assert.equal(change.version, 1);
    assert.deepEqual(b.replica.get('session', 's')?.data, { n: 1 });
  } finally {
    await cluster.stop('b');
    await fake.close();
  }
});

test('a write acknowledged but whose change has not arrived fails as unconfirmed when the connection drops, the write times out or the node stops following', async () => {
  const cases: Array<[string, (socket: TLSSocket) => void, (b: RunningNode) => Promise<void> | void, RegExp]> = [
    ['dropped', (socket) => socket.end(), () => undefined, /^.*: leader a acknowledged the write as version 2, but the connection closed before its change reached this node \(/],
    ['timed out', () => undefined, () => undefined, /^.*: leader a acknowledged the write as version 2, but its change did not reach this node within 300 ms$/],
    ['stopped following', () => undefined, (b) => b.backend.reconfigure({ leaderId: 'c' }), /^.*: leader a acknowledged the write as version 2, but this node stopped following it before the change arrived$/],
  ];
  for (const [name, leaderThen, followerThen, message] of cases) {
    const fake = await fakeLeader((m, send, socket) => {
      if (greet(m, send) || m.t !== 'write') return;
      // Another node's change 1 follows the ack: once the replica has it, so has the link the ack.
      send({ t: 'ack', id: m.id, version: 2 });
      send({ t: 'change', change: { version: 1, type: 'session', id: 'other', record: null } });
      leaderThen(socket);
    });
    const b = await cluster.start('b', 'a', { tuning: { writeTimeoutMs: 300 } });
    try {
      // Settled here, so that a write that succeeds fails this test and not the next one.
      const outcome = b.backend.write(op('session', 's', {})).then(
        () => 'the write succeeded',
        (err: unknown) => err,
      );
      assert.ok(await waitUntil(() => b.replica.version === 1, 250), name);
      await followerThen(b);
      const err = await outcome;
      assert.ok(err instanceof PosternError, `${name}: ${String(err)}`);
      assert.equal(err.code, Errors.DATABROKER_WRITE_UNCONFIRMED.code, name);
      assert.match(err.message, message, name);
      assert.equal(b.backend.status().version, 1, `${name}: the history never had version 2`);
    } finally {
      await cluster.stop('b');
      await fake.close();
    }
  }
});

test('a write acknowledged while a snapshot replaces the history resolves with its own change, not the replaced history\'s', async () => {
  const fake = await fakeLeader((m, send, socket) => {
    if (m.t === 'hello' && fake.connections === 1) {
      send({ t: 'snapshot-begin', serverVersion: 'old', version: 0 });
      send({ t: 'snapshot-end' });
      send({ t: 'change', change: { version: 1, type: 'session', id: 'other', record: null } });
      setTimeout(() => socket.end(), 50);
    } else if (m.t === 'hello') {
      // A history this node's is not a prefix of: its version 1 is another change.
      send({ t: 'snapshot-begin', serverVersion: 'new', version: 0 });
    } else if (m.t === 'write') {
      const write = m as unknown as ForwardedWrite;
      send({ t: 'ack', id: write.id, version: 1 });
      setTimeout(() => {
        send({ t: 'snapshot-end' });
        send({ t: 'change', change: changeOf(write, 1) });
      }, 100);
    }
  });
  const b = await cluster.start('b', 'a');
  try {
    assert.ok(await waitUntil(() => fake.connections === 2 && b.backend.health().ok, 2_000), 'reconnected, receiving the snapshot');
    const change = await b.backend.write(op('session', 'mine', { n: 1 }));
    assert.equal(change.id, 'mine');
    assert.deepEqual(change.record?.data, { n: 1 });
    assert.equal(b.backend.status().serverVersion, 'new');
    assert.deepEqual(b.replica.get('session', 'mine')?.data, { n: 1 });
  } finally {
    await cluster.stop('b');
    await fake.close();
  }
});

test('a nack fails the write as refused, with the leader\'s reason; too many waiting writes are refused at once', async () => {
  const fake = await fakeLeader((message, send) => {
    if (greet(message, send) || message.t !== 'write') return;
    if ((message.op as { id: string }).id === 'no') send({ t: 'nack', id: message.id, reason: 'disk full' });
  });
  const b = await cluster.start('b', 'a', { tuning: { maxPendingWrites: 2, writeTimeoutMs: 500 } });
  try {
    const refused = await rejection(b.backend.write(op('session', 'no', {})));
    assert.equal(refused.code, Errors.DATABROKER_WRITE_REFUSED.code);
    assert.match(refused.message, /leader a: disk full/);
    const waiting = [b.backend.write(op('session', 'w1', {})), b.backend.write(op('session', 'w2', {}))];
    const third = await rejection(b.backend.write(op('session', 'w3', {})));
    assert.equal(third.code, Errors.DATABROKER_WRITE_REFUSED.code);
    assert.match(third.message, /2 writes are already waiting for leader a/);
    for (const w of waiting) assert.equal((await rejection(w)).code, Errors.DATABROKER_WRITE_UNCONFIRMED.code);
    assert.ok(await waitUntil(() => b.backend.health().ok, 100));
  } finally {
    await cluster.stop('b');
    await fake.close();
  }
});
