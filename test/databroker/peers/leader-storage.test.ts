// The leader's own storage in a peer group, with the databroker's Replica on
// every node: a promotion on `file` storage (the promoted node's directory
// takes over the replicated history, and a restart finds it there), and a
// leader that comes back having lost changes its followers had already
// applied, on the same history or after a crash of a file store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { StorageBackend } from '../../../src/databroker/backend.js';
import { openFileBackend, type FsyncPolicy } from '../../../src/databroker/file/index.js';
import { Replica } from '../../../src/databroker/replica.js';
import { RecordSealer } from '../../../src/databroker/sealer.js';
import type { ChangeEvent, DataRecord } from '../../../src/databroker/types.js';
import { waitUntil } from '../../helpers/wait.js';
import { TestCluster, type ReplicaNode } from './cluster.js';
import { KeptBackend, Relay } from './fixtures.js';

const NODES = ['a', 'b', 'c'];
const sealer = new RecordSealer([randomBytes(32)]);

function fileStore(dir: string, fsync: FsyncPolicy = 'always'): Promise<StorageBackend> {
  return openFileBackend({ dir, sealer, fsync, logger: pino({ level: 'silent' }) });
}

/** Every record of the types the tests write, as comparable rows. */
function state(replica: Replica): string[] {
  const rows: string[] = [];
  for (const type of ['session', 'user']) {
    for (const r of replica.list(type)) rows.push(JSON.stringify([r.type, r.id, r.version, r.data, r.modifiedAt, r.expiresAt]));
  }
  return rows.sort();
}

function inStep(leader: ReplicaNode, ...followers: ReplicaNode[]): boolean {
  return followers.every((f) => f.replica.version === leader.replica.version && state(f.replica).join() === state(leader.replica).join());
}

/** What listeners were told, replayed: must equal the replica's records. */
function listenerView(seen: readonly ChangeEvent[]): string[] {
  const view = new Map<string, DataRecord>();
  for (const c of seen) {
    if (c.record === null) view.delete(`${c.type}/${c.id}`);
    else view.set(`${c.type}/${c.id}`, c.record);
  }
  return [...view.values()].map((r) => JSON.stringify([r.type, r.id, r.version, r.data, r.modifiedAt, r.expiresAt])).sort();
}

function resyncLines(node: ReplicaNode): number {
  return node.log.lines.filter((l) => l['msg'] === 'databroker replica resynchronised from a snapshot').length;
}

async function tempDirs(): Promise<{ dir: (name: string) => string; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'postern-peers-file-'));
  return { dir: (name) => join(root, name), remove: () => rm(root, { recursive: true, force: true }) };
}

test('promotion on file storage: the promoted node\'s directory takes the history over, writes resume, and a restart finds everything', async () => {
  const cluster = await TestCluster.create(NODES);
  const dirs = await tempDirs();
  try {
    const a = await cluster.startReplica('a', 'a', await fileStore(dirs.dir('a')));
    const b = await cluster.startReplica('b', 'a', await fileStore(dirs.dir('b')));
    const c = await cluster.startReplica('c', 'a', await fileStore(dirs.dir('c')));
    // Sign-ins through every node, one with an expiry; a sign-out through a follower.
    await a.replica.put('user', 'alice', { email: 'alice@example.com' });
    await a.replica.put('session', 's-alice', { userId: 'alice' }, { expiresAt: Date.now() + 3_600_000 });
    await b.replica.put('session', 's-bob', { userId: 'bob' });
    await c.replica.put('session', 's-carol', { userId: 'carol' });
    await b.replica.put('session', 's-dave', { userId: 'dave' });
    assert.ok(await waitUntil(() => c.replica.get('session', 's-dave') !== null, 2_000));
    assert.equal(await c.replica.delete('session', 's-dave'), true);
    assert.ok(await waitUntil(() => inStep(a, b, c), 2_000), 'the followers replicated every change');
    const replicated = a.replica.version;

    await cluster.stopReplica('a');
    assert.ok(await waitUntil(() => !b.replica.health().ok && !c.replica.health().ok, 2_000));
    await b.peers.reconfigure({ leaderId: 'b' });
    await c.peers.reconfigure({ leaderId: 'b' });
    assert.equal(b.replica.kind, 'peer-leader');
    assert.ok(await waitUntil(() => c.replica.health().ok, 2_000), c.replica.health().detail);

    const resumed = await c.replica.put('session', 's-erin', { userId: 'erin' });
    assert.equal(resumed.version, replicated + 1, 'the promoted node continues the replicated history');
    await b.replica.put('session', 's-frank', { userId: 'frank' });
    assert.equal(await b.replica.delete('session', 's-bob'), true);
    assert.ok(await waitUntil(() => inStep(b, c), 2_000), 'the other follower follows the new leader');
    const expected = state(b.replica);
    const expectedVersion = b.replica.version;
    assert.equal(expectedVersion, replicated + 3);

    const resyncsBefore = resyncLines(c);
    await cluster.stopReplica('b');
    const restarted = await cluster.startReplica('b', 'b', await fileStore(dirs.dir('b')));
    assert.equal(restarted.replica.version, expectedVersion);
    assert.deepEqual(state(restarted.replica), expected, 'exactly the state before the restart, post-promotion writes included');
    assert.deepEqual(restarted.replica.get('session', 's-erin')?.data, { userId: 'erin' });
    assert.equal(restarted.replica.get('session', 's-bob'), null);
    assert.equal(restarted.replica.get('session', 's-dave'), null);

    assert.ok(await waitUntil(() => c.replica.health().ok, 3_000), c.replica.health().detail);
    await c.replica.put('session', 's-gina', { userId: 'gina' });
    assert.ok(restarted.replica.get('session', 's-gina') !== null);
    assert.ok(await waitUntil(() => inStep(restarted, c), 2_000));
    assert.equal(resyncLines(c), resyncsBefore, 'a clean restart keeps the history: the follower resumed with changes, not a snapshot');
  } finally {
    await cluster.close();
    await dirs.remove();
  }
});

test('a leader back on its own history without its last changes: the followers that had them follow it exactly, say so, and tell their listeners', async () => {
  const cluster = await TestCluster.create(NODES);
  try {
    const kept = new KeptBackend();
    const a = await cluster.startReplica('a', 'a', kept);
    const b = await cluster.startReplica('b', 'a', new KeptBackend());
    const c = await cluster.startReplica('c', 'a', new KeptBackend());
    const seen: ChangeEvent[] = [];
    b.replica.onChange((change) => seen.push(change));
    await a.replica.put('session', 'x', { n: 1 });
    await b.replica.put('session', 'y', { n: 2 });
    await c.replica.put('user', 'u', { n: 3 });
    // The leader's store as it will come back: these three changes, the same history.
    const restored = new KeptBackend();
    restored.serverVersion = kept.serverVersion;
    restored.version = kept.version;
    for (const [key, record] of kept.records) restored.records.set(key, record);

    await b.replica.put('session', 'x', { n: 10 });
    await c.replica.put('session', 'w', { n: 4 });
    assert.equal(await a.replica.delete('session', 'y'), true);
    assert.ok(await waitUntil(() => inStep(a, b, c), 2_000));
    assert.equal(b.replica.version, 6);

    await cluster.stopReplica('a');
    const back = await cluster.startReplica('a', 'a', restored);
    assert.equal(back.replica.version, 3);
    assert.ok(await waitUntil(() => inStep(back, b, c), 3_000), 'the followers follow the leader\'s state, not their own');
    assert.deepEqual(
      state(b.replica).map((row) => JSON.parse(row) as unknown[]).map(([type, id, version, data]) => [type, id, version, data]),
      [
        ['session', 'x', 1, { n: 1 }],
        ['session', 'y', 2, { n: 2 }],
        ['user', 'u', 3, { n: 3 }],
      ],
    );
    assert.deepEqual(listenerView(seen), state(b.replica), 'listeners were told of every record the lost changes had touched');
    for (const follower of [b, c]) {
      const error = follower.log.lines.find((l) => l['level'] === 50 && l['lostVersions'] === 3);
      assert.ok(error, `${follower.id} logs the loss as an error, with how many versions`);
    }
    assert.ok(back.log.lines.some((l) => l['msg'] === 'a follower is ahead of this leader on its own history: changes acknowledged earlier are lost'));

    // The leader's next changes take the lost versions; every node applies them.
    const next = await c.replica.put('session', 'z', { n: 5 });
    assert.equal(next.version, 4);
    await back.replica.put('session', 'x', { n: 6 });
    assert.ok(await waitUntil(() => inStep(back, b, c), 2_000));
    assert.equal(b.replica.get('session', 'w'), null);
    assert.deepEqual(listenerView(seen), state(b.replica));
  } finally {
    await cluster.close();
  }
});

test('a file-storage leader restarted after a crash starts a new history: followers that saw changes it lost take its state even once it has more changes than they do', async () => {
  const cluster = await TestCluster.create(NODES);
  const dirs = await tempDirs();
  const relays = await Promise.all(['b', 'c'].map(() => Relay.start(cluster.ports.get('a')!)));
  try {
    // The followers reach the leader through relays, so the test decides when they reconnect.
    const via = (relay: Relay) => (id: string): number => (id === 'a' ? relay.port : cluster.ports.get(id)!);
    const a = await cluster.startReplica('a', 'a', await fileStore(dirs.dir('a'), 'never'));
    const b = await cluster.startReplica('b', 'a', new KeptBackend(), { portOf: via(relays[0]!) });
    const c = await cluster.startReplica('c', 'a', new KeptBackend(), { portOf: via(relays[1]!) });
    for (let i = 1; i <= 3; i++) await a.replica.put('session', `s${i}`, { i });
    // What a machine crash leaves with fsync `never`: the directory as the disk had it, lock included.
    await cp(dirs.dir('a'), dirs.dir('a-after-crash'), { recursive: true });
    const oldHistory = a.replica.serverVersion;
    await b.replica.put('session', 's1', { i: 10 });
    await c.replica.put('session', 'lost', { i: 4 });
    assert.equal(await a.replica.delete('session', 's2'), true);
    assert.ok(await waitUntil(() => inStep(a, b, c), 2_000));
    assert.equal(b.replica.version, 6);

    for (const relay of relays) await relay.cut();
    await cluster.stopReplica('a');
    const back = await cluster.startReplica('a', 'a', await fileStore(dirs.dir('a-after-crash'), 'never'));
    assert.notEqual(back.replica.serverVersion, oldHistory, 'a new history after the crash');
    assert.equal(back.replica.version, 3);
    // The leader goes past the followers' versions before they reconnect.
    for (let i = 1; i <= 5; i++) await back.replica.put('session', `new${i}`, { i });
    assert.equal(back.replica.version, 8);
    for (const relay of relays) await relay.restore();

    assert.ok(await waitUntil(() => inStep(back, b, c), 3_000), 'the followers hold exactly the leader\'s state');
    assert.equal(b.replica.serverVersion, back.replica.serverVersion);
    assert.equal(b.replica.get('session', 'lost'), null);
    assert.deepEqual(b.replica.get('session', 's1')?.data, { i: 1 });
    assert.deepEqual(b.replica.get('session', 's2')?.data, { i: 2 });
  } finally {
    await cluster.close();
    for (const relay of relays) await relay.cut();
    await dirs.remove();
  }
});
