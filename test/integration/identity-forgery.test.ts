// Forged, replayed and `alg: none` assertions are refused. An assertion the
// proxy really issued (captured at an upstream, after a real sign-in at the
// development IdP) is the starting point; the check is exactly the one an
// upstream makes (helpers/assertion-upstream.ts verifyAssertion: the JWKS
// fetched through the proxy, ES256, iss = aud = the route host, expiry).
// It must refuse a token signed by another key, an unsigned or HMAC one, a
// tampered one, one past its exp, and one minted for another route host.
// And Postern itself never takes an assertion as a credential, in any
// header: without a session the caller is asked to sign in, and a
// signed-in caller replaying someone else's assertion stays who they are.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPublicKey } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JSONWebKeySet, type JWTPayload } from 'jose';
import { Browser } from '../helpers/browser.js';
import { assertNothingOfOursUpstream, startWithDevIdp, type DevIdpSetup } from '../helpers/auth-proxy.js';
import { retryOnListenFailure } from '../helpers/listen-retry.js';
import { fetchJwks, verifyAssertion, type Verification } from '../helpers/assertion-upstream.js';
import { TEST_USERS } from '../helpers/idp.js';
import { request } from '../helpers/client.js';
import type { EchoReply } from '../helpers/upstreams.js';

const ALICE = TEST_USERS[0]!;
const BOB = TEST_USERS[1]!;
const IDS = 'ids.localhost';
const OTHER = 'other.localhost';
const EXAMPLE_COM = { allow: { or: [{ domain: { is: 'example.com' } }] } };

let s: DevIdpSetup;
let jwks: JSONWebKeySet;
/** Alice's assertion for IDS, as an upstream received it. */
let genuine: string;
let payload: JWTPayload;
let kid: string;
const browsers = new Map<string, Browser>();

before(async () => {
  s = await retryOnListenFailure(() =>
    startWithDevIdp({
      routes: [
        { name: 'ids', from: `http://${IDS}`, pass_identity_headers: true, policy: EXAMPLE_COM },
        { name: 'other', from: `http://${OTHER}`, pass_identity_headers: true, policy: EXAMPLE_COM },
      ],
    }),
  );
  for (const user of [ALICE, BOB]) {
    const b = new Browser();
    for (const host of [IDS, OTHER]) assert.equal((await b.signIn(s.px.url(host, '/'), user)).status, 200, `${user.username} on ${host}`);
    browsers.set(user.username, b);
  }
  genuine = await capture('alice', IDS);
  payload = decodeJwt(genuine);
  kid = decodeProtectedHeader(genuine).kid!;
  jwks = await fetchJwks(s.px.port, IDS);
});

after(async () => {
  await s?.close();
});

/** The assertion the upstream of `host` received for `user`'s request. */
async function capture(user: string, host: string, headers: Record<string, string> = {}): Promise<string> {
  const page = await browsers.get(user)!.fetch(s.px.url(host, '/capture'), { headers });
  assert.equal(page.status, 200, page.text());
  const token = page.json<EchoReply>().headers['x-pomerium-jwt-assertion'];
  assert.equal(typeof token, 'string');
  return token as string;
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function refused(v: Verification, code?: string): void {
  assert.ok(!v.ok, `the upstream accepted it: ${JSON.stringify(v)}`);
  if (code !== undefined) assert.equal(v.code, code, v.message);
}

describe('the upstream refuses assertions the proxy did not issue for it', () => {
  test('the genuine assertion verifies (the baseline every forgery starts from)', async () => {
    const v = await verifyAssertion(genuine, jwks, IDS);
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.payload.sub, 'alice');
  });

  test('(a) signed by another P-256 key, under our kid or its own', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const underOurKid = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid }).sign(privateKey);
    refused(await verifyAssertion(underOurKid, jwks, IDS), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    const ownKid = (await exportJWK(publicKey)).x!;
    const underItsKid = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: ownKid }).sign(privateKey);
    refused(await verifyAssertion(underItsKid, jwks, IDS), 'ERR_JWKS_NO_MATCHING_KEY');
  });

  test('(b) alg none: no signature, or the genuine signature kept', async () => {
    const [, body, signature] = genuine.split('.');
    for (const header of [{ alg: 'none', typ: 'JWT' }, { alg: 'none', typ: 'JWT', kid }, { alg: 'NONE', kid }]) {
      refused(await verifyAssertion(`${b64(header)}.${body}.`, jwks, IDS));
      refused(await verifyAssertion(`${b64(header)}.${body}.${signature}`, jwks, IDS));
    }
  });

  test('HS256 keyed with our public key (algorithm confusion) is refused', async () => {
    const jwk = jwks.keys.find((k) => k.kid === kid)!;
    const pem = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    for (const secret of [String(pem), JSON.stringify(jwk)]) {
      const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid }).sign(new TextEncoder().encode(secret));
      refused(await verifyAssertion(forged, jwks, IDS), 'ERR_JOSE_ALG_NOT_ALLOWED');
    }
  });

  test('a tampered payload under the genuine signature', async () => {
    const [header, , signature] = genuine.split('.');
    for (const change of [{ email: 'mallory@example.com' }, { groups: ['admins', 'staff', 'root'] }, { exp: payload.exp! + 3600 }, { aud: OTHER }]) {
      refused(await verifyAssertion(`${header}.${b64({ ...payload, ...change })}.${signature}`, jwks, IDS), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    }
  });

  test('(c) the genuine assertion replayed after its exp', async () => {
    refused(await verifyAssertion(genuine, jwks, IDS, new Date((payload.exp! + 1) * 1000)), 'ERR_JWT_EXPIRED');
    // Still good a moment before.
    assert.ok((await verifyAssertion(genuine, jwks, IDS, new Date((payload.exp! - 5) * 1000))).ok);
  });

  test('(d) a genuine assertion minted for another route host', async () => {
    const forOther = await capture('alice', OTHER);
    assert.ok((await verifyAssertion(forOther, jwks, OTHER)).ok, 'valid where it was meant to go');
    refused(await verifyAssertion(forOther, jwks, IDS), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    refused(await verifyAssertion(genuine, jwks, OTHER), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
  });
});

describe('Postern never accepts an assertion as a credential', () => {
  test('a valid assertion in any header, without a session: a browser is sent to sign in, an API client gets 401', async () => {
    const before = s.px.upstream.requests.length;
    const browserTry = await new Browser().navigate(s.px.url(IDS, '/x'), { follow: false, headers: { 'x-pomerium-jwt-assertion': genuine } });
    assert.equal(browserTry.status, 302);
    assert.ok(browserTry.headers.location?.startsWith(s.px.auth('/.pomerium/sign_in')), browserTry.headers.location);
    const forms: Record<string, string>[] = [
      { 'x-pomerium-jwt-assertion': genuine },
      { 'x-pomerium-jwt-assertion-for': genuine },
      { authorization: `Bearer ${genuine}` },
      { authorization: `Pomerium ${genuine}` },
      { authorization: `Bearer Pomerium-${genuine}` },
      { 'x-pomerium-authorization': genuine },
      { cookie: `_pomerium=${genuine}` },
    ];
    for (const headers of forms) {
      const res = await request(s.px.url(IDS, '/x'), { headers: { accept: 'application/json', ...headers } });
      assert.equal(res.status, 401, `${JSON.stringify(Object.keys(headers))}: ${res.status} ${res.text().slice(0, 200)}`);
      const line = await s.px.proxy.waitForLog((l) => l.msg === 'authorize check' && l['request-id'] === res.headers['x-request-id'], 3_000);
      assert.equal(line.user, '');
    }
    assert.equal(s.px.upstream.requests.length, before, 'nothing reached the upstream');
  });

  test("signed-in bob replaying alice's assertion is still bob; hers arrives only as -For", async () => {
    const page = await browsers.get('bob')!.fetch(s.px.url(IDS, '/x'), { headers: { 'x-pomerium-jwt-assertion': genuine } });
    assert.equal(page.status, 200);
    const h = page.json<EchoReply>().headers;
    const v = await verifyAssertion(h['x-pomerium-jwt-assertion'] as string, jwks, IDS);
    assert.ok(v.ok);
    assert.equal(v.payload.sub, 'bob');
    assert.equal(v.payload['email'], 'bob@example.com');
    assert.equal(h['x-pomerium-jwt-assertion-for'], genuine);
  });

  test('nothing of ours reached the upstream', () => {
    assertNothingOfOursUpstream(s.px.upstream, []);
  });
});
