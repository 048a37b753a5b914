import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { createCertificateAuthority, createLeafCertificate, type CertificateAuthority } from '../helpers/certs.js';
import { b64, Fixture, problemFor, secret, warningFor } from './support.js';

const fx = new Fixture();
let ca: CertificateAuthority;
before(() => {
  ca = createCertificateAuthority();
});
after(() => {
  fx.remove();
  ca.remove();
});

const SECRETS = (): string => `shared_secret: ${secret()}\ncookie_secret: ${secret()}\n`;
const ROUTE = 'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n';

test('certificate_file/certificate_key_file give the default certificate; names are its SAN DNS entries, lower-cased', () => {
  const cert = fx.certificate('san', 'Ignored.Example', ['App.Example.com', '*.Apps.Example.com']);
  const { config } = fx.load(`${SECRETS()}certificate_file: ${cert.certFile}\ncertificate_key_file: ${cert.keyFile}\n${ROUTE}`);
  assert.deepEqual(config.defaultCertificate?.names, ['app.example.com', '*.apps.example.com']);
  assert.equal(config.defaultCertificate?.origin, cert.certFile);
  assert.equal(config.defaultCertificate?.certPem, cert.certPem);
  assert.equal(config.defaultCertificate?.keyPem, cert.keyPem);
  assert.deepEqual(config.certificates, [config.defaultCertificate]);
  assert.deepEqual(config.address, { host: '', port: 443 });
});

test('a certificate without SAN DNS names serves its subject CN', () => {
  const cert = fx.certificate('cn', 'Legacy.Example.COM');
  const { config } = fx.load(`${SECRETS()}certificate_file: ${cert.certFile}\ncertificate_key_file: ${cert.keyFile}\n${ROUTE}`);
  assert.deepEqual(config.defaultCertificate?.names, ['legacy.example.com']);
});

test('the default certificate is certificate/certificate_key, then the file pair, then the first of certificates', () => {
  const inline = fx.certificate('inline', 'inline.example');
  const file = fx.certificate('file', 'file.example');
  const listed = fx.certificate('listed', 'listed.example');
  const embedded = fx.certificate('embedded', 'embedded.example');
  const all = `${SECRETS()}certificate: ${b64(inline.certPem)}\ncertificate_key: ${b64(inline.keyPem)}\ncertificate_file: ${file.certFile}\ncertificate_key_file: ${file.keyFile}\ncertificates:\n  - cert: ${basename(listed.certFile)}\n    key: ${basename(listed.keyFile)}\n  - cert: ${b64(embedded.certPem)}\n    key: ${b64(embedded.keyPem)}\n${ROUTE}`;
  const { config } = fx.load(all);
  assert.deepEqual(config.certificates.map((c) => c.names[0]), ['inline.example', 'file.example', 'listed.example', 'embedded.example']);
  assert.deepEqual(config.certificates.map((c) => c.origin), ['certificate', file.certFile, listed.certFile, 'certificates[1]']);
  assert.equal(config.defaultCertificate, config.certificates[0]);
  const onlyList = fx.load(`${SECRETS()}certificates:\n  - cert: ${listed.certFile}\n    key: ${listed.keyFile}\n${ROUTE}`).config;
  assert.deepEqual(onlyList.defaultCertificate?.names, ['listed.example']);
});

test('CERTIFICATES from the environment is a JSON list of {cert, key}', () => {
  const cert = fx.certificate('env', 'env.example');
  const { config } = fx.load(`${SECRETS()}${ROUTE}`, { CERTIFICATES: JSON.stringify([{ cert: cert.certFile, key: cert.keyFile }]) });
  assert.deepEqual(config.defaultCertificate?.names, ['env.example']);
});

test('a key that does not match its certificate is an error on the key’s line, without the key in the message', () => {
  const a = fx.certificate('mismatch-a', 'a.example');
  const b = fx.certificate('mismatch-b', 'b.example');
  const problems = fx.problems(`${SECRETS()}certificate_file: ${a.certFile}\ncertificate_key_file: ${b.keyFile}\n`);
  const p = problemFor(problems, 'certificate_key_file');
  assert.equal(p.line, 4);
  assert.equal(p.message, 'the private key does not match the certificate');
  const inline = fx.problems(`${SECRETS()}certificate: ${b64(a.certPem)}\ncertificate_key: ${b64(b.keyPem)}\n`);
  assert.equal(problemFor(inline, 'certificate_key').message, 'the private key does not match the certificate');
  for (const x of [...problems, ...inline]) assert.ok(!x.message.includes('PRIVATE KEY') && !x.message.includes(b64(b.keyPem).slice(0, 20)));
});

function broken(c: { certFile: string; keyFile: string }): ReadonlyArray<readonly [string, string, RegExp]> {
  return [
    [`certificate_file: ${c.certFile}\n`, 'certificate_file', /certificate_file and certificate_key_file must both be set/],
    [`certificate_key_file: ${c.keyFile}\n`, 'certificate_key_file', /must both be set/],
    [`certificate_file: ${c.keyFile}\ncertificate_key_file: ${c.keyFile}\n`, 'certificate_file', /contains no PEM certificate/],
    [`certificate_file: ${c.certFile}\ncertificate_key_file: ${c.certFile}\n`, 'certificate_key_file', /private key cannot be parsed/],
    [`certificate_file: ${c.certFile}\ncertificate_key_file: /nonexistent.key\n`, 'certificate_key_file', /cannot read \/nonexistent.key: ENOENT/],
    ['certificate: bm90IHBlbQ==\ncertificate_key: bm90IHBlbQ==\n', 'certificate', /base64-encoded PEM certificate/],
    ['certificates:\n  - cert: /nonexistent.pem\n', 'certificates[0].cert', /cert and key must both be set/],
    ['certificates:\n  - {}\n', 'certificates[0]', /needs both cert and key/],
    ['certificates: [1]\n', 'certificates[0]', /map with cert and key/],
  ];
}

test('incomplete, unreadable or non-PEM certificate settings are errors naming the key', () => {
  for (const [body, key, message] of broken(fx.certificate('broken', 'broken.example'))) {
    assert.match(problemFor(fx.problems(`${SECRETS()}${body}`), key).message, message, body);
  }
});

test('without insecure_server a certificate is required', () => {
  const p = problemFor(fx.problems(`${SECRETS()}${ROUTE}`), 'certificates');
  assert.equal(p.line, 0);
  assert.match(p.message, /no server certificate/);
});

test('with insecure_server the certificates are checked but not served, with a warning', () => {
  const cert = fx.certificate('insecure', 'insecure.example');
  const { config, warnings } = fx.load(`insecure_server: true\n${SECRETS()}certificate_file: ${cert.certFile}\ncertificate_key_file: ${cert.keyFile}\n${ROUTE}`);
  assert.equal(config.defaultCertificate, null);
  assert.deepEqual(config.certificates, []);
  assert.match(warningFor(warnings, 'certificate_file').message, /checked but not served/);
  // Pomerium keys HSTS on configured certificates, not on the listener.
  assert.ok(config.setResponseHeaders.some((h) => h.lname === 'strict-transport-security'));
});

test('HSTS is among the default headers only when certificates are configured', () => {
  const cert = fx.certificate('hsts', 'hsts.example');
  const withCert = fx.load(`${SECRETS()}certificate_file: ${cert.certFile}\ncertificate_key_file: ${cert.keyFile}\n${ROUTE}`).config;
  assert.deepEqual(withCert.setResponseHeaders.map((h) => h.name), ['X-Frame-Options', 'X-XSS-Protection', 'Strict-Transport-Security']);
  const without = fx.load(`insecure_server: true\n${SECRETS()}${ROUTE}`).config;
  assert.deepEqual(without.setResponseHeaders.map((h) => h.name), ['X-Frame-Options', 'X-XSS-Protection']);
});

test('an expired certificate loads with a warning', () => {
  const leaf = createLeafCertificate(ca, { names: ['old.example'], expired: true });
  const { warnings } = fx.load(`${SECRETS()}certificate_file: ${leaf.certFile}\ncertificate_key_file: ${leaf.keyFile}\n${ROUTE}`);
  assert.match(warningFor(warnings, 'certificate_file').message, /expired on 2020-01-02/);
});

test('certificate_authority(_file) is a PEM bundle that must parse', () => {
  const pem = fx.load(`insecure_server: true\n${SECRETS()}certificate_authority_file: ${ca.certFile}\n${ROUTE}`).config;
  assert.equal(pem.certificateAuthority, ca.certPem);
  const inline = fx.load(`insecure_server: true\n${SECRETS()}certificate_authority: ${b64(ca.certPem)}\n${ROUTE}`).config;
  assert.equal(inline.certificateAuthority, ca.certPem);
  const garbage = fx.write('garbage.pem', '-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n');
  assert.match(problemFor(fx.problems(`insecure_server: true\n${SECRETS()}certificate_authority_file: ${garbage}\n`), 'certificate_authority_file').message, /cannot be parsed/);
  assert.match(problemFor(fx.problems(`insecure_server: true\n${SECRETS()}certificate_authority: eA==\n`), 'certificate_authority').message, /PEM certificate bundle/);
  assert.match(
    problemFor(fx.problems(`insecure_server: true\n${SECRETS()}certificate_authority: ${b64(ca.certPem)}\ncertificate_authority_file: ${ca.certFile}\n`), 'certificate_authority_file').message,
    /not both/,
  );
});

test('a route’s tls_custom_ca(_file) and tls_client_cert/key(_file) are loaded and checked', () => {
  const client = createLeafCertificate(ca, { names: ['client.example'] });
  const route = (extra: string): string =>
    `insecure_server: true\n${SECRETS()}routes:\n  - from: https://a.example.com\n    to: https://127.0.0.1:9443\n    allow_public_unauthenticated_access: true\n${extra}`;
  const files = fx.load(route(`    tls_custom_ca_file: ${ca.certFile}\n    tls_client_cert_file: ${client.certFile}\n    tls_client_key_file: ${client.keyFile}\n`)).config;
  assert.deepEqual(files.routes[0]?.tls, { skipVerify: false, serverName: null, customCa: ca.certPem, clientCert: client.certPem, clientKey: client.keyPem });
  const inline = fx.load(route(`    tls_custom_ca: ${b64(ca.certPem)}\n    tls_client_cert: ${b64(client.certPem)}\n    tls_client_key: ${b64(client.keyPem)}\n`)).config;
  assert.deepEqual(inline.routes[0]?.tls, files.routes[0]?.tls);
  const half = fx.problems(route(`    tls_client_cert_file: ${client.certFile}\n`));
  assert.match(problemFor(half, 'routes[0].tls_client_cert_file').message, /tls_client_cert_file and tls_client_key_file must both be set/);
  assert.equal(problemFor(half, 'routes[0].tls_client_cert_file').line, 8);
  const other = fx.certificate('other-client', 'other.example');
  const mismatch = fx.problems(route(`    tls_client_cert_file: ${client.certFile}\n    tls_client_key_file: ${other.keyFile}\n`));
  assert.match(problemFor(mismatch, 'routes[0].tls_client_key_file').message, /does not match/);
  const both = fx.problems(route(`    tls_client_cert: ${b64(client.certPem)}\n    tls_client_key: ${b64(client.keyPem)}\n    tls_client_cert_file: ${client.certFile}\n    tls_client_key_file: ${client.keyFile}\n`));
  assert.match(problemFor(both, 'routes[0].tls_client_cert_file').message, /not both/);
});
