import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { openDatabroker } from '../../src/databroker/open.js';
import type { Replica } from '../../src/databroker/replica.js';
import { Fixture } from '../config/support.js';
import { silentLogger } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const sharedSecret = randomBytes(32).toString('base64');

function config(extra: string): Config {
  return loadConfig(fx.config(`insecure_server: true\nshared_secret: ${sharedSecret}\ncookie_secret: ${randomBytes(32).toString('base64')}\n${extra}`), {}).config;
}

/** Every byte under `dir`, files concatenated. */
function bytesUnder(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    parts.push(statSync(path).isDirectory() ? bytesUnder(path) : readFileSync(path));
  }
  return Buffer.concat(parts);
}

const session = { userId: 'alice', claims: { email: 'alice@example.com' }, oauth: { refreshToken: 'refresh-token-secret' } };

test('with no storage configured, the databroker is a replica over memory', async () => {
  const db = await openDatabroker(config(''), silentLogger());
  assert.equal(db.kind, 'memory');
  await db.put('session', 's1', session);
  assert.deepEqual(db.query('session', 'userId', 'alice').map((r) => r.id), ['s1']);
  await db.close();
});

test('file storage keeps records across a restart, encrypted on disk with a key derived from shared_secret', async () => {
  const dir = join(fx.dir, `store-${randomBytes(4).toString('hex')}`);
  const settings = `databroker_storage_type: file\ndatabroker_storage_connection_string: file://${dir}?fsync=always\n`;
  const first = await openDatabroker(config(settings), silentLogger());
  assert.equal(first.kind, 'file');
  const written = await first.put('session', 's1', session, { expiresAt: Date.now() + 60_000 });
  await first.close();
  const onDisk = bytesUnder(dir);
  assert.ok(onDisk.length > 0);
  for (const secret of ['alice@example.com', 'refresh-token-secret', 'alice']) assert.ok(!onDisk.includes(Buffer.from(secret)), `${secret} is not on disk in clear`);
  const second = await openDatabroker(config(settings), silentLogger());
  assert.deepEqual(second.get('session', 's1'), written);
  await second.close();
});

test('file storage written with one encryption key opens after rotating to a new one that lists the old', async () => {
  const dir = join(fx.dir, `store-${randomBytes(4).toString('hex')}`);
  const settings = `databroker_storage_type: file\ndatabroker_storage_connection_string: file://${dir}\n`;
  const [oldKey, newKey] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
  const first = await openDatabroker(config(`${settings}databroker_encryption_key: ${oldKey}\n`), silentLogger());
  await first.put('user', 'alice', { email: 'alice@example.com' });
  await first.close();
  await assert.rejects(openDatabroker(config(`${settings}databroker_encryption_key: ${newKey}\n`), silentLogger()));
  const rotated = await openDatabroker(config(`${settings}databroker_encryption_key: [${newKey}, ${oldKey}]\n`), silentLogger());
  assert.deepEqual(rotated.get('user', 'alice')?.data, { email: 'alice@example.com' });
  await rotated.close();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A CA and, per node, a certificate naming the node (for both ends of a connection). */
function peerCertificates(nodes: readonly string[]): { ca: string; pairs: Map<string, { cert: string; key: string }> } {
  const dir = join(fx.dir, `peers-${randomBytes(4).toString('hex')}`);
  execFileSync('mkdir', ['-p', dir]);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=peers CA'], { stdio: 'ignore' });
  const pairs = new Map<string, { cert: string; key: string }>();
  for (const node of nodes) {
    const key = join(dir, `${node}.key`);
    const csr = join(dir, `${node}.csr`);
    const cert = join(dir, `${node}.pem`);
    const ext = join(dir, `${node}.ext`);
    execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:${node}\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ${ext}`]);
    execFileSync('openssl', ['req', '-new', ...ec, '-keyout', key, '-out', csr, '-subj', `/CN=${node}`], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], { stdio: 'ignore' });
    pairs.set(node, { cert, key });
  }
  return { ca, pairs };
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('with databroker_cluster_nodes, the instances form a peer group: a write through a follower reaches the leader and back', async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const { ca, pairs } = peerCertificates(['node-a', 'node-b']);
  const cluster = (self: string): string =>
    `databroker_cluster_nodes:\n  - id: node-a\n    address: 127.0.0.1:${portA}\n  - id: node-b\n    address: 127.0.0.1:${portB}\n` +
    `databroker_cluster_node_id: ${self}\n` +
    `databroker_cluster_certificate_file: ${pairs.get(self)!.cert}\ndatabroker_cluster_certificate_key_file: ${pairs.get(self)!.key}\ndatabroker_cluster_ca_file: ${ca}\n`;
  const opened: Replica[] = [];
  try {
    const leader = await openDatabroker(config(cluster('node-a')), silentLogger());
    opened.push(leader);
    const follower = await openDatabroker(config(cluster('node-b')), silentLogger());
    opened.push(follower);
    assert.equal(leader.kind, 'peer-leader');
    assert.equal(follower.kind, 'peer-follower');
    const written = await follower.put('session', 's1', session);
    assert.deepEqual(follower.get('session', 's1'), written);
    await until(() => leader.get('session', 's1') !== null);
    assert.equal(leader.serverVersion, follower.serverVersion);
  } finally {
    for (const db of opened.reverse()) await db.close();
  }
});
