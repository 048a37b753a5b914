import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertionClaims, claimStrings, goFloatString, issuerFor, payloadJson } from '../../src/identity/claims.js';
import { serviceAccountIdentity, sessionIdentity } from './support.js';

const IAT = 1686870680;
const JTI = '6f1b2c1e-8c1a-4a57-9a4e-1f6f1f0e2b7d';

// Pomerium's TestHeadersEvaluator (pom:authorize/evaluator/headers_evaluator_test.go), with the
// impersonated session already resolved: its groups come from directory data (ids then names).
describe('assertionClaims (ported from headers_evaluator_test.go)', () => {
  it('"jwt": iss = aud = host, iat and exp = iat + 5 min as integers, sid, sub = user, name, CUSTOM_KEY joined, groups in order', () => {
    const identity = sessionIdentity({
      sessionId: 's1',
      userId: 'u2',
      groups: ['g1', 'g2', 'g3', 'g4', 'GROUP1', 'GROUP2', 'GROUP3', 'GROUP4'],
      claims: { name: ['n1'], CUSTOM_KEY: ['v1', 'v2', 'v3'] },
    });
    const claims = assertionClaims(identity, 'from.example.com', 'hostOnly', ['CUSTOM_KEY'], IAT, JTI);
    assert.equal(claims.iss, 'from.example.com');
    assert.equal(claims.aud, 'from.example.com');
    assert.equal(claims.iat, IAT);
    assert.equal(claims.exp, IAT + 300);
    assert.equal(claims.jti, JTI);
    assert.equal(claims.sid, 's1');
    assert.equal(claims.sub, 'u2');
    assert.equal(claims.user, 'u2');
    assert.equal(claims.name, 'n1');
    assert.equal(claims.CUSTOM_KEY, 'v1,v2,v3');
    assert.deepEqual(claims.groups, ['g1', 'g2', 'g3', 'g4', 'GROUP1', 'GROUP2', 'GROUP3', 'GROUP4']);
    const json = payloadJson(claims);
    assert.match(json, /"iat":1686870680,/);
    assert.match(json, /"exp":1686870980,/);
  });

  it('"jwt no groups": groups is an empty array, never null or absent', () => {
    const json = payloadJson(assertionClaims(sessionIdentity({ claims: { name: ['User Name'] } }), 'a.example.com', 'hostOnly', [], IAT, JTI));
    assert.deepEqual(JSON.parse(json).groups, []);
  });

  it('"jwt payload name": the session claim (lists joined with ,), else the name Postern resolved', () => {
    const named = (claims: Record<string, unknown>, name = ''): unknown => assertionClaims(sessionIdentity({ claims, name }), 'h', 'hostOnly', [], IAT, JTI).name;
    assert.equal(named({ name: ['NAME_FROM_SESSION'] }), 'NAME_FROM_SESSION');
    assert.equal(named({ name: 'Ada Lovelace' }), 'Ada Lovelace');
    assert.equal(named({ name: ['a', 'b'] }), 'a,b');
    assert.equal(named({}, 'NAME_FROM_USER'), 'NAME_FROM_USER');
  });

  it('"service account": sub and user are its user id, email its email, sid its id', () => {
    const claims = assertionClaims(serviceAccountIdentity({ id: 'sa1', userId: 'u1', email: 'u1@example.com' }), 'h', 'hostOnly', [], IAT, JTI);
    assert.equal(claims.sub, 'u1');
    assert.equal(claims.user, 'u1');
    assert.equal(claims.email, 'u1@example.com');
    assert.equal(claims.sid, 'sa1');
    assert.deepEqual(claims.groups, []);
  });

  it('nobody signed in: every identity claim empty, groups []', () => {
    const claims = assertionClaims(null, 'h', 'hostOnly', ['CUSTOM_KEY'], IAT, JTI);
    assert.deepEqual(
      { sub: claims.sub, user: claims.user, email: claims.email, sid: claims.sid, name: claims.name, groups: claims.groups },
      { sub: '', user: '', email: '', sid: '', name: '', groups: [] },
    );
    assert.equal('CUSTOM_KEY' in claims, false);
  });

  it('an extra claim the identity lacks is left out; a standard claim cannot be replaced through jwt_claims_headers', () => {
    const identity = sessionIdentity({ userId: 'u9', claims: { dept: 'eng' } });
    const claims = assertionClaims(identity, 'h', 'hostOnly', ['dept', 'missing'], IAT, JTI);
    assert.equal(claims.dept, 'eng');
    assert.equal('missing' in claims, false);
  });

  it('writes the payload keys sorted, as Go encodes a map', () => {
    const json = payloadJson(assertionClaims(sessionIdentity({ claims: { zeta: 'z', Alpha: 'a' } }), 'h', 'hostOnly', ['zeta', 'Alpha'], IAT, JTI));
    assert.deepEqual(Object.keys(JSON.parse(json)), ['Alpha', 'aud', 'email', 'exp', 'groups', 'iat', 'iss', 'jti', 'name', 'sid', 'sub', 'user', 'zeta']);
  });
});

describe('issuerFor', () => {
  it('is the host, or https://host/ with jwt_issuer_format uri', () => {
    assert.equal(issuerFor('route.example.com', 'hostOnly'), 'route.example.com');
    assert.equal(issuerFor('route.example.com', 'uri'), 'https://route.example.com/');
  });
});

describe('claimStrings', () => {
  it("renders claims as Pomerium's flattened claim lists", () => {
    const claims = {
      s: 'x',
      n: 1700000000,
      b: false,
      nil: null,
      list: [1, 'a', true, null, { k: 1 }, [2]],
      obj: { a: { b: 'deep' }, c: [1.5] },
      'dotted.name': 'literal',
    };
    const cases: [string, string[] | null][] = [
      ['s', ['x']],
      ['n', ['1.7e+09']],
      ['b', ['false']],
      ['nil', []],
      ['list', ['1', 'a', 'true']],
      ['obj', null],
      ['obj.a', null],
      ['obj.a.b', ['deep']],
      ['obj.c', ['1.5']],
      ['dotted.name', ['literal']],
      ['absent', null],
      ['obj.absent', null],
    ];
    for (const [name, expected] of cases) assert.deepEqual(claimStrings(claims, name), expected, name);
  });

  it('never reads inherited properties', () => {
    assert.equal(claimStrings({}, 'constructor'), null);
    assert.equal(claimStrings({}, '__proto__'), null);
  });
});

describe('goFloatString', () => {
  it("prints float64 claims as Go's fmt.Sprint does", () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [100, '100'],
      [1.5, '1.5'],
      [-2.5, '-2.5'],
      [123456, '123456'],
      [999999, '999999'],
      [1e6, '1e+06'],
      [1234567, '1.234567e+06'],
      [-1234567, '-1.234567e+06'],
      [1700000000, '1.7e+09'],
      [12345.678, '12345.678'],
      [0.0001, '0.0001'],
      [0.000123, '0.000123'],
      [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [1e21, '1e+21'],
      [1e100, '1e+100'],
      [2 ** 53, '9.007199254740992e+15'],
    ];
    for (const [n, expected] of cases) assert.equal(goFloatString(n), expected, String(n));
  });

  it('always parses back to the same number', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => Object.is(Number(goFloatString(n)), n)));
  });
});
