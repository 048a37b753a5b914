// X-Pomerium-Jwt-Assertion as an upstream sees it: verified with jose (an
// independent implementation) against the JWKS Postern publishes, exactly
// as Pomerium's docs tell an application to verify it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { AssertionSigner, REFRESH_BEFORE_EXPIRY_MS } from '../../src/identity/assertion.js';
import { claimHeadersFromList } from '../../src/identity/claim-headers.js';
import { deriveSigningKey, parseSigningKeys, type SigningKey } from '../../src/identity/signing-keys.js';
import { publishJwks } from '../../src/identity/well-known.js';
import type { JwtIssuerFormat } from '../../src/config/types.js';
import { makeRoute } from '../helpers/route.js';
import { headerOf, payloadOf, serviceAccountIdentity, sessionIdentity } from './support.js';

const NOW = 1_700_000_000_250;
const HOST = 'app.example.com';
const route = makeRoute({ from: `https://${HOST}` });
const esKey = deriveSigningKey(Buffer.alloc(32, 1));

function keysOf(pem: string): SigningKey[] {
  const parsed = parseSigningKeys(pem);
  if (!parsed.ok) return assert.fail(parsed.error);
  return parsed.keys;
}

const rsaKey = keysOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)[0]!;

/** The upstream's JWKS, fetched from jwks.json. */
function upstreamKeys(keys: readonly SigningKey[]): JWTVerifyGetKey {
  return createLocalJWKSet(JSON.parse(publishJwks(keys).body));
}

/** What Pomerium's docs ask of an upstream: signature by a published key, aud = iss = its host, exp. */
async function upstreamVerifies(token: string, keys: readonly SigningKey[], host = HOST, nowMs = NOW): Promise<Record<string, unknown>> {
  const { payload } = await jwtVerify(token, upstreamKeys(keys), {
    issuer: host,
    audience: host,
    algorithms: ['ES256', 'RS256'],
    requiredClaims: ['exp', 'iat'],
    currentDate: new Date(nowMs),
  });
  return payload as Record<string, unknown>;
}

async function upstreamRefusal(token: string, keys: readonly SigningKey[], host = HOST, nowMs = NOW): Promise<string> {
  try {
    await upstreamVerifies(token, keys, host, nowMs);
  } catch (err) {
    return (err as { code: string }).code;
  }
  return assert.fail('the upstream accepted the assertion');
}

function signer(keys: readonly SigningKey[] = [esKey], opts: { issuerFormat?: JwtIssuerFormat; maxSessions?: number; claims?: string[] } = {}): AssertionSigner {
  return new AssertionSigner(keys, {
    claimHeaders: claimHeadersFromList(opts.claims ?? []),
    issuerFormat: opts.issuerFormat ?? 'hostOnly',
    maxSessions: opts.maxSessions,
  });
}

describe('an upstream verifying the assertion with jose against the published JWKS', () => {
  it('accepts an ES256 assertion: aud = iss = its host, exp = iat + 5 min, header {alg, kid, typ: JWT}', async () => {
    const token = signer().assertionFor(sessionIdentity({ userId: 'u2', email: 'ada@example.com' }), route, HOST, NOW).token;
    const payload = await upstreamVerifies(token, [esKey]);
    assert.equal(payload.sub, 'u2');
    assert.equal(payload.email, 'ada@example.com');
    assert.equal(payload.exp, (payload.iat as number) + 300);
    assert.equal(payload.iat, Math.floor(NOW / 1000));
    assert.deepEqual(headerOf(token), { alg: 'ES256', kid: esKey.kid, typ: 'JWT' });
    assert.match(payload.jti as string, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('accepts an RS256 assertion signed with an RSA signing_key', async () => {
    const token = signer([rsaKey]).assertionFor(sessionIdentity(), route, HOST, NOW).token;
    assert.equal(headerOf(token).alg, 'RS256');
    assert.equal((await upstreamVerifies(token, [rsaKey])).aud, HOST);
  });

  it('accepts assertions of the first key while every configured key is published (rotation)', async () => {
    const keys = [esKey, rsaKey];
    const token = signer(keys).assertionFor(sessionIdentity(), route, HOST, NOW).token;
    assert.equal(headerOf(token).kid, esKey.kid);
    await upstreamVerifies(token, keys);
    // After rotation the old key is still published, so assertions in flight stay valid.
    await upstreamVerifies(signer([rsaKey]).assertionFor(sessionIdentity(), route, HOST, NOW).token, [rsaKey, esKey]);
  });

  it('refuses an assertion forged with another key, whether it names our kid or its own', async () => {
    const other = deriveSigningKey(Buffer.alloc(32, 2));
    const forged = signer([other]).assertionFor(sessionIdentity(), route, HOST, NOW).token;
    assert.equal(await upstreamRefusal(forged, [esKey]), 'ERR_JWKS_NO_MATCHING_KEY');
    const [, payload] = forged.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: esKey.kid, typ: 'JWT' })).toString('base64url');
    const input = `${header}.${payload}`;
    const signature = sign('sha256', Buffer.from(input), { key: other.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    assert.equal(await upstreamRefusal(`${input}.${signature}`, [esKey]), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses a tampered assertion (claims changed, signature kept)', async () => {
    const token = signer().assertionFor(sessionIdentity({ email: 'ada@example.com' }), route, HOST, NOW).token;
    const [header, , signature] = token.split('.');
    const payload = { ...payloadOf(token), email: 'admin@example.com' };
    const tampered = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
    assert.equal(await upstreamRefusal(tampered, [esKey]), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses alg: none and an HS256 token keyed with the public key', async () => {
    const payload = payloadOf(signer().assertionFor(sessionIdentity(), route, HOST, NOW).token);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid: esKey.kid, typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;
    assert.match(await upstreamRefusal(unsigned, [esKey]), /^ERR_JOSE_ALG_NOT_ALLOWED$|^ERR_JWS_INVALID$/);
    const confused = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: esKey.kid, typ: 'JWT' })
      .sign(Buffer.from(JSON.stringify(esKey.jwk)));
    assert.equal(await upstreamRefusal(confused, [esKey]), 'ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses an expired assertion (a replay after its 5 minutes) and one minted for another host', async () => {
    const token = signer().assertionFor(sessionIdentity(), route, HOST, NOW).token;
    assert.equal(await upstreamRefusal(token, [esKey], HOST, NOW + 301_000), 'ERR_JWT_EXPIRED');
    assert.equal(await upstreamRefusal(token, [esKey], 'other.example.com'), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
  });
});

describe('any identity', () => {
  it('signs exactly what the identity says, under a signature the published key verifies', () => {
    const publicKey = createPublicKey({ key: esKey.jwk as never, format: 'jwk' });
    fc.assert(
      fc.property(
        fc.record({ sessionId: fc.string({ minLength: 1 }), userId: fc.string(), email: fc.string(), groups: fc.array(fc.string()), version: fc.nat() }),
        fc.domain(),
        (who, host) => {
          const token = signer().assertionFor(sessionIdentity(who), route, host, NOW).token;
          const [header, payload, signature] = token.split('.') as [string, string, string];
          assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url')));
          const claims = payloadOf(token);
          assert.deepEqual([claims.sid, claims.sub, claims.user, claims.email, claims.groups, claims.aud, claims.iss], [who.sessionId, who.userId, who.userId, who.email, who.groups, host, host]);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('AssertionSigner caching', () => {
  it('reuses one token per session and host until a minute before it expires', () => {
    const s = signer();
    const identity = sessionIdentity();
    const first = s.assertionFor(identity, route, HOST, NOW);
    const refreshAt = (Math.floor(NOW / 1000) + 300) * 1000 - REFRESH_BEFORE_EXPIRY_MS;
    // Identity objects are rebuilt per request: equal content is enough.
    assert.equal(s.assertionFor(sessionIdentity(), route, HOST, refreshAt - 1), first);
    const second = s.assertionFor(sessionIdentity(), route, HOST, refreshAt);
    assert.notEqual(second.token, first.token);
    assert.notEqual(payloadOf(second.token).jti, payloadOf(first.token).jti);
    assert.equal(payloadOf(second.token).iat, Math.floor(refreshAt / 1000));
  });

  it('never hands out a token with less than a minute left or an iat in the future', async () => {
    const s = signer();
    for (let t = NOW - 5_000; t < NOW + 900_000; t += 7_919) {
      const token = s.assertionFor(sessionIdentity(), route, HOST, t).token;
      const { exp, iat } = payloadOf(token) as { exp: number; iat: number };
      assert.ok(exp * 1000 - t > REFRESH_BEFORE_EXPIRY_MS, `at ${t}`);
      assert.ok(iat * 1000 <= t, `at ${t}`);
    }
    // The clock going back before the cached iat gets a fresh token.
    const later = s.assertionFor(sessionIdentity(), route, HOST, NOW + 10_000);
    assert.notEqual(s.assertionFor(sessionIdentity(), route, HOST, NOW + 5_000), later);
  });

  it('signs again when what the token says about the caller changes', () => {
    const s = signer();
    const base = s.assertionFor(sessionIdentity(), route, HOST, NOW);
    const changes = [
      sessionIdentity({ version: 2 }),
      sessionIdentity({ version: 2, email: 'new@example.com' }),
      sessionIdentity({ version: 2, email: 'new@example.com', groups: ['admins'] }),
      sessionIdentity({ version: 2, email: 'new@example.com', groups: ['ops'] }),
      sessionIdentity({ version: 2, email: 'new@example.com', groups: ['ops'], name: 'N' }),
    ];
    let previous = base;
    for (const identity of changes) {
      const next = s.assertionFor(identity, route, HOST, NOW);
      assert.notEqual(next, previous);
      assert.equal(payloadOf(next.token).email, identity.email);
      assert.deepEqual(payloadOf(next.token).groups, identity.groups);
      previous = next;
    }
  });

  it('keeps separate tokens per host and per session, each with its own aud and sid', () => {
    const s = signer();
    const a = s.assertionFor(sessionIdentity({ sessionId: 's1' }), route, 'a.example.com', NOW);
    const b = s.assertionFor(sessionIdentity({ sessionId: 's1' }), route, 'b.example.com', NOW);
    const c = s.assertionFor(sessionIdentity({ sessionId: 's2' }), route, 'a.example.com', NOW);
    assert.deepEqual(
      [a, b, c].map((x) => [payloadOf(x.token).aud, payloadOf(x.token).sid]),
      [
        ['a.example.com', 's1'],
        ['b.example.com', 's1'],
        ['a.example.com', 's2'],
      ],
    );
    assert.equal(s.assertionFor(sessionIdentity({ sessionId: 's1' }), route, 'a.example.com', NOW), a);
    assert.equal(s.assertionFor(sessionIdentity({ sessionId: 's1' }), route, 'b.example.com', NOW), b);
  });

  it('is bounded: beyond maxSessions the session signed longest ago is forgotten', () => {
    const s = signer([esKey], { maxSessions: 2 });
    const first = s.assertionFor(sessionIdentity({ sessionId: 's1' }), route, HOST, NOW);
    s.assertionFor(sessionIdentity({ sessionId: 's2' }), route, HOST, NOW);
    assert.equal(s.assertionFor(sessionIdentity({ sessionId: 's1' }), route, HOST, NOW), first);
    s.assertionFor(sessionIdentity({ sessionId: 's3' }), route, HOST, NOW);
    assert.notEqual(s.assertionFor(sessionIdentity({ sessionId: 's1' }), route, HOST, NOW), first);
  });

  it('gives service accounts and nobody their own tokens', async () => {
    const s = signer();
    const sa = s.assertionFor(serviceAccountIdentity({ userId: 'u1' }), route, HOST, NOW);
    assert.equal((await upstreamVerifies(sa.token, [esKey])).sub, 'u1');
    assert.equal(s.assertionFor(serviceAccountIdentity({ userId: 'u1' }), route, HOST, NOW), sa);
    const nobody = s.assertionFor(null, route, HOST, NOW);
    assert.equal((await upstreamVerifies(nobody.token, [esKey])).sub, '');
    assert.equal(s.assertionFor(null, route, HOST, NOW), nobody);
  });

  it('carries the claim headers of the same claims', () => {
    const s = signer([esKey], { claims: ['email', 'groups', 'CUSTOM_KEY', 'missing'] });
    const signed = s.assertionFor(sessionIdentity({ email: 'e@example.com', groups: ['a', 'b'], claims: { CUSTOM_KEY: ['v1', 'v2', 'v3'] } }), route, HOST, NOW);
    assert.deepEqual(signed.claimHeaders, [
      'x-pomerium-claim-email',
      'e@example.com',
      'x-pomerium-claim-groups',
      'a,b',
      'x-pomerium-claim-custom_key',
      'v1,v2,v3',
      'x-pomerium-claim-missing',
      '',
    ]);
    assert.equal(payloadOf(signed.token).CUSTOM_KEY, 'v1,v2,v3');
  });
});

// Pomerium's TestHeadersEvaluator_JWTIssuerFormat: the route's format wins over the global one.
describe('jwt_issuer_format', () => {
  const cases: [JwtIssuerFormat | null, JwtIssuerFormat | null, string][] = [
    [null, null, 'route.example.com'],
    ['hostOnly', null, 'route.example.com'],
    ['uri', null, 'https://route.example.com/'],
    [null, 'hostOnly', 'route.example.com'],
    ['hostOnly', 'hostOnly', 'route.example.com'],
    ['uri', 'hostOnly', 'route.example.com'],
    [null, 'uri', 'https://route.example.com/'],
    ['hostOnly', 'uri', 'https://route.example.com/'],
    ['uri', 'uri', 'https://route.example.com/'],
  ];
  for (const [globalFormat, routeFormat, expected] of cases) {
    it(`global ${globalFormat ?? 'unset'}, route ${routeFormat ?? 'unset'} → iss ${expected}`, () => {
      const s = signer([esKey], { issuerFormat: globalFormat ?? 'hostOnly' });
      const r = makeRoute({ from: 'https://route.example.com', jwtIssuerFormat: routeFormat });
      const token = s.assertionFor(sessionIdentity(), r, 'route.example.com', NOW).token;
      assert.equal(payloadOf(token).iss, expected);
      assert.equal(payloadOf(token).aud, 'route.example.com');
    });
  }

  it('keeps hostOnly and uri tokens for the same host apart', () => {
    const s = signer();
    const plain = s.assertionFor(sessionIdentity(), makeRoute({ jwtIssuerFormat: 'hostOnly' }), HOST, NOW);
    const uri = s.assertionFor(sessionIdentity(), makeRoute({ jwtIssuerFormat: 'uri' }), HOST, NOW);
    assert.notEqual(plain, uri);
    assert.equal(payloadOf(uri.token).iss, `https://${HOST}/`);
  });
});
