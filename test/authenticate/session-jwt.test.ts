import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { SessionJwts } from '../../src/authenticate/session-jwt.js';

const key = Buffer.alloc(32, 0x21);
const NOW = 1_700_000_000_999;
const subject = { sessionId: 'c2Vzc2lvbi1pZC0xMjM0NQ', userId: 'user-42', issuer: 'auth.example.com', audience: 'app.example.com' };

function b64(json: unknown): string {
  return Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)).toString('base64url');
}

/** A token with our key but any header and payload text. */
function forge(header: unknown, payload: unknown, signingKey = key): string {
  const signed = `${b64(header)}.${b64(payload)}`;
  return `${signed}.${createHmac('sha256', signingKey).update(signed).digest('base64url')}`;
}

const HEADER = { alg: 'HS256', typ: 'JWT' };
const PAYLOAD = { iss: subject.issuer, aud: subject.audience, sub: subject.userId, iat: 1_700_000_000, jti: subject.sessionId };

describe('SessionJwts', () => {
  const jwts = new SessionJwts(key);
  const token = jwts.issue(subject, NOW);

  it('issues HS256 with the header exactly {"alg":"HS256","typ":"JWT"} and claims iss, aud, sub, iat, jti, no exp', () => {
    const [header, payload] = token.split('.');
    assert.equal(Buffer.from(header, 'base64url').toString(), '{"alg":"HS256","typ":"JWT"}');
    assert.deepEqual(JSON.parse(Buffer.from(payload, 'base64url').toString()), PAYLOAD);
  });

  it('issues tokens an independent implementation (jose) verifies', async () => {
    const { payload, protectedHeader } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: subject.issuer, audience: subject.audience });
    assert.deepEqual(protectedHeader, HEADER);
    assert.equal(payload.jti, subject.sessionId);
  });

  it('verifies its own tokens and those jose signs the same way', async () => {
    const expected = { sessionId: subject.sessionId, userId: subject.userId, issuedAt: 1_700_000_000_000, issuer: subject.issuer, audience: subject.audience };
    assert.deepEqual(jwts.verify(token), expected);
    const joseToken = await new SignJWT({ jti: subject.sessionId })
      .setProtectedHeader(HEADER)
      .setIssuer(subject.issuer)
      .setAudience(subject.audience)
      .setSubject(subject.userId)
      .setIssuedAt(1_700_000_000)
      .sign(key);
    assert.deepEqual(new SessionJwts(key).verify(joseToken), expected);
  });

  it('round-trips any subject', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'Az09-_'), minLength: 1, maxLength: 64 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 30 }),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        (sessionId, userId, issuer, audience, now) => {
          const j = new SessionJwts(key);
          const claims = j.verify(j.issue({ sessionId, userId, issuer, audience }, now));
          assert.deepEqual(claims, { sessionId, userId, issuedAt: Math.floor(now / 1000) * 1000, issuer, audience });
        },
      ),
      { numRuns: 300 },
    );
  });

  describe('refuses', () => {
    const [h, p, s] = token.split('.');
    const cases: [label: string, value: string][] = [
      ['the empty string', ''],
      ['another key', new SessionJwts(Buffer.alloc(32, 0x22)).issue(subject, NOW)],
      ['alg none, unsigned', new UnsecuredJWT(PAYLOAD).encode()],
      ['alg none with our signature', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.${s}`],
      ['alg none, MAC over it with our key', forge({ alg: 'none', typ: 'JWT' }, PAYLOAD)],
      ['alg HS512, MAC with our key', forge({ alg: 'HS512', typ: 'JWT' }, PAYLOAD)],
      ['alg RS256, MAC with our key', forge({ alg: 'RS256', typ: 'JWT' }, PAYLOAD)],
      ['alg hs256 (case)', forge({ alg: 'hs256', typ: 'JWT' }, PAYLOAD)],
      ['reordered header members', forge({ typ: 'JWT', alg: 'HS256' }, PAYLOAD)],
      ['header without typ', forge({ alg: 'HS256' }, PAYLOAD)],
      ['header with kid', forge({ alg: 'HS256', typ: 'JWT', kid: 'x' }, PAYLOAD)],
      ['header with crit', forge({ alg: 'HS256', typ: 'JWT', crit: ['exp'] }, PAYLOAD)],
      ['header with whitespace', forge('{"alg":"HS256", "typ":"JWT"}', PAYLOAD)],
      ['a changed payload with the old signature', `${h}.${b64({ ...PAYLOAD, sub: 'admin' })}.${s}`],
      ['a changed signature', `${h}.${p}.${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`],
      ['no signature', `${h}.${p}`],
      ['an empty signature', `${h}.${p}.`],
      ['a padded signature', `${token}=`],
      ['a truncated signature', token.slice(0, -1)],
      ['an extra segment', `${token}.x`],
      ['an extra dot in the payload', `${h}.${p.slice(0, 4)}.${p.slice(4)}.${s}`],
      ['two segments only', `${h}.${s}`],
      ['an empty payload', `${h}..${s}`],
      ['a non-base64url payload', `${h}.${p.slice(0, 3)}*${p.slice(4)}.${s}`],
      ['standard base64 characters', `${h}.${p}+/.${s}`],
      ['leading whitespace', ` ${token}`],
      ['trailing whitespace', `${token} `],
      ['a session handle', 'v1.c2Vzc2lvbi1pZC0xMjM0NQ.AAAAAAAAAAAAAAAAAAAAAA'],
      ['a huge token', `${h}.${'A'.repeat(10_000)}.${s}`],
    ];
    for (const [label, value] of cases) {
      it(label, () => assert.equal(new SessionJwts(key).verify(value), null));
    }

    const payloads: [label: string, payload: unknown][] = [
      ['a payload that is not JSON', '{"jti":'],
      ['a JSON array', [PAYLOAD]],
      ['JSON null', null],
      ['a JSON string', 'x'],
      ['a JSON number', 1],
      ['no jti', { ...PAYLOAD, jti: undefined }],
      ['an empty jti', { ...PAYLOAD, jti: '' }],
      ['a jti with a dot', { ...PAYLOAD, jti: 'a.b' }],
      ['a numeric jti', { ...PAYLOAD, jti: 5 }],
      ['no sub', { ...PAYLOAD, sub: undefined }],
      ['an empty sub', { ...PAYLOAD, sub: '' }],
      ['a non-string sub', { ...PAYLOAD, sub: ['a'] }],
      ['no iat', { ...PAYLOAD, iat: undefined }],
      ['a string iat', { ...PAYLOAD, iat: '1700000000' }],
      ['a fractional iat', { ...PAYLOAD, iat: 1.5 }],
      ['a negative iat', { ...PAYLOAD, iat: -1 }],
      ['an array aud', { ...PAYLOAD, aud: [subject.audience] }],
      ['no iss', { ...PAYLOAD, iss: undefined }],
    ];
    for (const [label, payload] of payloads) {
      it(`${label}, even when correctly signed`, () => assert.equal(new SessionJwts(key).verify(forge(HEADER, payload)), null));
    }

    it('any string, without throwing', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (str) => {
          assert.equal(jwts.verify(str), null);
          assert.equal(jwts.verify(`${h}.${str}`), null);
        }),
        { numRuns: 3000 },
      );
    });
  });

  it('refuses to issue what it would refuse to verify: a bad id, no user, an oversized token', () => {
    assert.throws(() => jwts.issue({ ...subject, sessionId: 'a.b' }, NOW), TypeError);
    assert.throws(() => jwts.issue({ ...subject, userId: '' }, NOW), TypeError);
    assert.throws(() => jwts.issue({ ...subject, userId: 'u'.repeat(4000) }, NOW), RangeError);
    assert.notEqual(jwts.verify(jwts.issue({ ...subject, userId: 'u'.repeat(2000) }, NOW)), null);
  });

  it('caches verified tokens, returning the same frozen claims, and forgets on request', () => {
    const j = new SessionJwts(key, 4);
    const t = j.issue(subject, NOW);
    const first = j.verify(t);
    assert.ok(first !== null && Object.isFrozen(first));
    assert.equal(j.verify(t), first);
    j.forget(t);
    const again = j.verify(t);
    assert.notEqual(again, first);
    assert.deepEqual(again, first);
  });
});
