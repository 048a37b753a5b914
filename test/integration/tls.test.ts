// TLS termination: a default certificate plus two more chosen by SNI, each
// name served its own certificate; a request whose Host belongs to another
// certificate than the connection's SNI name is refused with 421 (no domain
// fronting across certificates); HSTS and X-Forwarded-Proto follow TLS.
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { createCertificateAuthority, createLeafCertificate, type CertificateAuthority } from '../helpers/certs.js';
import { request, type Response } from '../helpers/client.js';
import { publicRoute, randomSecret, startPostern, type Postern } from '../helpers/postern.js';
import { startEcho, type EchoReply, type Upstream } from '../helpers/upstreams.js';

let ca: CertificateAuthority;
let echo: Upstream;
let proxy: Postern;

before(async () => {
  ca = createCertificateAuthority();
  const def = createLeafCertificate(ca, { names: ['default.localhost'] });
  const one = createLeafCertificate(ca, { names: ['one.localhost'] });
  const two = createLeafCertificate(ca, { names: ['two.localhost', '*.two.localhost'] });
  echo = await startEcho();
  proxy = await startPostern({
    address: '127.0.0.1:0',
    shared_secret: randomSecret(),
    cookie_secret: randomSecret(),
    certificate_file: def.certFile,
    certificate_key_file: def.keyFile,
    certificates: [
      { cert: one.certFile, key: one.keyFile },
      { cert: two.certFile, key: two.keyFile },
    ],
    routes: [
      publicRoute('https://default.localhost', echo.origin),
      publicRoute('https://one.localhost', echo.origin),
      publicRoute('https://two.localhost', echo.origin),
      publicRoute('https://*.two.localhost', echo.origin),
    ],
  });
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
  ca?.remove();
});

function sanNames(cert: PeerCertificate | undefined): string[] {
  assert.ok(cert && cert.subject, 'no peer certificate');
  return (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
}

/** A request to `host` over a connection whose SNI is `sni` (default: the same host), verified against the test CA. */
function tlsRequest(host: string, sni: string = host, headers: Record<string, string> = {}): Promise<Response> {
  return request(proxy.url(host, '/tls'), { servername: sni, ca: ca.certPem, headers });
}

describe('certificate selection by SNI', () => {
  test('each SNI name gets its own certificate, chained to the CA', async () => {
    const one = await tlsRequest('one.localhost');
    assert.equal(one.peerCertificate?.subject.CN, 'one.localhost');
    assert.deepEqual(sanNames(one.peerCertificate), ['one.localhost']);
    const two = await tlsRequest('two.localhost');
    assert.equal(two.peerCertificate?.subject.CN, 'two.localhost');
    assert.ok(sanNames(two.peerCertificate).includes('two.localhost'));
  });

  test('a name covered by a wildcard SAN gets that certificate', async () => {
    const res = await tlsRequest('a.two.localhost');
    assert.equal(res.peerCertificate?.subject.CN, 'two.localhost');
    assert.equal(res.status, 200);
  });

  test('an unknown SNI name gets the default certificate', async () => {
    const res = await tlsRequest('default.localhost', 'unknown.localhost');
    assert.equal(res.peerCertificate?.subject.CN, 'default.localhost');
  });

  test('the default certificate serves its own name', async () => {
    const res = await tlsRequest('default.localhost');
    assert.equal(res.peerCertificate?.subject.CN, 'default.localhost');
    assert.equal(res.status, 200);
  });
});

describe('Host and SNI must agree', () => {
  test('a Host matching the SNI name is proxied', async () => {
    const res = await tlsRequest('one.localhost');
    assert.equal(res.status, 200);
    assert.equal(res.json<EchoReply>().url, '/tls');
  });

  test('a Host that belongs to another certificate than the SNI name is a 421 and reaches no upstream', async () => {
    const before = echo.requests.length;
    const res = await tlsRequest('two.localhost', 'one.localhost', { accept: 'application/json' });
    assert.equal(res.status, 421);
    assert.equal(res.headers['x-pomerium-intercepted-response'], 'true');
    assert.equal(res.json<Record<string, unknown>>()['request_id'], res.headers['x-request-id']);
    assert.equal(echo.requests.length, before);
  });

  test('the same holds the other way round (SNI two, Host one)', async () => {
    const res = await tlsRequest('one.localhost', 'two.localhost');
    assert.equal(res.status, 421);
  });
});

describe('headers under TLS', () => {
  test('responses carry HSTS and the other default security headers', async () => {
    const res = await tlsRequest('one.localhost');
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains; preload');
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
  });

  test('the upstream gets X-Forwarded-Proto: https', async () => {
    const res = await tlsRequest('one.localhost', 'one.localhost', { 'x-forwarded-proto': 'http' });
    assert.equal(res.json<EchoReply>().headers['x-forwarded-proto'], 'https');
  });

  test('/ping answers on a TLS host', async () => {
    const res = await request(proxy.url('one.localhost', '/ping'), { servername: 'one.localhost', ca: ca.certPem });
    assert.equal(res.status, 200);
  });
});
