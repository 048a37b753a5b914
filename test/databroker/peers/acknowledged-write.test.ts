// A write a follower forwards, which the leader acknowledges but whose change
// has not reached the follower when the link to the leader drops: the
// follower's replica must not hold a version its replicated history lacks,
// or a leader promoted from that history gives the version to another change
// and the replica skips it as already seen. The databroker's own Replica on
// every node, as openDatabroker() assembles them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errors, PosternError } from '../../../src/errors.js';
import type { Replica } from '../../../src/databroker/replica.js';
import { sleep, waitUntil } from '../../helpers/wait.js';
import { TestCluster, type ReplicaNode } from './cluster.js';
import { KeptBackend, Relay } from './fixtures.js';

const NODES = ['a', 'b', 'c'];

function state(replica: Replica): string[] {
  return replica
    .list('session')
    .map((r) => JSON.stringify([r.id, r.version, r.data]))
    .sort();
}

function inStep(leader: ReplicaNode, follower: ReplicaNode): boolean {
  return follower.replica.version === leader.replica.version && state(follower.replica).join() === state(leader.replica).join();
}

test('a write acknowledged by a leader that dies before its change reached the follower fails as unconfirmed, and the next leader\'s change at that version is applied', async () => {
  const cluster = await TestCluster.create(NODES);
  const relay = await Relay.start(cluster.ports.get('a')!);
  try {
    const kept = new KeptBackend();
    await cluster.startReplica('a', 'a', kept);
    const b = await cluster.startReplica('b', 'a', new KeptBackend(), {
      portOf: (id) => (id === 'a' ? relay.port : cluster.ports.get(id)!),
      // Longer than the test: only the dropped connection ends the write.
      tuning: { writeTimeoutMs: 60_000 },
    });
    const c = await cluster.startReplica('c', 'a', new KeptBackend());
    await b.replica.put('session', 'before', { by: 'b' });
    assert.ok(await waitUntil(() => c.replica.get('session', 'before') !== null, 2_000));

    // The leader comes back on the same history with a feed that never gets
    // to send (as if every follower's socket queue stayed full): the
    // followers resume, and its acknowledgements overtake its changes.
    await cluster.stopReplica('a');
    assert.ok(await waitUntil(() => !b.replica.health().ok && !c.replica.health().ok, 2_000));
    const a = await cluster.startReplica('a', 'a', kept, { tuning: { sendHighWaterBytes: 0 } });
    assert.ok(await waitUntil(() => b.replica.health().ok && c.replica.health().ok, 3_000), b.replica.health().detail);

    const outcome = b.replica.put('session', 'lost', { by: 'b' }).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    assert.ok(await waitUntil(() => a.replica.get('session', 'lost') !== null, 2_000), 'the leader committed the write');
    // Time for the acknowledgement to cross loopback (the change is not
    // coming). Were it slower, the write would fail as never acknowledged,
    // and the message below says which.
    await sleep(300);
    await relay.cut();
    const err = await outcome;
    assert.ok(err instanceof PosternError, `the write ${String(err)}`);
    assert.equal(err.code, Errors.DATABROKER_WRITE_UNCONFIRMED.code);
    assert.match(err.message, /acknowledged the write as version 2, but the connection closed before its change reached this node/);
    assert.equal(b.replica.get('session', 'lost'), null, 'the replica holds only what the replicated history holds');
    assert.equal(b.replica.version, b.peers.status().version);

    // The leader dies with the write; another follower is promoted from version 1.
    await cluster.stopReplica('a');
    await c.peers.reconfigure({ leaderId: 'c' });
    await b.peers.reconfigure({ leaderId: 'c' });
    assert.ok(await waitUntil(() => b.replica.health().ok, 3_000), b.replica.health().detail);
    const next = await c.replica.put('session', 'next', { by: 'c' });
    assert.equal(next.version, 2, 'the promoted node gives version 2 to another change');
    assert.ok(await waitUntil(() => inStep(c, b), 2_000), `b: ${state(b.replica).join(' ')}; c: ${state(c.replica).join(' ')}`);
    assert.deepEqual(b.replica.get('session', 'next')?.data, { by: 'c' });
    assert.equal(b.replica.get('session', 'lost'), null);
  } finally {
    await relay.cut();
    await cluster.close();
  }
});
