import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodePath, describeClientCertificate, flattenClaims, groupsOverage, policyIdentity, policyInput } from '../../src/authorize/input.js';
import type { ProxyRequest } from '../../src/proxy/request.js';

test('claims are flattened as Pomerium stores them: nested maps to dotted names, every value a list', () => {
  const flat = flattenClaims({ sub: 'u', groups: ['a', 'b'], address: { country: 'NL', geo: { lat: 52 } }, verified: true, gone: null, empty: {} });
  assert.deepEqual({ ...flat }, {
    sub: ['u'],
    groups: ['a', 'b'],
    'address.country': ['NL'],
    'address.geo.lat': [52],
    verified: [true],
    gone: [null],
  });
});

test('flattened claims have only the token’s names: no prototype to reach through', () => {
  assert.equal(flattenClaims({ a: 1 }).constructor, undefined);
  assert.equal(flattenClaims({ a: 1 }).toString, undefined);
  assert.deepEqual(flattenClaims(JSON.parse('{"__proto__": "x"}') as Record<string, unknown>).__proto__, ['x']);
});

test('flattening is done once per claims object', () => {
  const claims = { a: { b: 1 } };
  assert.equal(flattenClaims(claims), flattenClaims(claims));
});

test('group overage: Azure’s _claim_names.groups or hasgroups, without a groups claim', () => {
  const cases: ReadonlyArray<readonly [Record<string, unknown>, boolean]> = [
    [{ _claim_names: { groups: 'src1' }, _claim_sources: { src1: {} } }, true],
    [{ hasgroups: true }, true],
    [{ hasgroups: 'true' }, true],
    [{ groups: ['a'], hasgroups: true }, false],
    [{ groups: [] }, false],
    [{ _claim_names: { roles: 'src1' } }, false],
    [{}, false],
  ];
  for (const [claims, overage] of cases) assert.equal(groupsOverage(claims), overage, JSON.stringify(claims));
});

test('policyIdentity: groups are null (unknown) on overage, else the identity’s', () => {
  const base = { kind: 'session' as const, sessionId: 's', userId: 'u', email: 'e@x' };
  assert.equal(policyIdentity({ ...base, groups: [], claims: { hasgroups: true } }).groups, null);
  assert.deepEqual(policyIdentity({ ...base, groups: ['a'], claims: { groups: ['a'] } }).groups, ['a']);
});

test('decodePath decodes every escape as UTF-8 and leaves the rest', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['/plain', '/plain'],
    ['/a%20b', '/a b'],
    ['/caf%C3%A9', '/café'],
    ['/%E2%82%AC/x', '/€/x'],
    ['/100%25', '/100%'],
    ['/%FF', '/\uFFFD'],
    ['/%zz', '/%zz'],
    ['/%4', '/%4'],
  ];
  for (const [raw, want] of cases) assert.equal(decodePath(raw), want, raw);
});

test('property: decodePath undoes encodeURIComponent', () => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => assert.equal(decodePath('/' + encodeURIComponent(s)), '/' + s)));
});

test('policyInput takes the normalised request, decodes its path, and the client address given', () => {
  const req: ProxyRequest = {
    method: 'GET', path: '/a%20b', query: 'x=1', host: 'app.example.com', port: null,
    headers: ['host', 'app.example.com'], remoteAddress: '10.0.0.1', secure: true, requestId: 'r',
  };
  const now = new Date(0);
  const i = policyInput(req, null, '203.0.113.5', now);
  assert.deepEqual(i, {
    request: { method: 'GET', path: '/a b', headers: ['host', 'app.example.com'], host: 'app.example.com', ip: '203.0.113.5' },
    identity: null,
    clientCertificate: null,
    now,
  });
});

test('describeClientCertificate reads SANs whose values Node quotes (commas inside)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-san-'));
  try {
    writeFileSync(join(dir, 'san.cnf'), '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=@alt\n[alt]\nURI.1=https://example.com/a,b\nDNS.1=x.example.com\nemail.1=q,r@example.com\n');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=x', '-config', 'san.cnf', '-extensions', 'ext'], { cwd: dir, stdio: 'ignore' });
    const facts = describeClientCertificate(new X509Certificate(readFileSync(join(dir, 'c.pem'))), false);
    assert.deepEqual([facts.sanUri, facts.sanDns, facts.sanEmail, facts.presented, facts.valid], [['https://example.com/a,b'], ['x.example.com'], ['q,r@example.com'], true, false]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
