// The peers test at the backend level: three nodes in this process on
// loopback, each with a replica fed by its peer backend, as in a cluster of
// three Postern instances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StorageBackend } from '../../../src/databroker/backend.js';
import { openPeerBackend, type PeerBackendOptions } from '../../../src/databroker/peers/index.js';
import { Errors, PosternError } from '../../../src/errors.js';
import { sleep, waitUntil } from '../../helpers/wait.js';
import { TestCluster, type RunningNode } from './cluster.js';
import { capturingLogger, KeptBackend, op, Relay } from './fixtures.js';

const NODES = ['a', 'b', 'c'];

async function startThree(cluster: TestCluster): Promise<[RunningNode, RunningNode, RunningNode]> {
  const leader = await cluster.start('a', 'a');
  return [leader, await cluster.start('b', 'a'), await cluster.start('c', 'a')];
}

function has(node: RunningNode, id: string): boolean {
  return node.replica.get('session', id) !== undefined;
}

async function rejection(promise: Promise<unknown>): Promise<PosternError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PosternError, `expected a PosternError, got ${String(err)}`);
    return err;
  }
  assert.fail('the write succeeded');
}

test('a write through a follower resolves once that follower\'s replica has it, and reaches every node', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const [a, b, c] = await startThree(cluster);
    const change = await b.backend.write(op('session', 's1', { userId: 'alice' }));
    assert.equal(b.replica.get('session', 's1')?.version, change.version, 'read-your-writes on the follower');
    assert.deepEqual(change.record?.data, { userId: 'alice' });
    assert.equal(a.replica.get('session', 's1')?.version, change.version, 'the leader applied it before acknowledging');
    assert.ok(await waitUntil(() => has(c, 's1'), 2_000), 'the other follower received it');
    assert.deepEqual(a.local.records.get('session/s1')?.data, { userId: 'alice' }, 'the leader\'s durable backend holds it');
    for (const node of [a, b, c]) assert.deepEqual(node.replica.gaps, [], `${node.id} saw every change in order`);
    assert.deepEqual(a.backend.status().followers, ['b', 'c']);
    assert.match(a.backend.health().detail, /^leader a; followers connected: b, c \(of 2\)$/);
    assert.deepEqual(b.backend.health(), { ok: true, detail: 'following leader a' });
  } finally {
    await cluster.close();
  }
});

test('a sign-out (deletion) through one follower is applied on every node within one second', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const [a, b, c] = await startThree(cluster);
    await a.backend.write(op('session', 'signed-in', { userId: 'bob' }));
    assert.ok(await waitUntil(() => has(b, 'signed-in') && has(c, 'signed-in'), 2_000));
    const started = Date.now();
    await c.backend.write(op('session', 'signed-in', null));
    assert.ok(await waitUntil(() => !has(a, 'signed-in') && !has(b, 'signed-in') && !has(c, 'signed-in'), 1_000), 'deleted everywhere within one second');
    assert.ok(Date.now() - started < 1_000);
  } finally {
    await cluster.close();
  }
});

test('with the leader gone, followers keep reading, refuse writes at once and say so in health', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const [, b, c] = await startThree(cluster);
    await b.backend.write(op('session', 'kept', { userId: 'carol' }));
    assert.ok(await waitUntil(() => has(c, 'kept'), 2_000));
    await cluster.stop('a');
    assert.ok(await waitUntil(() => !b.backend.health().ok && !c.backend.health().ok, 2_000));
    assert.match(b.backend.health().detail, /^leader a unreachable since \d{4}-\d\d-\d\dT[\d:.]+Z \(.+\); serving reads, refusing writes$/);
    assert.ok(b.backend.status().leaderUnreachableSince !== null);
    assert.deepEqual(b.replica.get('session', 'kept')?.data, { userId: 'carol' });
    const started = Date.now();
    const err = await rejection(b.backend.write(op('session', 'new', { userId: 'dave' })));
    assert.equal(err.code, Errors.DATABROKER_READ_ONLY.code);
    assert.match(err.message, /leader a unreachable since/);
    assert.ok(Date.now() - started < 50, 'the write failed fast');
    assert.ok(b.log.lines.some((l) => l.msg === 'databroker leader unreachable; serving reads, refusing writes'));
  } finally {
    await cluster.close();
  }
});

test('a promoted follower leads from its replica, the other follows it without a snapshot, and writes resume', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const [, b, c] = await startThree(cluster);
    for (let i = 0; i < 5; i++) await b.backend.write(op('session', `s${i}`, { i }));
    await c.backend.write(op('session', 's2', null));
    assert.ok(await waitUntil(() => b.replica.version === 6 && c.replica.version === 6, 2_000));
    await cluster.stop('a');
    const snapshotsBefore = c.replica.snapshots;

    await b.backend.reconfigure({ leaderId: 'b' });
    assert.equal(b.backend.role, 'leader');
    assert.equal(b.backend.kind, 'peer-leader');
    assert.deepEqual([...b.local.records.keys()].sort(), ['session/s0', 'session/s1', 'session/s3', 'session/s4'], 'the durable backend was seeded from the replica');
    assert.equal(b.local.version, 6);
    assert.equal(b.local.adoptions, 1);
    assert.notEqual(b.local.serverVersion, b.replica.serverVersion, 'the durable backend holds a new history that continues the old one');
    await c.backend.reconfigure({ leaderId: 'b' });
    assert.ok(await waitUntil(() => c.backend.health().ok, 2_000), c.backend.health().detail);

    const viaFollower = await c.backend.write(op('session', 'after', { userId: 'erin' }));
    assert.equal(viaFollower.version, 7, 'the new history continues the old one');
    assert.ok(has(b, 'after') && has(c, 'after'));
    await b.backend.write(op('session', 's0', null));
    assert.ok(await waitUntil(() => !has(c, 's0'), 1_000));
    assert.equal(c.replica.snapshots, snapshotsBefore, 'the follower caught up with changes, not a snapshot');
    assert.deepEqual(c.replica.gaps, []);
    assert.deepEqual(b.backend.status().followers, ['c']);
  } finally {
    await cluster.close();
  }
});

test('the old leader, reconfigured to follow the promoted node, keeps its records and follows', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const [a, b, c] = await startThree(cluster);
    await a.backend.write(op('session', 'x', { n: 1 }));
    assert.ok(await waitUntil(() => has(b, 'x') && has(c, 'x'), 2_000));
    await b.backend.reconfigure({ leaderId: 'b' });
    await a.backend.reconfigure({ leaderId: 'b' });
    await c.backend.reconfigure({ leaderId: 'b' });
    assert.equal(a.backend.role, 'follower');
    assert.ok(await waitUntil(() => a.backend.health().ok && c.backend.health().ok, 2_000));
    await a.backend.write(op('session', 'y', { n: 2 }));
    assert.ok(await waitUntil(() => has(b, 'y') && has(c, 'y') && has(a, 'y'), 1_000));
    assert.equal(a.replica.snapshots, 0, 'a prefix of the new history: no snapshot needed');
    assert.deepEqual(b.backend.status().followers, ['a', 'c']);
  } finally {
    await cluster.close();
  }
});

test('a follower started later, or restarted, gets a snapshot and then the live changes', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const a = await cluster.start('a', 'a');
    const b = await cluster.start('b', 'a');
    for (let i = 0; i < 20; i++) await a.backend.write(op('session', `s${i}`, { i }));
    await a.backend.write(op('session', 's3', null));
    const late = await cluster.start('c', 'a');
    assert.equal(late.replica.records.size, 19);
    assert.equal(late.replica.version, 21);
    await cluster.stop('b');
    await a.backend.write(op('session', 'while-b-was-down', {}));
    const restarted = await cluster.start('b', 'a', { local: b.local });
    assert.ok(has(restarted, 'while-b-was-down'));
    assert.ok(!has(restarted, 's3'));
    await restarted.backend.write(op('session', 'from-restarted', {}));
    assert.ok(await waitUntil(() => has(late, 'from-restarted'), 1_000));
  } finally {
    await cluster.close();
  }
});

test('a follower cut off from the leader catches up on rejoin with the changes it missed, without a restart', async () => {
  const cluster = await TestCluster.create(NODES);
  const relay = await Relay.start(cluster.ports.get('a')!);
  try {
    const a = await cluster.start('a', 'a');
    const b = await cluster.start('b', 'a', { portOf: (id) => (id === 'a' ? relay.port : cluster.ports.get(id)!) });
    await b.backend.write(op('session', 'before', {}));
    await relay.cut();
    assert.ok(await waitUntil(() => !b.backend.health().ok, 2_000));
    for (let i = 0; i < 10; i++) await a.backend.write(op('session', `missed${i}`, { i }));
    await a.backend.write(op('session', 'before', null));
    assert.equal(b.replica.records.size, 1, 'the follower still serves what it had');
    assert.equal((await rejection(b.backend.write(op('session', 'x', {})))).code, Errors.DATABROKER_READ_ONLY.code);
    await relay.restore();
    assert.ok(await waitUntil(() => b.replica.version === a.replica.version, 3_000), 'caught up');
    assert.ok(!has(b, 'before') && has(b, 'missed9'));
    assert.equal(b.replica.snapshots, 0, 'with the missed changes, not a snapshot');
    assert.deepEqual(b.replica.gaps, []);
    assert.ok(b.backend.health().ok);
  } finally {
    await relay.cut();
    await cluster.close();
  }
});

test('a follower that fell further behind than the retained changes gets a snapshot on rejoin', async () => {
  const cluster = await TestCluster.create(NODES);
  const relay = await Relay.start(cluster.ports.get('a')!);
  try {
    const a = await cluster.start('a', 'a', { tuning: { retainedChanges: 5 } });
    const b = await cluster.start('b', 'a', { portOf: (id) => (id === 'a' ? relay.port : cluster.ports.get(id)!) });
    await a.backend.write(op('session', 'gone', {}));
    assert.ok(await waitUntil(() => has(b, 'gone'), 2_000));
    await relay.cut();
    assert.ok(await waitUntil(() => !b.backend.health().ok, 2_000));
    for (let i = 0; i < 10; i++) await a.backend.write(op('session', `s${i}`, { i }));
    await a.backend.write(op('session', 'gone', null));
    await relay.restore();
    assert.ok(await waitUntil(() => b.replica.version === a.replica.version, 3_000));
    assert.equal(b.replica.snapshots, 1);
    assert.ok(!has(b, 'gone'));
    assert.equal(b.replica.records.size, 10);
  } finally {
    await relay.cut();
    await cluster.close();
  }
});

test('a follower whose leader is not up yet starts empty and read-only, then fills in when the leader appears', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const kept = new KeptBackend();
    await kept.write(op('session', 'durable', {}));
    const b = await cluster.start('b', 'a', { tuning: { initialSyncTimeoutMs: 100 } });
    assert.equal(b.replica.records.size, 0);
    assert.equal(b.backend.health().ok, false);
    await cluster.start('a', 'a', { local: kept });
    assert.ok(await waitUntil(() => has(b, 'durable'), 3_000));
    assert.equal(b.replica.snapshots, 1);
    assert.ok(b.backend.health().ok);
  } finally {
    await cluster.close();
  }
});

test('writes the group cannot carry are refused before they reach the leader', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    await cluster.start('a', 'a', { tuning: { maxRecordBytes: 1_000 } });
    const b = await cluster.start('b', 'a', { tuning: { maxRecordBytes: 1_000 } });
    const tooLarge = await rejection(b.backend.write(op('session', 'big', { blob: 'x'.repeat(1_000) })));
    assert.equal(tooLarge.code, Errors.DATABROKER_WRITE_REFUSED.code);
    assert.match(tooLarge.message, /1011 bytes; the limit is 1000/);
    const notJson = await rejection(b.backend.write(op('session', 'big', 10n)));
    assert.match(notJson.message, /not JSON/);
    const badId = await rejection(b.backend.write(op('session', '', {})));
    assert.match(badId.message, /no valid type or id/);
  } finally {
    await cluster.close();
  }
});

test('the leader refuses a forwarded write its own limits do not allow, and the follower reports it', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    await cluster.start('a', 'a', { tuning: { maxRecordBytes: 100 } });
    const b = await cluster.start('b', 'a');
    const err = await rejection(b.backend.write(op('session', 'big', { blob: 'x'.repeat(200) })));
    assert.equal(err.code, Errors.DATABROKER_WRITE_REFUSED.code);
    assert.match(err.message, /leader a: .*the limit is 100/);
    assert.ok(b.backend.health().ok, 'a refused write does not break the link');
  } finally {
    await cluster.close();
  }
});

test('reconfigure refuses a leader that is not a node, and changes nothing', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    await cluster.start('a', 'a');
    const b = await cluster.start('b', 'a');
    await assert.rejects(b.backend.reconfigure({ leaderId: 'z' }), /"z" is not in databroker_cluster_nodes/);
    assert.equal(b.backend.status().leaderId, 'a');
    await sleep(10);
    assert.ok(b.backend.health().ok);
  } finally {
    await cluster.close();
  }
});

test('openPeerBackend refuses settings a cluster cannot run with, saying which', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const own = cluster.certificates.get('b')!;
    const base = {
      nodeId: 'b',
      leaderId: 'a',
      nodes: [
        { id: 'a', address: '127.0.0.1:1' },
        { id: 'b', address: '127.0.0.1:2' },
      ],
      tls: { certPem: own.certPem, keyPem: own.keyPem, caPem: cluster.ca.certPem },
      local: new KeptBackend(),
      logger: capturingLogger().logger,
    };
    const noAdopt: StorageBackend = { kind: 'memory', load: () => base.local.load(), write: (w) => base.local.write(w), close: () => Promise.resolve() };
    const cases: Array<[string, Partial<PeerBackendOptions>, RegExp]> = [
      ['a node listed twice', { nodes: [...base.nodes, { id: 'a', address: '127.0.0.1:3' }] }, /node "a" is listed twice/],
      ['an address without a port', { nodes: [base.nodes[0]!, { id: 'b', address: 'node-b' }] }, /node "b": "node-b" has no port/],
      ['this node not listed', { nodeId: 'c' }, /databroker_cluster_node_id "c" is not in databroker_cluster_nodes/],
      ['the leader not listed', { leaderId: 'z' }, /databroker_cluster_leader_id "z" is not in databroker_cluster_nodes/],
      ['a local backend without adopt()', { local: noAdopt }, /the memory backend cannot seed a promoted leader: it has no adopt\(\)/],
      ['a key that is not PEM', { tls: { ...base.tls, keyPem: 'nope' } }, /certificate, key or CA is not usable/],
      ['a certificate for another node', { tls: { ...base.tls, certPem: cluster.certificates.get('c')!.certPem, keyPem: cluster.certificates.get('c')!.keyPem } }, /certificate \(CN=c\) does not name this node "b"/],
    ];
    for (const [name, change, message] of cases) await assert.rejects(openPeerBackend({ ...base, ...change }), message, name);
  } finally {
    await cluster.close();
  }
});

test('a large snapshot goes out in bounded frames, and changes made while it is sent follow it', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const a = await cluster.start('a', 'a', { tuning: { snapshotChunkBytes: 16 * 1024, sendHighWaterBytes: 64 * 1024 } });
    const payload = 'p'.repeat(200);
    await Promise.all(Array.from({ length: 5_000 }, (_, i) => a.backend.write(op('session', `s${i}`, { i, payload }))));
    const joining = cluster.start('b', 'a');
    // The follower said hello: its snapshot is being sent, a frame at a time as its socket drains.
    const deadline = Date.now() + 3_000;
    while (!a.backend.status().followers.includes('b') && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    const during = [];
    for (let i = 0; i < 50; i++) during.push(a.backend.write(i % 2 === 0 ? op('session', `s${i}`, null) : op('session', `new${i}`, { i })));
    await Promise.all(during);
    const b = await joining;
    assert.ok(await waitUntil(() => b.replica.version === a.replica.version, 3_000), `${b.replica.version} of ${a.replica.version}`);
    assert.equal(b.replica.records.size, a.replica.records.size);
    for (const [key, record] of a.replica.records) assert.equal(b.replica.records.get(key)?.version, record.version, key);
    assert.deepEqual(b.replica.gaps, []);
    // The snapshot b was sent was taken at its hello, before the 50 writes:
    // those reached b through the stream after it (b's load() may already
    // include them when they arrive in the same read as the snapshot's end).
    const connected = a.log.lines.find((l) => l.msg === 'databroker follower connected' && l['node'] === 'b');
    assert.equal(connected?.['plan'], 'snapshot');
    assert.equal((connected?.['to'] as { version: number }).version, 5_000);
    assert.equal(a.replica.version, 5_050);
  } finally {
    await cluster.close();
  }
});
