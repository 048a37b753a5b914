import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { describeClientCertificate, type ClientCertificateInput } from '../../../../src/authorize/input.js';
import { canonicalFingerprint } from '../../../../src/authorize/ppl/criteria/client_certificate.js';
import { allowAnd, evaluate, problemsOf, type Verdict } from '../support.js';

const OK: Verdict = [true, ['client-certificate-ok']];
const NO: Verdict = [false, ['client-certificate-unauthorized']];

/** A certificate with two SANs of each kind, like Pomerium's testCertWithSANs, made with openssl. */
function makeCertificate(dir: string): { pem: string; fingerprint: string; spki: string } {
  const san = 'DNS:1.example.com,DNS:2.example.com,email:email-1@example.com,email:email-2@example.com,URI:https://example.com/uri-1,URI:https://example.com/uri-2';
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=client', '-addext', `subjectAltName=${san}`], { cwd: dir, stdio: 'ignore' });
  const fingerprintLine = execFileSync('openssl', ['x509', '-in', 'c.pem', '-noout', '-fingerprint', '-sha256'], { cwd: dir }).toString();
  const spkiDer = execFileSync('openssl', ['pkey', '-in', 'k.pem', '-pubout', '-outform', 'DER'], { cwd: dir });
  const spki = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: spkiDer }).toString('base64');
  return { pem: readFileSync(join(dir, 'c.pem'), 'utf8'), fingerprint: fingerprintLine.trim().split('=')[1]!, spki };
}

describe('client_certificate', () => {
  let dir: string;
  let cert: ReturnType<typeof makeCertificate>;
  let presented: ClientCertificateInput;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-ppl-cert-'));
    cert = makeCertificate(dir);
    presented = describeClientCertificate(new X509Certificate(cert.pem), true);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the certificate facts match what openssl computes', () => {
    assert.equal(presented.fingerprint, cert.fingerprint.replaceAll(':', '').toLowerCase());
    assert.equal(presented.spkiHash, cert.spki);
    assert.deepEqual(presented.sanDns, ['1.example.com', '2.example.com']);
    assert.deepEqual(presented.sanEmail, ['email-1@example.com', 'email-2@example.com']);
    assert.deepEqual(presented.sanUri, ['https://example.com/uri-1', 'https://example.com/uri-2']);
  });

  const OTHER = 'df6ff72fe9116521268f6f2dd4966f51df479883fe7037b39f75916ac3049d1a';
  const cases = (): ReadonlyArray<readonly [string, string, boolean, Verdict]> => {
    const short = cert.fingerprint.replaceAll(':', '').toLowerCase();
    return [
      ['no certificate', `{fingerprint: ${short}}`, false, NO],
      ['no fingerprint match', `{fingerprint: ${OTHER}}`, true, NO],
      ['fingerprint match', `{fingerprint: ${short}}`, true, OK],
      ['fingerprint match, openssl form', `{fingerprint: "${cert.fingerprint}"}`, true, OK],
      ['fingerprint list match', `{fingerprint: [${OTHER}, ${short}]}`, true, OK],
      ['spki hash match', `{spki_hash: "${cert.spki}"}`, true, OK],
      ['spki hash list match', `{spki_hash: ["NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A=", "${cert.spki}"]}`, true, OK],
      ['no email match', '{san_email: {is: not-present@example.com}}', true, NO],
      ['email match', '{san_email: {is: email-1@example.com}}', true, OK],
      ['no dns match', '{san_dns: {is: not-present.example.com}}', true, NO],
      ['dns match', '{san_dns: {is: 1.example.com}}', true, OK],
      ['dns match, second SAN', '{san_dns: 2.example.com}', true, OK],
      ['no uri match', '{san_uri: {is: "https://example.com/not-present"}}', true, NO],
      ['uri match', '{san_uri: {is: "https://example.com/uri-1"}}', true, OK],
      ['each operator may be met by a different SAN', '{san_dns: {starts_with: "1.", ends_with: "2.example.com"}}', true, OK],
      ['not_in holds only when no SAN is listed', '{san_dns: {not_in: [2.example.com]}}', true, NO],
      ['conditions are ANDed', `{san_dns: 1.example.com, fingerprint: ${OTHER}}`, true, NO],
      ['an empty matcher holds for any presented certificate', '{}', true, OK],
    ];
  };

  test('table', () => {
    for (const [name, data, present, allow] of cases()) {
      const r = evaluate(allowAnd(`client_certificate: ${data}`), { certificate: present ? presented : null });
      assert.deepEqual(r.allow, allow, name);
    }
  });

  test('validity against the CA is not its business', () => {
    const invalid = { ...presented, valid: false };
    assert.deepEqual(evaluate(allowAnd('client_certificate: {san_dns: 1.example.com}'), { certificate: invalid }).allow, OK);
  });
});

test('canonicalFingerprint accepts 64 lower-case hex digits or 32 colon-separated upper-case bytes', () => {
  const short = 'df6ff72fe9116521268f6f2dd4966f51df479883fe7037b39f75916ac3049d1a';
  assert.equal(canonicalFingerprint(short), short);
  assert.equal(canonicalFingerprint('DF:6F:F7:2F:E9:11:65:21:26:8F:6F:2D:D4:96:6F:51:DF:47:98:83:FE:70:37:B3:9F:75:91:6A:C3:04:9D:1A'), short);
  for (const bad of [
    'B1:E6:A2:DC:DD:6B:87:A4:9B:C5:7C:3B:7C:7F:1C:74:9A:DB:88:36', // SHA-1
    short.toUpperCase(),
    'df:6f:f7:2f:e9:11:65:21:26:8f:6f:2d:d4:96:6f:51:df:47:98:83:fe:70:37:b3:9f:75:91:6a:c3:04:9d:1a',
  ]) {
    assert.equal(canonicalFingerprint(bad), null, bad);
  }
});

const refusals: ReadonlyArray<readonly [string, RegExp]> = [
  ['"not a map"', /expected a map of certificate conditions, not a string/],
  ['{fingerprint: {}}', /certificate fingerprint expects a string or a list of strings, not a map/],
  ['{fingerprint: ""}', /certificate fingerprint must not be empty/],
  ['{fingerprint: "B1:E6:A2:DC:DD:6B:87:A4:9B:C5:7C:3B:7C:7F:1C:74:9A:DB:88:36"}', /unsupported certificate fingerprint format \(B1:E6/],
  ['{spki_hash: {}}', /certificate SPKI hash expects a string or a list of strings/],
  ['{spki_hash: "not%valid%base64%data"}', /must be a base64-encoded SHA-256 hash \(was not%valid%base64%data\)/],
  ['{spki_hash: "VYby3BAoHawLLtsyckwo5Q=="}', /must be a base64-encoded SHA-256 hash \(was VYby3BAoHawLLtsyckwo5Q==\)/],
  ['{subject: x}', /unsupported certificate matcher condition "subject"/],
  ['{san_dns: {in: x}}', /in matcher requires an array/],
];

for (const [data, message] of refusals) {
  test(`client_certificate refuses ${data}`, () => {
    assert.match(problemsOf(allowAnd(`client_certificate: ${data}`))[0]!, message);
  });
}
