import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { deriveSigningKey, parseSigningKeys, type SigningKey } from '../../src/identity/signing-keys.js';
import { jwksResponse, publishJwks, wellKnownPomeriumResponse, type EndpointResponse } from '../../src/identity/well-known.js';

function header(res: EndpointResponse, name: string): string | undefined {
  for (let i = 0; i < res.headers.length; i += 2) if (res.headers[i] === name) return res.headers[i + 1];
  return undefined;
}

/** Go's hash/fnv New64 (FNV-1), written out independently of the implementation. */
function fnv1(bytes: Buffer): bigint {
  let h = 14695981039346656037n;
  for (const b of bytes) h = BigInt.asUintN(64, h * 1099511628211n) ^ BigInt(b);
  return h;
}

const ecKey = deriveSigningKey(Buffer.alloc(32, 5));
const rsaParsed = parseSigningKeys(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }) as string);
const rsaKey = (rsaParsed.ok ? rsaParsed.keys[0] : assert.fail('rsa key')) as SigningKey;

describe('/.well-known/pomerium/jwks.json', () => {
  const jwks = publishJwks([ecKey, rsaKey]);

  it('publishes every key, public members only, as go-jose writes them (TestJWKSHandler "keys")', () => {
    const res = jwksResponse(jwks, 'GET', []);
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as { keys: Record<string, string>[] };
    assert.deepEqual(body.keys[0], { use: 'sig', kty: 'EC', kid: ecKey.kid, crv: 'P-256', alg: 'ES256', x: ecKey.jwk.x, y: ecKey.jwk.y });
    assert.deepEqual(Object.keys(body.keys[1]!), ['use', 'kty', 'kid', 'alg', 'n', 'e']);
    for (const k of body.keys) for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(secret in k, false);
  });

  it('is cacheable for a minute, with an FNV-64 ETag, JSON and CORS allow-all', () => {
    const res = jwksResponse(jwks, 'GET', ['origin', 'https://app.example.com']);
    assert.equal(header(res, 'cache-control'), 'max-age=60');
    assert.equal(header(res, 'content-type'), 'application/json');
    assert.equal(header(res, 'etag'), `"${fnv1(Buffer.from(res.body)).toString(16)}"`);
    assert.equal(header(res, 'access-control-allow-origin'), '*');
  });

  it('answers a matching If-None-Match with 304 and no body', () => {
    for (const inm of [jwks.etag, `"x", ${jwks.etag}`, `W/${jwks.etag}`, '*']) {
      const res = jwksResponse(jwks, 'GET', ['if-none-match', inm]);
      assert.equal(res.status, 304, inm);
      assert.equal(res.body, '');
      assert.equal(header(res, 'etag'), jwks.etag);
    }
    assert.equal(jwksResponse(jwks, 'GET', ['if-none-match', '"other"']).status, 200);
  });

  it('answers a CORS preflight with 204 (TestJWKSHandler "cors")', () => {
    const res = jwksResponse(jwks, 'OPTIONS', ['origin', 'https://www.example.com', 'access-control-request-method', 'GET']);
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assert.equal(header(res, 'access-control-allow-origin'), '*');
    assert.equal(header(res, 'access-control-allow-methods'), 'GET');
  });

  it('changes ETag when the keys change', () => {
    assert.notEqual(publishJwks([ecKey]).etag, jwks.etag);
  });
});

describe('/.well-known/pomerium', () => {
  it('links the issuer, callback, JWKS and sign-out on the requested authority (TestWellKnownPomeriumHandler "links")', () => {
    const res = wellKnownPomeriumResponse('route.example.com', new URL('https://authenticate.example.com'), 'GET', []);
    assert.equal(res.status, 200);
    assert.equal(header(res, 'content-type'), 'application/json');
    assert.deepEqual(JSON.parse(res.body), {
      issuer: 'https://route.example.com/',
      authentication_callback_endpoint: 'https://authenticate.example.com/oauth2/callback',
      frontchannel_logout_uri: 'https://route.example.com/.pomerium/sign_out',
      jwks_uri: 'https://route.example.com/.well-known/pomerium/jwks.json',
    });
    assert.ok(res.body.endsWith('}\n'));
  });

  it('keeps a port the client named, and leaves the callback empty without an authenticate service', () => {
    const body = JSON.parse(wellKnownPomeriumResponse('route.example.com:8443', null, 'GET', []).body) as Record<string, string>;
    assert.equal(body.jwks_uri, 'https://route.example.com:8443/.well-known/pomerium/jwks.json');
    assert.equal(body.authentication_callback_endpoint, '');
  });

  it('answers a CORS preflight with 204 (TestWellKnownPomeriumHandler "cors")', () => {
    const res = wellKnownPomeriumResponse('route.example.com', null, 'OPTIONS', [
      'origin',
      'https://authenticate.example.com',
      'access-control-request-method',
      'GET',
      'access-control-request-headers',
      'x-requested-with',
    ]);
    assert.equal(res.status, 204);
    assert.equal(header(res, 'access-control-allow-headers'), 'x-requested-with');
  });

  it('allows no origin in a preflight without Origin, nor for a method outside the CORS set', () => {
    assert.equal(header(wellKnownPomeriumResponse('h', null, 'OPTIONS', ['access-control-request-method', 'GET']), 'access-control-allow-origin'), undefined);
    const trace = wellKnownPomeriumResponse('h', null, 'OPTIONS', ['origin', 'https://o', 'access-control-request-method', 'TRACE']);
    assert.equal(trace.status, 204);
    assert.equal(header(trace, 'access-control-allow-methods'), undefined);
  });
});
