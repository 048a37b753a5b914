// Which key signs X-Pomerium-Jwt-Assertion, as an upstream sees it through
// the proxy: with `signing_key` (EC P-256 PEMs made by openssl at test time,
// base64 of the PEM text as Pomerium documents it) the first key signs and
// every key is published under its hex thumbprint; with `signing_key_file`
// holding an RSA key the assertion is RS256; without either, the key is
// derived from shared_secret, so two proxies sharing the secret publish the
// same key and accept each other's assertions. Also here: the global
// pass_identity_headers with a route opting out, and jwt_claims_headers in
// its list form (x-pomerium-claim-<claim>).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { Browser } from '../helpers/browser.js';
import { assertNothingOfOursUpstream, startWithFakeIdp, type FakeIdpSetup } from '../helpers/auth-proxy.js';
import { retryOnListenFailure } from '../helpers/listen-retry.js';
import { fetchJwks, verifyAssertion } from '../helpers/assertion-upstream.js';
import { request } from '../helpers/client.js';
import { baseConfig, publicRoute, randomSecret, runCli, startPostern, writeTempFile, type Postern } from '../helpers/postern.js';
import { startEcho, type EchoReply, type Upstream } from '../helpers/upstreams.js';

const APP = 'app.localhost';
const QUIET = 'quiet.localhost';
const PUBLIC = 'open.localhost';
const URI = 'uri.localhost';

/** A private key made by openssl, PEM. */
function openssl(args: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'postern-key-'));
  try {
    const out = join(dir, 'key.pem');
    execFileSync('openssl', [...args, '-out', out], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pomerium's kid: hex SHA-256 of the RFC 7638 canonical public JWK. */
function kidOf(pem: string): string {
  const jwk = createPublicKey(pem).export({ format: 'jwk' }) as JWK;
  const canonical = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

async function assertionAt(proxy: Postern, host: string, headers: Record<string, string> = {}): Promise<EchoReply> {
  const res = await request(proxy.url(host, '/x'), { headers: { accept: 'application/json', ...headers } });
  assert.equal(res.status, 200, res.text());
  return res.json<EchoReply>();
}

describe('signing_key: two EC P-256 keys made by openssl', () => {
  let first: string;
  let second: string;
  let s: FakeIdpSetup;
  let browser: Browser;

  before(async () => {
    first = openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout']); // SEC1 "EC PRIVATE KEY"
    second = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']); // PKCS#8 "PRIVATE KEY"
    s = await retryOnListenFailure(() =>
      startWithFakeIdp({
        extra: {
          signing_key: Buffer.from(first + second).toString('base64'),
          pass_identity_headers: true,
          jwt_claims_headers: ['email', 'groups', 'department'],
        },
        routes: [
          { from: `http://${APP}`, allow_any_authenticated_user: true },
          { from: `http://${QUIET}`, allow_any_authenticated_user: true, pass_identity_headers: false },
          { from: `http://${URI}`, allow_any_authenticated_user: true, jwt_issuer_format: 'uri' },
        ],
      }),
    );
    browser = new Browser();
    for (const host of [APP, QUIET, URI]) assert.equal((await browser.navigate(s.px.url(host, '/'))).status, 200, host);
  });

  after(async () => {
    await s?.close();
  });

  async function echoed(host: string, headers: Record<string, string> = {}): Promise<EchoReply> {
    const page = await browser.fetch(s.px.url(host, '/x'), { headers });
    assert.equal(page.status, 200, page.text());
    return page.json<EchoReply>();
  }

  test('the JWKS publishes both keys, the signing key first, kid = hex thumbprint', async () => {
    const jwks = await fetchJwks(s.px.port, APP);
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      [kidOf(first), kidOf(second)],
    );
    for (const key of jwks.keys) {
      assert.equal(key.alg, 'ES256');
      assert.equal(key.d, undefined, 'no private part');
    }
  });

  test('the assertion is signed with the first key, and verifies with it alone', async () => {
    const token = (await echoed(APP)).headers['x-pomerium-jwt-assertion'] as string;
    assert.equal(decodeProtectedHeader(token).kid, kidOf(first));
    const jwks = await fetchJwks(s.px.port, APP);
    const v = await verifyAssertion(token, jwks, APP);
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.payload.sub, 'alice');
    await jwtVerify(token, createPublicKey(first), { algorithms: ['ES256'], issuer: APP, audience: APP });
    const onlySecond: JSONWebKeySet = { keys: jwks.keys.filter((k) => k.kid === kidOf(second)) };
    const w = await verifyAssertion(token, onlySecond, APP);
    assert.ok(!w.ok);
    const unlabelled: JSONWebKeySet = { keys: onlySecond.keys.map((k) => ({ ...k, kid: kidOf(first) })) };
    const x = await verifyAssertion(token, unlabelled, APP);
    assert.ok(!x.ok && x.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'the second key cannot verify it even under the first kid');
  });

  test('global pass_identity_headers applies to every route but one that turns it off', async () => {
    assert.equal(typeof (await echoed(APP)).headers['x-pomerium-jwt-assertion'], 'string');
    const quiet = (await echoed(QUIET)).headers;
    assert.equal(quiet['x-pomerium-jwt-assertion'], undefined);
    assert.equal(quiet['x-pomerium-claim-email'], undefined);
  });

  test('jwt_claims_headers in list form: x-pomerium-claim-<claim>, client copies replaced', async () => {
    const h = (await echoed(APP, { 'x-pomerium-claim-email': 'mallory@evil.example', 'x-pomerium-claim-department': 'all' })).headers;
    assert.equal(h['x-pomerium-claim-email'], 'alice@example.com');
    assert.equal(h['x-pomerium-claim-groups'], 'engineering,admins');
    assert.equal(h['x-pomerium-claim-department'], '', 'a claim the user does not have: present, empty');
    const quiet = (await echoed(QUIET, { 'x-pomerium-claim-email': 'mallory@evil.example' })).headers;
    assert.equal(quiet['x-pomerium-claim-email'], undefined, 'a client copy never arrives, passing or not');
  });
  test('jwt_issuer_format: uri makes iss https://<host>/; aud stays the host', async () => {
    const token = (await echoed(URI)).headers['x-pomerium-jwt-assertion'] as string;
    const jwks = await fetchJwks(s.px.port, URI);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ['ES256'], issuer: `https://${URI}/`, audience: URI });
    assert.equal(payload.sub, 'alice');
    assert.ok(!(await verifyAssertion(token, jwks, URI)).ok, 'an upstream expecting the bare host refuses it');
  });

  test("a service account's assertion names the account, and its token stays with the proxy", async () => {
    const created = await runCli(['service-account', 'create', '--name', 'robot', '--expires', '1h', '--config', s.px.proxy.configFile], 15_000);
    const token = created.stdout.split('\n').find((l) => l.includes('pst_sa_'))?.trim();
    assert.ok(created.code === 0 && token !== undefined, `service-account create: exit ${created.code}\n${created.stdout}\n${created.stderr}`);
    const res = await request(s.px.url(APP, '/x'), { headers: { accept: 'application/json', authorization: `Pomerium ${token}` } });
    assert.equal(res.status, 200, res.text());
    const echo = res.json<EchoReply>();
    const v = await verifyAssertion(echo.headers['x-pomerium-jwt-assertion'] as string, await fetchJwks(s.px.port, APP), APP);
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.payload.sub, 'sa:robot');
    assert.equal(v.payload['user'], 'sa:robot');
    assert.deepEqual(v.payload['groups'], []);
    assertNothingOfOursUpstream(s.px.upstream, [token, token.slice(token.lastIndexOf('_') + 1)]);
  });
});

describe('signing_key_file with an RSA key', () => {
  let proxy: Postern;
  let upstream: Upstream;
  let removeKey: () => void;
  let pem: string;

  before(async () => {
    pem = openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const keyFile = writeTempFile('signing.pem', pem);
    removeKey = keyFile.remove;
    upstream = await startEcho('rsa');
    proxy = await startPostern(baseConfig([publicRoute(`http://${PUBLIC}`, upstream.origin, { pass_identity_headers: true })], { signing_key_file: keyFile.file }));
  });

  after(async () => {
    await proxy?.stop();
    await upstream?.close();
    removeKey?.();
  });

  test('publishes an RS256 key and signs with it', async () => {
    const jwks = await fetchJwks(proxy.port, PUBLIC);
    assert.equal(jwks.keys.length, 1);
    const [key] = jwks.keys as [JWK];
    assert.equal(key.kty, 'RSA');
    assert.equal(key.alg, 'RS256');
    assert.equal(key.kid, kidOf(pem));
    assert.equal(key.d, undefined);
    const token = (await assertionAt(proxy, PUBLIC)).headers['x-pomerium-jwt-assertion'] as string;
    assert.equal(decodeProtectedHeader(token).alg, 'RS256');
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ['RS256'], issuer: PUBLIC, audience: PUBLIC });
    assert.equal(payload.exp! - payload.iat!, 300);
    // An upstream that pins ES256 refuses it: the algorithm follows the key.
    assert.ok(!(await verifyAssertion(token, jwks, PUBLIC)).ok);
  });
});

describe('a key derived from shared_secret', () => {
  const proxies: Postern[] = [];
  let upstream: Upstream;

  before(async () => {
    upstream = await startEcho('derived');
    const shared = randomSecret();
    const route = publicRoute(`http://${PUBLIC}`, upstream.origin, { pass_identity_headers: true });
    // Same shared_secret, different cookie_secret; then a stranger.
    for (const secret of [shared, shared, randomSecret()]) proxies.push(await startPostern(baseConfig([route], { shared_secret: secret })));
  });

  after(async () => {
    for (const p of proxies) await p.stop();
    await upstream?.close();
  });

  test('two proxies sharing the secret publish the same key; another secret, another key', async () => {
    const [a, b, c] = await Promise.all(proxies.map((p) => fetchJwks(p.port, PUBLIC)));
    assert.equal(a!.keys.length, 1);
    assert.deepEqual(b, a);
    assert.notEqual(c!.keys[0]!.kid, a!.keys[0]!.kid);
  });

  test("each accepts the other's assertion; the stranger's JWKS does not", async () => {
    const [pa, pb, pc] = proxies as [Postern, Postern, Postern];
    const fromA = (await assertionAt(pa, PUBLIC)).headers['x-pomerium-jwt-assertion'] as string;
    const fromB = (await assertionAt(pb, PUBLIC)).headers['x-pomerium-jwt-assertion'] as string;
    assert.ok((await verifyAssertion(fromA, await fetchJwks(pb.port, PUBLIC), PUBLIC)).ok);
    assert.ok((await verifyAssertion(fromB, await fetchJwks(pa.port, PUBLIC), PUBLIC)).ok);
    assert.equal(decodeProtectedHeader(fromA).kid, decodeProtectedHeader(fromB).kid);
    assert.ok(!(await verifyAssertion(fromA, await fetchJwks(pc.port, PUBLIC), PUBLIC)).ok);
  });
});
