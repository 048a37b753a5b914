import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDemoCertificates, type DemoCertificates } from '../../src/demo/certificates.js';

const root = mkdtempSync(join(tmpdir(), 'postern-demo-certs-'));
after(() => rmSync(root, { recursive: true, force: true }));
let count = 0;
const freshDir = (): string => join(root, `run-${++count}`);
const NAMES = ['app.localhost', 'authenticate.localhost'];
const DAY = 86_400_000;

function read(files: DemoCertificates): { ca: string; cert: string; key: string } {
  return { ca: readFileSync(files.caCertFile, 'utf8'), cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8') };
}

test('first run makes a P-256 CA and a server certificate for the names, keys readable by the owner only', async () => {
  const dir = freshDir();
  const files = await ensureDemoCertificates(dir, NAMES);
  const ca = new X509Certificate(readFileSync(files.caCertFile));
  const cert = new X509Certificate(readFileSync(files.certFile));
  assert.ok(ca.ca);
  assert.ok(!cert.ca);
  assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
  assert.equal(cert.subjectAltName, 'DNS:app.localhost, DNS:authenticate.localhost');
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), true, 'serverAuth');
  for (const file of [files.keyFile, join(dir, 'ca-key.pem')]) assert.equal(statSync(file).mode & 0o777, 0o600, file);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
});

test('a TLS client that trusts only the CA accepts the server for each name', async () => {
  const files = await ensureDemoCertificates(freshDir(), NAMES);
  const { ca, cert, key } = read(files);
  const server = createServer({ cert, key }, (socket) => socket.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    for (const servername of NAMES) {
      const socket = connect({ host: '127.0.0.1', port, servername, ca });
      await once(socket, 'secureConnect');
      assert.equal(socket.authorized, true, servername);
      socket.destroy();
    }
    const wrong = connect({ host: '127.0.0.1', port, servername: 'other.localhost', ca });
    const [err] = (await once(wrong, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    server.close();
  }
});

test('later runs reuse the files as they are', async () => {
  const dir = freshDir();
  const before = read(await ensureDemoCertificates(dir, NAMES));
  const after = read(await ensureDemoCertificates(dir, [...NAMES].reverse()));
  assert.deepEqual(after, before);
});

test('other names get a new server certificate from the same CA', async () => {
  const dir = freshDir();
  const before = read(await ensureDemoCertificates(dir, NAMES));
  const after = read(await ensureDemoCertificates(dir, [...NAMES, 'api.localhost']));
  assert.equal(after.ca, before.ca);
  assert.notEqual(after.cert, before.cert);
  assert.notEqual(after.key, before.key);
  assert.equal(new X509Certificate(after.cert).subjectAltName, 'DNS:app.localhost, DNS:authenticate.localhost, DNS:api.localhost');
});

test('a server certificate near its end is renewed; an expiring CA is replaced with everything it signed', async () => {
  const dir = freshDir();
  const start = Date.now();
  const first = read(await ensureDemoCertificates(dir, NAMES, start));
  const renewed = read(await ensureDemoCertificates(dir, NAMES, start + 360 * DAY));
  assert.equal(renewed.ca, first.ca);
  assert.notEqual(renewed.cert, first.cert);
  const replaced = read(await ensureDemoCertificates(dir, NAMES, start + 3650 * DAY));
  assert.notEqual(replaced.ca, first.ca);
  assert.ok(new X509Certificate(replaced.cert).verify(new X509Certificate(replaced.ca).publicKey));
});

test('damaged or mismatched files are made again', async () => {
  const dir = freshDir();
  const files = await ensureDemoCertificates(dir, NAMES);
  const before = read(files);
  const other = await ensureDemoCertificates(freshDir(), NAMES);
  writeFileSync(files.keyFile, readFileSync(other.keyFile));
  const mismatched = read(await ensureDemoCertificates(dir, NAMES));
  assert.equal(mismatched.ca, before.ca);
  assert.notEqual(mismatched.cert, before.cert);
  assert.ok(new X509Certificate(mismatched.cert).checkPrivateKey(createPrivateKey(mismatched.key)));
  writeFileSync(files.caCertFile, 'not a certificate');
  const rebuilt = read(await ensureDemoCertificates(dir, NAMES));
  assert.notEqual(rebuilt.ca, 'not a certificate');
  assert.ok(new X509Certificate(rebuilt.cert).verify(new X509Certificate(rebuilt.ca).publicKey));
});

test('at least one name is needed', async () => {
  await assert.rejects(ensureDemoCertificates(freshDir(), []), /at least one DNS name/);
});
