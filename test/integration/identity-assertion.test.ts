// The signed identity an upstream receives, end to end: people sign in at a
// real OpenID provider (the development IdP), and an upstream written the
// way Pomerium's documentation says (fetch the route host's
// /.well-known/pomerium/jwks.json through the proxy, verify
// X-Pomerium-Jwt-Assertion with jose: ES256, iss = aud = the route host,
// not expired) accepts the assertion and reads who is calling. Beside it:
// the assertion only where pass_identity_headers asks for it; the
// jwt_claims_headers (map form) with the right values; client-sent copies of
// our identity headers never arriving (a client's assertion only as
// X-Pomerium-Jwt-Assertion-For); set_request_headers templates rendering
// Pomerium's lookups; and the /.well-known/pomerium documents.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { Browser, type Page } from '../helpers/browser.js';
import { APP_HOST, assertNothingOfOursUpstream, startWithDevIdp, type DevIdpSetup } from '../helpers/auth-proxy.js';
import { retryOnListenFailure } from '../helpers/listen-retry.js';
import { fetchJwks, getThroughProxy, startVerifyingUpstream, verifyAssertion, type VerifierReply } from '../helpers/assertion-upstream.js';
import { TEST_USERS } from '../helpers/idp.js';
import type { EchoReply, Upstream } from '../helpers/upstreams.js';

const ALICE = TEST_USERS[0]!;
const BOB = TEST_USERS[1]!;
const VERIFIED = 'who.localhost';
const IDS = 'ids.localhost';
const PLAIN = 'plain.localhost';
const TEMPLATES = 'tpl.localhost';
const EXAMPLE_COM = { allow: { or: [{ domain: { is: 'example.com' } }] } };

/** jwt_claims_headers, map form: standard claims, a non-standard one the provider sends, and one nobody has. */
const CLAIM_HEADERS = { 'X-Email': 'email', 'X-Groups': 'groups', 'X-User-Name': 'name', 'X-Email-Verified': 'email_verified', 'X-Department': 'department' };

let s: DevIdpSetup;
let verifier: Upstream;
const browsers = new Map<string, Browser>();

before(async () => {
  let proxyPort = 0;
  verifier = await startVerifyingUpstream({ host: VERIFIED, proxyPort: () => proxyPort });
  try {
    s = await retryOnListenFailure(() =>
      startWithDevIdp({
        extra: { jwt_claims_headers: CLAIM_HEADERS },
        routes: [
          { name: 'verified', from: `http://${VERIFIED}`, to: verifier.origin, pass_identity_headers: true, policy: EXAMPLE_COM },
          { name: 'ids', from: `http://${IDS}`, pass_identity_headers: true, policy: EXAMPLE_COM },
          { name: 'plain', from: `http://${PLAIN}`, policy: EXAMPLE_COM },
          {
            name: 'templates',
            from: `http://${TEMPLATES}`,
            policy: EXAMPLE_COM,
            set_request_headers: {
              'X-Jwt': '${pomerium.jwt}',
              'X-Id-Token': '${pomerium.id_token}',
              'X-Access-Token': 'Bearer ${pomerium.access_token}',
              'X-Echo-Tag': '${pomerium.request.headers["X-Client-Tag"]}',
              'X-Not-A-Lookup': '<${pomerium.email}>',
              'X-Literal': 'costs $$5',
            },
          },
        ],
      }),
    );
  } catch (err) {
    await verifier.close();
    throw err;
  }
  proxyPort = s.px.port;
  for (const user of [ALICE, BOB]) {
    const b = new Browser();
    for (const host of [VERIFIED, IDS, PLAIN, TEMPLATES]) {
      const page = await b.signIn(s.px.url(host, '/'), user);
      assert.equal(page.status, 200, `${user.username} on ${host}: ${page.status} at ${page.url}`);
    }
    browsers.set(user.username, b);
  }
});

after(async () => {
  await s?.close();
  await verifier?.close();
});

function get(user: string, host: string, path = '/x', headers: Record<string, string> = {}): Promise<Page> {
  return browsers.get(user)!.fetch(s.px.url(host, path), { headers });
}

function sessionIdOf(user: string, host: string): string {
  return browsers.get(user)!.jar.get('_pomerium', s.px.url(host, '/'))!.value.split('.')[1]!;
}

/** How many times `name` arrived (raw headers keep repeats). */
function count(reply: { rawHeaders: readonly string[] }, name: string): number {
  return reply.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;
}

/** A CORS preflight for a GET from another origin. */
function preflightThroughProxy(host: string, path: string): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const headers = { host: `${host}:${s.px.port}`, origin: 'http://elsewhere.localhost', 'access-control-request-method': 'GET' };
    const req = httpRequest({ host: '127.0.0.1', port: s.px.port, method: 'OPTIONS', path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('no answer to the preflight')));
    req.on('error', reject);
    req.end();
  });
}

function hexThumbprint(jwk: JWK): string {
  const canonical = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

describe('the upstream verifies X-Pomerium-Jwt-Assertion against the JWKS', () => {
  test("alice's assertion verifies (ES256, iss = aud = the route host) and says who she is", async () => {
    const startedAt = Math.floor(Date.now() / 1000);
    const page = await get('alice', VERIFIED, '/whoami');
    assert.equal(page.status, 200, `the upstream refused: ${page.text()}`);
    const { verification } = page.json<VerifierReply>();
    assert.ok(verification.ok);
    const { payload, header } = verification;
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'JWT');
    const jwks = await fetchJwks(s.px.port, VERIFIED);
    assert.ok(jwks.keys.some((k) => k.kid === header.kid), `kid ${header.kid} is published`);
    // The upstream found the keys where Pomerium's documentation says: through the proxy, on its own host.
    await s.px.proxy.waitForLog((l) => l.msg === 'http-request' && l['path'] === '/.well-known/pomerium/jwks.json' && String(l['authority']).startsWith(VERIFIED), 3_000);
    assert.equal(payload.iss, VERIFIED);
    assert.equal(payload.aud, VERIFIED, 'aud is a string, the host without port');
    assert.equal(payload.sub, 'alice');
    assert.equal(payload['user'], 'alice');
    assert.equal(payload['email'], 'alice@example.com');
    assert.deepEqual(payload['groups'], ['admins', 'staff']);
    assert.equal(payload['sid'], sessionIdOf('alice', VERIFIED));
    assert.equal(payload['name'], 'Alice Example');
    assert.match(String(payload.jti), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(payload.exp! - payload.iat!, 300, 'exp = iat + 5 min');
    assert.ok(payload.iat! >= startedAt - 60 && payload.iat! <= Math.ceil(Date.now() / 1000), `iat ${payload.iat} is about now`);
  });

  test("bob's assertion carries his groups, session and name", async () => {
    const page = await get('bob', VERIFIED);
    assert.equal(page.status, 200, page.text());
    const { verification } = page.json<VerifierReply>();
    assert.ok(verification.ok);
    assert.equal(verification.payload.sub, 'bob');
    assert.deepEqual(verification.payload['groups'], ['staff']);
    assert.equal(verification.payload['sid'], sessionIdOf('bob', VERIFIED));
    assert.notEqual(verification.payload['sid'], sessionIdOf('alice', VERIFIED));
    assert.equal(verification.payload['name'], 'Bob Example');
  });

  test('the claim headers carry the values of the verified claims (map form)', async () => {
    const page = await get('alice', VERIFIED);
    const reply = page.json<VerifierReply>();
    assert.ok(reply.verification.ok);
    const h = reply.headers;
    assert.equal(h['x-email'], 'alice@example.com');
    assert.equal(h['x-groups'], 'admins,staff');
    assert.equal(h['x-user-name'], 'Alice Example');
    assert.equal(h['x-email-verified'], 'true', 'a non-standard claim from the provider');
    assert.equal(reply.verification.payload['email_verified'], 'true', 'non-standard claims named in jwt_claims_headers join the assertion');
    assert.equal(h['x-department'], '', 'a claim nobody has still sends its header, empty');
    assert.equal(reply.verification.payload['department'], undefined);
  });

  test('one session on one host reuses its assertion; another host gets its own', async () => {
    const first = (await get('alice', IDS, '/1')).json<EchoReply>();
    const second = (await get('alice', IDS, '/2')).json<EchoReply>();
    const token = first.headers['x-pomerium-jwt-assertion'] as string;
    assert.equal(second.headers['x-pomerium-jwt-assertion'], token);
    const other = (await get('alice', VERIFIED)).json<VerifierReply>();
    assert.ok(other.verification.ok);
    assert.notEqual(other.headers['x-pomerium-jwt-assertion'], token);
    assert.equal(decodeJwt(token).aud, IDS);
  });
});

describe('which identity headers reach the upstream', () => {
  const FORGED: Record<string, string> = {
    'x-pomerium-jwt-assertion': 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.',
    'x-email': 'mallory@evil.example',
    'x-groups': 'root',
    'x-department': 'everything',
    'x-pomerium-claim-email': 'mallory@evil.example',
    'x-pomerium-claim-groups': 'root',
  };

  test('pass_identity_headers: ours replace every client-sent copy; the client assertion only as -For', async () => {
    const page = await get('alice', IDS, '/x', FORGED);
    assert.equal(page.status, 200);
    const echo = page.json<EchoReply>();
    const h = echo.headers;
    const jwks = await fetchJwks(s.px.port, IDS);
    const v = await verifyAssertion(h['x-pomerium-jwt-assertion'] as string, jwks, IDS);
    assert.ok(v.ok, `the upstream got our assertion, not the client's: ${JSON.stringify(v)}`);
    assert.equal(v.payload.sub, 'alice');
    assert.equal(count(echo, 'x-pomerium-jwt-assertion'), 1);
    assert.equal(h['x-pomerium-jwt-assertion-for'], FORGED['x-pomerium-jwt-assertion']);
    assert.equal(h['x-email'], 'alice@example.com');
    assert.equal(h['x-groups'], 'admins,staff');
    assert.equal(h['x-department'], '');
    for (const name of ['x-email', 'x-groups', 'x-department']) assert.equal(count(echo, name), 1, name);
    assert.equal(h['x-pomerium-claim-email'], undefined, 'x-pomerium-claim-* from a client never arrives');
    assert.equal(h['x-pomerium-claim-groups'], undefined);
  });

  test('a client-sent X-Pomerium-Jwt-Assertion-For is carried through as sent', async () => {
    const page = await get('alice', IDS, '/x', { 'x-pomerium-jwt-assertion-for': 'upstream-hop-token', 'x-pomerium-jwt-assertion': 'this-hop-token' });
    const h = page.json<EchoReply>().headers;
    assert.equal(h['x-pomerium-jwt-assertion-for'], 'upstream-hop-token');
    assert.notEqual(h['x-pomerium-jwt-assertion'], 'this-hop-token');
  });

  test('without pass_identity_headers: no assertion, no claim headers, and no client copies either', async () => {
    const page = await get('alice', PLAIN, '/x', { ...FORGED, 'x-pomerium-jwt-assertion-for': 'x' });
    assert.equal(page.status, 200);
    const h = page.json<EchoReply>().headers;
    for (const name of [...Object.keys(FORGED), 'x-pomerium-jwt-assertion-for', 'x-user-name', 'x-email-verified']) {
      assert.equal(h[name], undefined, `${name} reached the upstream`);
    }
  });

  test('the verifying upstream refuses a route that passes no identity', async () => {
    const jwks = await fetchJwks(s.px.port, PLAIN);
    const echo = (await get('alice', PLAIN)).json<EchoReply>();
    const v = await verifyAssertion(echo.headers['x-pomerium-jwt-assertion'] as string | undefined, jwks, PLAIN);
    assert.deepEqual(v.ok ? 'verified' : v.code, 'ABSENT');
  });
});

describe('set_request_headers templates', () => {
  let echo: EchoReply;
  before(async () => {
    const page = await get('alice', TEMPLATES, '/t', { 'x-client-tag': 'tag-42' });
    assert.equal(page.status, 200);
    echo = page.json<EchoReply>();
  });

  test('${pomerium.jwt} is the assertion for this host, signed though identity headers are off', async () => {
    assert.equal(echo.headers['x-pomerium-jwt-assertion'], undefined);
    const v = await verifyAssertion(echo.headers['x-jwt'] as string, await fetchJwks(s.px.port, TEMPLATES), TEMPLATES);
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.payload.sub, 'alice');
    assert.equal(v.payload['sid'], sessionIdOf('alice', TEMPLATES));
  });

  test("${pomerium.id_token} is the provider's ID token for this session (verified at the provider's JWKS)", async () => {
    const idToken = echo.headers['x-id-token'] as string;
    const discovery = (await (await fetch(s.idp.discoveryUrl)).json()) as { jwks_uri: string };
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(jwks), { issuer: s.idp.issuer, audience: s.client.clientId });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload['email'], 'alice@example.com');
  });

  test("${pomerium.access_token} is the provider's access token (its UserInfo endpoint accepts it)", async () => {
    const value = echo.headers['x-access-token'] as string;
    assert.ok(value.startsWith('Bearer ') && value.length > 'Bearer '.length + 16, value);
    const discovery = (await (await fetch(s.idp.discoveryUrl)).json()) as { userinfo_endpoint: string };
    const res = await fetch(discovery.userinfo_endpoint, { headers: { authorization: value } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { sub: string }).sub, 'alice');
  });

  test('${pomerium.request.headers["X"]} is the client header; ${pomerium.email} is no lookup and renders empty; $$ is $', () => {
    assert.equal(echo.headers['x-echo-tag'], 'tag-42');
    assert.equal(echo.headers['x-not-a-lookup'], '<>');
    assert.equal(echo.headers['x-literal'], 'costs $5');
  });
});

describe('/.well-known/pomerium', () => {
  test('the discovery document names this host and the authenticate callback', async () => {
    const authority = `${VERIFIED}:${s.px.port}`;
    for (const path of ['/.well-known/pomerium', '/.well-known/pomerium/']) {
      const res = await getThroughProxy(s.px.port, VERIFIED, path, { origin: 'http://elsewhere.localhost' });
      assert.equal(res.status, 200, path);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.deepEqual(JSON.parse(res.body), {
        issuer: `https://${authority}/`,
        authentication_callback_endpoint: s.px.auth('/oauth2/callback'),
        jwks_uri: `https://${authority}/.well-known/pomerium/jwks.json`,
        frontchannel_logout_uri: `https://${authority}/.pomerium/sign_out`,
      });
    }
  });

  test('jwks.json: public P-256 keys only, kid = hex thumbprint, cacheable for 60 s, ETag, CORS', async () => {
    const res = await getThroughProxy(s.px.port, VERIFIED, '/.well-known/pomerium/jwks.json', { origin: 'http://elsewhere.localhost' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.headers['cache-control'], 'max-age=60');
    assert.match(String(res.headers['etag']), /^"[0-9a-f]+"$/);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    const { keys } = JSON.parse(res.body) as JSONWebKeySet;
    assert.ok(keys.length >= 1);
    for (const key of keys) {
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(key[secret as keyof JWK], undefined, `the JWKS publishes ${secret}`);
      assert.equal(key.kty, 'EC');
      assert.equal(key.crv, 'P-256');
      assert.equal(key.alg, 'ES256');
      assert.equal(key.use, 'sig');
      assert.equal(key.kid, hexThumbprint(key));
    }
    const again = await getThroughProxy(s.px.port, VERIFIED, '/.well-known/pomerium/jwks.json', { 'if-none-match': String(res.headers['etag']) });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    const preflight = await preflightThroughProxy(VERIFIED, '/.well-known/pomerium/jwks.json');
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    assert.equal(preflight.headers['access-control-allow-methods'], 'GET');
  });

  test('the same keys on every host, the authenticate host included, without a session', async () => {
    const bodies = await Promise.all(
      [VERIFIED, PLAIN, APP_HOST, 'authenticate.localhost', 'nowhere.localhost'].map(async (host) => {
        const res = await getThroughProxy(s.px.port, host, '/.well-known/pomerium/jwks.json');
        assert.equal(res.status, 200, host);
        return res.body;
      }),
    );
    for (const body of bodies) assert.equal(body, bodies[0]);
  });

  test('nothing of ours reached an upstream but the tokens the templates asked for', () => {
    assertNothingOfOursUpstream(s.px.upstream, []);
    assertNothingOfOursUpstream(verifier, []);
  });
});
