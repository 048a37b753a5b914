// The peers test with the databroker's own parts: each node is the Replica
// that Postern reads, over a peer backend, over the memory backend, as
// openDatabroker() assembles them. Sign in through one node, use the session
// through another, sign out through a third; lose the leader; promote.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../../../src/databroker/memory-backend.js';
import { openPeerBackend, type PeerBackend } from '../../../src/databroker/peers/index.js';
import { Replica } from '../../../src/databroker/replica.js';
import { Errors, PosternError } from '../../../src/errors.js';
import { waitUntil } from '../../helpers/wait.js';
import { FAST } from './cluster.js';
import { capturingLogger, createCertificateAuthority, createPeerCertificate, freePort, type CertificateAuthority } from './fixtures.js';

const IDS = ['a', 'b', 'c'];
let ca: CertificateAuthority;
let ports: Map<string, number>;

before(async () => {
  ca = createCertificateAuthority('Replica peers CA');
  ports = new Map();
  for (const id of IDS) ports.set(id, await freePort());
});

after(() => ca.remove());

async function startNode(id: string, leaderId: string): Promise<Replica> {
  const certificate = createPeerCertificate(ca, { commonName: id, dnsNames: [id] });
  const logger = capturingLogger().logger;
  const backend = await openPeerBackend({
    nodeId: id,
    leaderId,
    nodes: IDS.map((n) => ({ id: n, address: `127.0.0.1:${ports.get(n)!}` })),
    tls: { certPem: certificate.certPem, keyPem: certificate.keyPem, caPem: ca.certPem },
    local: new MemoryBackend(),
    logger,
    tuning: FAST,
  });
  return Replica.open(backend, { logger, sweepIntervalMs: 0, indexes: { session: ['userId'] } });
}

function peers(replica: Replica): PeerBackend {
  return replica.storage as PeerBackend;
}

test('sign in through one node, use the session through another, sign out through a third; lose the leader; promote and sign in again', async () => {
  const a = await startNode('a', 'a');
  const b = await startNode('b', 'a');
  const c = await startNode('c', 'a');
  try {
    assert.equal(b.kind, 'peer-follower');
    const session = await b.put('session', 'sess-1', { userId: 'alice' }, { expiresAt: Date.now() + 60_000 });
    assert.equal(b.get('session', 'sess-1'), session, 'read-your-writes on the node that signed in');
    assert.ok(await waitUntil(() => c.get('session', 'sess-1') !== null && a.get('session', 'sess-1') !== null, 1_000));
    assert.deepEqual(c.query('session', 'userId', 'alice').map((r) => r.id), ['sess-1']);

    const signOut = Date.now();
    assert.equal(await a.delete('session', 'sess-1'), true);
    assert.ok(await waitUntil(() => b.get('session', 'sess-1') === null && c.get('session', 'sess-1') === null, 1_000), 'refused everywhere within one second');
    assert.ok(Date.now() - signOut < 1_000);

    await c.put('session', 'sess-2', { userId: 'bob' });
    assert.ok(await waitUntil(() => b.get('session', 'sess-2') !== null, 1_000));
    await a.close();
    assert.ok(await waitUntil(() => !b.health().ok && !c.health().ok, 2_000));
    assert.match(b.health().detail, /^leader a unreachable since/);
    assert.deepEqual(b.get('session', 'sess-2')?.data, { userId: 'bob' }, 'existing sessions keep working');
    await assert.rejects(b.put('session', 'sess-3', { userId: 'carol' }), (err: unknown) => err instanceof PosternError && err.code === Errors.DATABROKER_READ_ONLY.code);

    await peers(b).reconfigure({ leaderId: 'b' });
    await peers(c).reconfigure({ leaderId: 'b' });
    assert.equal(b.kind, 'peer-leader');
    assert.ok(await waitUntil(() => c.health().ok, 2_000));
    await c.put('session', 'sess-3', { userId: 'carol' });
    assert.ok(b.get('session', 'sess-3') !== null, 'a sign-in through the remaining follower reaches the new leader');
    assert.deepEqual(b.get('session', 'sess-2')?.data, { userId: 'bob' });
    assert.equal(await b.delete('session', 'sess-2'), true);
    assert.ok(await waitUntil(() => c.get('session', 'sess-2') === null, 1_000));
    assert.equal(b.version, c.version);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});
