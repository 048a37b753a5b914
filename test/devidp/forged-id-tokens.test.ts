// The test IdP's forgeries (test/helpers/idp.ts), which the authentication
// tests rely on to play a hostile provider: each must be exactly the broken
// token it claims to be, and nothing else.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { startTestIdp, type IdTokenForgery, type TestIdp } from '../helpers/idp.js';

const CLIENT = { clientId: 'postern', clientSecret: 'forgery-test-secret', redirectUris: ['https://authenticate.localhost/oauth2/callback'] };

let idp: TestIdp;
let jwks: JSONWebKeySet;
let endpoints: { authorization_endpoint: string; token_endpoint: string; jwks_uri: string };

before(async () => {
  idp = await startTestIdp({ clients: [CLIENT] });
  endpoints = (await (await fetch(idp.discoveryUrl)).json()) as typeof endpoints;
  jwks = (await (await fetch(endpoints.jwks_uri)).json()) as JSONWebKeySet;
});
after(() => idp.close());

/** Signs in as alice and returns the ID token of the code exchange, forged as asked. */
async function idTokenWith(forgery: IdTokenForgery | null): Promise<string> {
  idp.forgeIdTokens(forgery);
  try {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(endpoints.authorization_endpoint);
    for (const [k, v] of Object.entries({
      client_id: CLIENT.clientId, response_type: 'code', redirect_uri: CLIENT.redirectUris[0]!, scope: 'openid email profile', state: 's', nonce: 'n-123',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    })) url.searchParams.set(k, v);
    const code = new URL(await idp.login(url.href, 'alice', 'alice-password')).searchParams.get('code')!;
    const res = await fetch(endpoints.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]!, code_verifier: verifier }).toString(),
    });
    const body = (await res.json()) as { id_token: string };
    return body.id_token;
  } finally {
    idp.forgeIdTokens(null);
  }
}

const verify = (token: string, algorithms = ['RS256']) => jwtVerify(token, createLocalJWKSet(jwks), { issuer: idp.issuer, audience: CLIENT.clientId, algorithms });

test('without a forgery the ID token verifies against the provider’s JWKS', async () => {
  const { payload } = await verify(await idTokenWith(null));
  assert.equal(payload.nonce, 'n-123');
});

test('forged claims keep a valid provider signature, so only the claim checks can catch them', async () => {
  const token = await idTokenWith({ claims: (c) => ({ ...c, iss: 'https://evil.example', nonce: 'other', exp: 1 }) });
  await assert.rejects(verify(token), /unexpected "iss" claim value/);
  const { payload } = await compactVerify(token, createLocalJWKSet(jwks)).then((r) => ({ payload: JSON.parse(new TextDecoder().decode(r.payload)) as Record<string, unknown> }));
  assert.deepEqual([payload.iss, payload.nonce, payload.exp, payload.email], ['https://evil.example', 'other', 1, 'alice@example.com']);
});

test('a provider-key forgery may use another RSA algorithm, with a valid signature', async () => {
  const token = await idTokenWith({ signing: { with: 'provider-key', alg: 'PS256' } });
  assert.equal(decodeProtectedHeader(token).alg, 'PS256');
  await assert.rejects(verify(token), /alg/);
  const publicKey = createPublicKey({ key: jwks.keys[0] as import('node:crypto').JsonWebKey, format: 'jwk' });
  const { payload } = await jwtVerify(token, publicKey, { algorithms: ['PS256'] });
  assert.equal(payload.sub, 'alice');
});

test('a foreign-key forgery names the provider’s kid but its signature fails', async () => {
  const token = await idTokenWith({ signing: { with: 'foreign-key' } });
  assert.equal(decodeProtectedHeader(token).kid, jwks.keys[0]?.kid);
  await assert.rejects(verify(token), /signature verification failed/);
});

test('an HMAC forgery keyed by the provider’s public key verifies only for a verifier fooled into HS256', async () => {
  const token = await idTokenWith({ signing: { with: 'hmac-public-key' } });
  assert.equal(decodeProtectedHeader(token).alg, 'HS256');
  const pem = createPublicKey({ key: jwks.keys[0] as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const { payload } = await jwtVerify(token, new TextEncoder().encode(String(pem)), { algorithms: ['HS256'] });
  assert.equal(payload.sub, 'alice');
  await assert.rejects(verify(token));
});

test('an HMAC forgery keyed by the client secret, and an unsecured token, are what they say', async () => {
  const hmac = await idTokenWith({ signing: { with: 'hmac-client-secret' } });
  await jwtVerify(hmac, new TextEncoder().encode(CLIENT.clientSecret), { algorithms: ['HS256'] });
  const none = await idTokenWith({ signing: { with: 'none' } });
  assert.equal(decodeProtectedHeader(none).alg, 'none');
  assert.ok(none.endsWith('.'));
  assert.equal(decodeJwt(none).sub, 'alice');
  await assert.rejects(verify(none));
});
