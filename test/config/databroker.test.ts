import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { base, Fixture, problemFor, warningFor } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const key = (): string => randomBytes(32).toString('base64');

test('the databroker defaults to memory storage, keys derived from shared_secret and no peer group', () => {
  const { config, warnings } = fx.load(base());
  assert.deepEqual(config.databroker, { storage: { type: 'memory' }, encryptionKeys: [], cluster: null });
  assert.ok(!warnings.some((w) => w.key.startsWith('databroker')));
});

test('the storage keys are implemented: no "not implemented" warning', () => {
  const warnings = fx.warnings(`${base()}databroker_storage_type: memory\n`);
  assert.deepEqual(
    warnings.filter((w) => w.key === 'databroker_storage_type'),
    [],
  );
});

test('file storage takes a file:// URL with an absolute directory and an fsync policy (always by default: an acknowledged write is on disk)', () => {
  const dir = `${fx.dir}/store`;
  const load = (url: string) => fx.load(`${base()}databroker_storage_type: file\ndatabroker_storage_connection_string: ${url}\n`).config.databroker.storage;
  assert.deepEqual(load(`file://${dir}`), { type: 'file', directory: dir, fsync: 'always' });
  assert.deepEqual(load(`file://${dir}/`), { type: 'file', directory: dir, fsync: 'always' });
  assert.deepEqual(load(`file://localhost${dir}?fsync=batch`), { type: 'file', directory: dir, fsync: 'batch' });
  assert.deepEqual(load(`file://${dir}?fsync=never`), { type: 'file', directory: dir, fsync: 'never' });
  assert.deepEqual(load('file:///var/lib/postern%20db'), { type: 'file', directory: '/var/lib/postern db', fsync: 'always' });
});

test('a file storage URL that names no usable directory, or unknown settings, is an error at its line', () => {
  const cases: [string, RegExp][] = [
    ['file://var/lib/postern', /must be a file:\/\/\/directory URL/],
    ['/var/lib/postern', /must be a file:\/\/\/directory URL/],
    ['postgres://localhost/db', /must be a file:\/\/\/directory URL/],
    ['file:///', /not the root directory/],
    ['file:///var/lib/postern?fsync=sometimes', /fsync must be always, batch or never/],
    ['file:///var/lib/postern?sync=1', /unknown setting "sync"/],
  ];
  for (const [url, message] of cases) {
    const p = problemFor(fx.problems(`${base()}databroker_storage_type: file\ndatabroker_storage_connection_string: "${url}"\n`), 'databroker_storage_connection_string');
    assert.match(p.message, message, url);
    assert.equal(p.line, 5);
  }
});

test('file and postgres storage need a connection string', () => {
  for (const type of ['file', 'postgres']) {
    const p = problemFor(fx.problems(`${base()}databroker_storage_type: ${type}\n`), 'databroker_storage_type');
    assert.match(p.message, new RegExp(`databroker_storage_type ${type} needs databroker_storage_connection_string`));
  }
});

test('postgres storage takes a URL or key=value DSN, and a bad one is reported without quoting it', () => {
  const load = (dsn: string) => fx.load(`${base()}databroker_storage_type: postgres\ndatabroker_storage_connection_string: "${dsn}"\n`).config.databroker.storage;
  for (const dsn of ['postgres://postern:pw@db.example.com:5432/postern?sslmode=verify-full', 'postgresql://localhost/postern', 'host=localhost user=postern dbname=postern']) {
    assert.deepEqual(load(dsn), { type: 'postgres', connectionString: dsn });
  }
  const p = problemFor(
    fx.problems(`${base()}databroker_storage_type: postgres\ndatabroker_storage_connection_string: "mysql://root:hunter2@db/x"\n`),
    'databroker_storage_connection_string',
  );
  assert.match(p.message, /must be a PostgreSQL connection string/);
  assert.ok(!p.message.includes('hunter2'));
});

test('the connection string may come from a file, trimmed as Pomerium does', () => {
  const file = fx.write('dsn.txt', 'postgres://postern:pw@localhost/postern\n');
  const { config } = fx.load(`${base()}databroker_storage_type: postgres\ndatabroker_storage_connection_string_file: ${file}\n`);
  assert.deepEqual(config.databroker.storage, { type: 'postgres', connectionString: 'postgres://postern:pw@localhost/postern' });
  const both = fx.problems(`${base()}databroker_storage_type: postgres\ndatabroker_storage_connection_string: postgres://x/y\ndatabroker_storage_connection_string_file: ${file}\n`);
  assert.match(problemFor(both, 'databroker_storage_connection_string_file').message, /not both/);
});

test('redis, removed by Pomerium, and unknown storage types are errors', () => {
  assert.match(problemFor(fx.problems(`${base()}databroker_storage_type: redis\n`), 'databroker_storage_type').message, /redis storage was removed from Pomerium in v0\.24/);
  assert.match(problemFor(fx.problems(`${base()}databroker_storage_type: pebble\n`), 'databroker_storage_type').message, /unknown databroker storage type "pebble" \(memory, file or postgres\)/);
});

test('a connection string with memory storage is ignored, with a warning', () => {
  const w = warningFor(fx.warnings(`${base()}databroker_storage_connection_string: file:///tmp/x\n`), 'databroker_storage_connection_string');
  assert.match(w.message, /ignored: databroker_storage_type is memory/);
});

test('databroker_encryption_key: one key, a list or comma-separated keys, in order', () => {
  const [k1, k2] = [key(), key()];
  const decode = (text: string): string[] => fx.load(`${base()}${text}`).config.databroker.encryptionKeys.map((b) => b.toString('base64'));
  assert.deepEqual(decode(`databroker_encryption_key: ${k1}\n`), [k1]);
  assert.deepEqual(decode(`databroker_encryption_key: [${k1}, ${k2}]\n`), [k1, k2]);
  assert.deepEqual(decode(`databroker_encryption_key: "${k2},${k1}"\n`), [k2, k1]);
  assert.deepEqual(decode(`databroker_encryption_key: ""\n`), []);
});

test('databroker_encryption_key_file holds one key per line; DATABROKER_ENCRYPTION_KEY works too', () => {
  const [k1, k2] = [key(), key()];
  const file = fx.write('db-keys', `${k1}\n\n${k2}\n`);
  const { config } = fx.load(`${base()}databroker_encryption_key_file: ${file}\n`);
  assert.deepEqual(
    config.databroker.encryptionKeys.map((b) => b.toString('base64')),
    [k1, k2],
  );
  const fromEnv = fx.load(base(), { DATABROKER_ENCRYPTION_KEY: `${k2},${k1}` }).config.databroker.encryptionKeys;
  assert.deepEqual(
    fromEnv.map((b) => b.toString('base64')),
    [k2, k1],
  );
});

test('an encryption key that is not base64 of 32 bytes, or is listed twice, is an error that never quotes it', () => {
  const short = randomBytes(16).toString('base64');
  const k = key();
  const cases: [string, RegExp][] = [
    [`databroker_encryption_key: ${short}\n`, /the key must decode to 32 bytes, not 16/],
    [`databroker_encryption_key: [${k}, "not*base64"]\n`, /key 2 must be base64/],
    [`databroker_encryption_key: [${k}, ${k}]\n`, /key 2 is listed twice/],
  ];
  for (const [text, message] of cases) {
    const p = problemFor(fx.problems(`${base()}${text}`), 'databroker_encryption_key');
    assert.match(p.message, message);
    assert.ok(!p.message.includes(k) && !p.message.includes(short));
  }
  const empty = fx.write('empty-keys', '\n');
  assert.match(problemFor(fx.problems(`${base()}databroker_encryption_key_file: ${empty}\n`), 'databroker_encryption_key_file').message, /holds no key/);
  const both = fx.problems(`${base()}databroker_encryption_key: [${k}]\ndatabroker_encryption_key_file: ${empty}\n`);
  assert.match(problemFor(both, 'databroker_encryption_key_file').message, /not both/);
});

function clusterFiles(): { cert: string; key: string; ca: string } {
  const pair = fx.certificate(`peer-${randomBytes(4).toString('hex')}`, 'node-a', ['node-a.internal']);
  return { cert: pair.certFile, key: pair.keyFile, ca: pair.certFile };
}

function clusterYaml(files: { cert: string; key: string; ca: string }, extra = ''): string {
  return (
    `${base()}databroker_cluster_nodes:\n  - id: a\n    address: 127.0.0.1:5001\n  - id: b\n    address: "[::1]:5002"\n  - id: c\n    address: node-c.internal:5003\n` +
    `databroker_cluster_node_id: b\n` +
    `databroker_cluster_certificate_file: ${files.cert}\ndatabroker_cluster_certificate_key_file: ${files.key}\ndatabroker_cluster_ca_file: ${files.ca}\n${extra}`
  );
}

test('a peer group: nodes, this node, the leader (the first node unless named) and the certificates, read and checked', () => {
  const files = clusterFiles();
  const { config } = fx.load(clusterYaml(files));
  const cluster = config.databroker.cluster;
  assert.ok(cluster !== null);
  assert.deepEqual(cluster.nodes, [
    { id: 'a', address: '127.0.0.1:5001' },
    { id: 'b', address: '[::1]:5002' },
    { id: 'c', address: 'node-c.internal:5003' },
  ]);
  assert.equal(cluster.nodeId, 'b');
  assert.equal(cluster.leaderId, 'a');
  assert.match(cluster.certificate.certPem, /BEGIN CERTIFICATE/);
  assert.match(cluster.certificate.keyPem, /PRIVATE KEY/);
  assert.match(cluster.caPem, /BEGIN CERTIFICATE/);
  assert.equal(fx.load(clusterYaml(files, 'databroker_cluster_leader_id: c\n')).config.databroker.cluster?.leaderId, 'c');
});

test('the nodes may come from the environment as JSON', () => {
  const files = clusterFiles();
  const { config } = fx.load(clusterYaml(files), { DATABROKER_CLUSTER_NODES: JSON.stringify([{ id: 'b', address: 'localhost:7000' }]) });
  assert.deepEqual(config.databroker.cluster?.nodes, [{ id: 'b', address: 'localhost:7000' }]);
});

test('peer group mistakes are errors at their place', () => {
  const files = clusterFiles();
  const nodes = (items: string): string =>
    `${base()}databroker_cluster_nodes:\n${items}databroker_cluster_node_id: a\ndatabroker_cluster_certificate_file: ${files.cert}\ndatabroker_cluster_certificate_key_file: ${files.key}\ndatabroker_cluster_ca_file: ${files.ca}\n`;
  const cases: [string, string, RegExp][] = [
    [clusterYaml(files, 'databroker_cluster_leader_id: z\n'), 'databroker_cluster_leader_id', /node "z" is not in databroker_cluster_nodes/],
    [clusterYaml(files).replace('databroker_cluster_node_id: b', 'databroker_cluster_node_id: q'), 'databroker_cluster_node_id', /node "q" is not in/],
    [clusterYaml(files).replace('databroker_cluster_node_id: b\n', ''), 'databroker_cluster_nodes', /databroker_cluster_node_id must name this instance/],
    [nodes('  - id: a\n    address: 127.0.0.1:1\n  - id: a\n    address: 127.0.0.1:2\n'), 'databroker_cluster_nodes[1]', /node "a" is listed twice/],
    [nodes('  - id: a\n    address: 127.0.0.1:1\n  - id: b\n    address: 127.0.0.1:1\n'), 'databroker_cluster_nodes[1]', /address 127\.0\.0\.1:1 is listed twice/],
    [nodes('  - id: a\n    address: 127.0.0.1\n'), 'databroker_cluster_nodes[0].address', /has no port/],
    [nodes('  - id: a\n'), 'databroker_cluster_nodes[0]', /needs both id and address/],
    [nodes('  - id: a\n    grpc_address: http://a:5443\n    address: 127.0.0.1:1\n'), 'databroker_cluster_nodes[0].grpc_address', /do not speak Pomerium's gRPC/],
    [nodes('  - a\n'), 'databroker_cluster_nodes[0]', /must be a map with id and address/],
    [clusterYaml(files).replace(/databroker_cluster_ca_file: .*\n/, ''), 'databroker_cluster_nodes', /databroker_cluster_ca_file: set it/],
    [clusterYaml(files).replace(/databroker_cluster_certificate_file: .*\n/, ''), 'databroker_cluster_certificate_key_file', /must both be set/],
    [clusterYaml(files).replace(/databroker_cluster_certificate.*\n/g, ''), 'databroker_cluster_nodes', /mutual TLS/],
    [clusterYaml({ ...files, key: clusterFiles().key }), 'databroker_cluster_certificate_key_file', /does not match the certificate/],
    [clusterYaml(files, 'databroker_storage_type: postgres\ndatabroker_storage_connection_string: postgres://localhost/x\n'), 'databroker_cluster_nodes', /instances on postgres already share it/],
  ];
  for (const [text, at, message] of cases) assert.match(problemFor(fx.problems(text), at).message, message, at);
});

test('raft_address is ignored with a warning, and cluster keys without nodes are ignored with warnings', () => {
  const files = clusterFiles();
  const text = clusterYaml(files).replace('  - id: a\n    address: 127.0.0.1:5001\n', '  - id: a\n    address: 127.0.0.1:5001\n    raft_address: 127.0.0.1:5101\n');
  assert.match(warningFor(fx.warnings(text), 'databroker_cluster_nodes[0].raft_address').message, /Postern elects no leader with Raft/);
  const stray = fx.warnings(`${base()}databroker_cluster_node_id: a\ndatabroker_cluster_ca_file: ${files.ca}\n`);
  assert.match(warningFor(stray, 'databroker_cluster_node_id').message, /ignored: databroker_cluster_nodes is not set/);
  assert.match(warningFor(stray, 'databroker_cluster_ca_file').message, /ignored/);
});
