import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parseSigningKeys } from '../../src/identity/signing-keys.js';
import { b64, base, Fixture, problemFor } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const ROUTE = 'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n';

function ecPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' }) as string;
}

function kidOf(pem: string): string {
  const parsed = parseSigningKeys(pem);
  return parsed.ok ? parsed.keys[0]!.kid : assert.fail(parsed.error);
}

test('without signing_key the assertion key is derived from shared_secret (no key in the config)', () => {
  const { config, warnings } = fx.load(`${base()}${ROUTE}`);
  assert.deepEqual(config.signingKeys, []);
  assert.equal(warnings.some((w) => w.key.startsWith('signing_key')), false);
  assert.deepEqual(fx.load(`${base()}signing_key: ""\n${ROUTE}`).config.signingKeys, []);
});

test('signing_key takes base64 PEM or raw PEM, several blocks in order; signing_key_file reads a file', () => {
  const one = ecPem();
  const two = ecPem();
  const { config } = fx.load(`${base()}signing_key: ${b64(one + two)}\n${ROUTE}`);
  assert.deepEqual(config.signingKeys.map(kidOf), [kidOf(one), kidOf(two)]);
  const raw = fx.load(`${base()}signing_key: |\n${one.replace(/^/gm, '  ')}\n${ROUTE}`).config;
  assert.deepEqual(raw.signingKeys.map(kidOf), [kidOf(one)]);
  const file = fx.write('signing.pem', `${two}\n`);
  assert.deepEqual(fx.load(`${base()}signing_key_file: ${file}\n${ROUTE}`).config.signingKeys.map(kidOf), [kidOf(two)]);
});

test('SIGNING_KEY from the environment overrides the file', () => {
  const pem = ecPem();
  const { config } = fx.load(`${base()}signing_key: ${b64(ecPem())}\n${ROUTE}`, { SIGNING_KEY: b64(pem) });
  assert.deepEqual(config.signingKeys.map(kidOf), [kidOf(pem)]);
});

test('a signing key that cannot sign an assertion stops start-up, naming key and line but not the value', () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const cases: [string, string, number, RegExp][] = [
    [`signing_key: ${b64(p384)}\n`, 'signing_key', 4, /P-256 curve/],
    ['signing_key: bm90IGEga2V5\n', 'signing_key', 4, /no PEM private key found/],
    [`signing_key_file: ${fx.write('empty.pem', '\n')}\n`, 'signing_key_file', 4, /the file is empty/],
    [`signing_key_file: ${fx.dir}/absent.pem\n`, 'signing_key_file', 4, /cannot read/],
    [`signing_key: ${b64(ecPem())}\nsigning_key_file: ${fx.write('k.pem', ecPem())}\n`, 'signing_key_file', 5, /set either signing_key or signing_key_file, not both/],
  ];
  for (const [body, key, line, message] of cases) {
    const p = problemFor(fx.problems(`${base()}${body}${ROUTE}`), key);
    assert.match(p.message, message, body);
    assert.equal(p.line, line, body);
  }
});

test('jwt_claims_headers: map form keeps header names, list and string forms use x-pomerium-claim-<claim>', () => {
  const map = fx.load(`${base()}jwt_claims_headers:\n  X-Email: email\n  X-Groups: groups\n${ROUTE}`).config.jwtClaimsHeaders;
  assert.deepEqual(map, [
    { name: 'X-Email', lname: 'x-email', claim: 'email' },
    { name: 'X-Groups', lname: 'x-groups', claim: 'groups' },
  ]);
  const expected = [
    { name: 'x-pomerium-claim-email', lname: 'x-pomerium-claim-email', claim: 'email' },
    { name: 'x-pomerium-claim-CUSTOM_KEY', lname: 'x-pomerium-claim-custom_key', claim: 'CUSTOM_KEY' },
  ];
  assert.deepEqual(fx.load(`${base()}jwt_claims_headers: [email, CUSTOM_KEY]\n${ROUTE}`).config.jwtClaimsHeaders, expected);
  assert.deepEqual(fx.load(`${base()}jwt_claims_headers: "email, CUSTOM_KEY"\n${ROUTE}`).config.jwtClaimsHeaders, expected);
  assert.deepEqual(fx.load(`${base()}${ROUTE}`, { JWT_CLAIMS_HEADERS: 'email CUSTOM_KEY' }).config.jwtClaimsHeaders, expected);
  assert.deepEqual(fx.load(`${base()}${ROUTE}`, { JWT_CLAIMS_HEADERS: '{"X-Email":"email"}' }).config.jwtClaimsHeaders, [map[0]]);
  assert.deepEqual(fx.load(`${base()}${ROUTE}`).config.jwtClaimsHeaders, []);
});

test('jwt_claims_headers refuses header names that are not tokens, frame the request, or repeat', () => {
  const cases: [string, string, RegExp][] = [
    ['jwt_claims_headers: ["https://example.com/role"]\n', 'jwt_claims_headers[0]', /not a valid header name.*use the map form/],
    ['jwt_claims_headers:\n  Host: email\n', 'jwt_claims_headers.Host', /frames the request/],
    ['jwt_claims_headers:\n  X-Pomerium-Jwt-Assertion: email\n', 'jwt_claims_headers.X-Pomerium-Jwt-Assertion', /sets x-pomerium-jwt-assertion itself/],
    ['jwt_claims_headers:\n  X-Email: ""\n', 'jwt_claims_headers.X-Email', /must name a claim/],
    ['jwt_claims_headers: [email, email]\n', 'jwt_claims_headers[1]', /set more than once/],
    ['jwt_claims_headers:\n  X-A: a\n  x-a: b\n', 'jwt_claims_headers.x-a', /set more than once/],
  ];
  for (const [body, key, message] of cases) assert.match(problemFor(fx.problems(`${base()}${body}${ROUTE}`), key).message, message, body);
});

test('jwt_issuer_format decodes like Pomerium enums (hostOnly, uri, IssuerURI, any case), globally and per route', () => {
  assert.equal(fx.load(`${base()}${ROUTE}`).config.jwtIssuerFormat, 'hostOnly');
  for (const [text, expected] of [
    ['uri', 'uri'],
    ['URI', 'uri'],
    ['IssuerURI', 'uri'],
    ['hostOnly', 'hostOnly'],
    ['HOSTONLY', 'hostOnly'],
    ['IssuerHostOnly', 'hostOnly'],
    ['""', 'hostOnly'],
  ] as const) {
    assert.equal(fx.load(`${base()}jwt_issuer_format: ${text}\n${ROUTE}`).config.jwtIssuerFormat, expected, text);
  }
  const routes = fx.load(`${base()}${ROUTE}    jwt_issuer_format: uri\n  - from: https://b.example.com\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n`).config.routes;
  assert.deepEqual(
    routes.map((r) => r.jwtIssuerFormat),
    ['uri', null],
  );
  assert.match(problemFor(fx.problems(`${base()}jwt_issuer_format: full\n${ROUTE}`), 'jwt_issuer_format').message, /unknown issuer format "full" \(hostOnly or uri\)/);
  assert.match(problemFor(fx.problems(`${base()}${ROUTE}    jwt_issuer_format: url\n`), 'routes[0].jwt_issuer_format').message, /unknown issuer format/);
});

test('the identity keys no longer warn as unimplemented', () => {
  const warnings = fx.warnings(`${base()}jwt_claims_headers: [email]\njwt_issuer_format: uri\n${ROUTE}    jwt_issuer_format: hostOnly\n`);
  assert.deepEqual(
    warnings.filter((w) => /jwt_/.test(w.key)),
    [],
  );
});
