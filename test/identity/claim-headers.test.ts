import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertionForHeader,
  claimHeaderNameProblem,
  claimHeadersFromList,
  claimHeaderValues,
  extraClaimsOf,
  splitClaimList,
} from '../../src/identity/claim-headers.js';

describe('jwt_claims_headers list form', () => {
  it('names each header x-pomerium-claim-<claim>, the claim verbatim (no dash/underscore rewriting)', () => {
    assert.deepEqual(claimHeadersFromList(['email', 'CUSTOM_KEY', 'given-name']), [
      { name: 'x-pomerium-claim-email', lname: 'x-pomerium-claim-email', claim: 'email' },
      { name: 'x-pomerium-claim-CUSTOM_KEY', lname: 'x-pomerium-claim-custom_key', claim: 'CUSTOM_KEY' },
      { name: 'x-pomerium-claim-given-name', lname: 'x-pomerium-claim-given-name', claim: 'given-name' },
    ]);
  });

  it('splits the string form on commas and whitespace', () => {
    assert.deepEqual(splitClaimList('email,groups'), ['email', 'groups']);
    assert.deepEqual(splitClaimList(' email , groups\tuser\n'), ['email', 'groups', 'user']);
    assert.deepEqual(splitClaimList(''), []);
  });

  it('adds only non-standard claims to the assertion, once each', () => {
    const headers = [...claimHeadersFromList(['email', 'dept', 'groups', 'dept']), { name: 'X-Dept', lname: 'x-dept', claim: 'dept' }];
    assert.deepEqual(extraClaimsOf(headers), ['dept']);
  });
});

describe('claimHeaderNameProblem', () => {
  it('accepts header names and refuses what would break or impersonate the request', () => {
    for (const ok of ['X-Email', 'x-pomerium-claim-email', 'Remote-User']) assert.equal(claimHeaderNameProblem(ok), null, ok);
    const refused: [string, RegExp][] = [
      ['x-pomerium-claim-https://example.com/roles', /not a valid header name/],
      ['X Email', /not a valid header name/],
      ['', /not a valid header name/],
      ['Host', /frames the request/],
      ['Content-Length', /frames the request/],
      ['Transfer-Encoding', /frames the request/],
      ['Connection', /frames the request/],
      ['X-Pomerium-Jwt-Assertion', /sets x-pomerium-jwt-assertion itself/],
      ['x-pomerium-jwt-assertion-for', /sets x-pomerium-jwt-assertion-for itself/],
    ];
    for (const [name, message] of refused) assert.match(claimHeaderNameProblem(name) ?? '', message, name);
  });
});

describe('claimHeaderValues', () => {
  it('renders the claim: strings as they are, numbers, lists joined with comma, missing → empty header', () => {
    const headers = [
      { name: 'X-Email', lname: 'x-email', claim: 'email' },
      ...claimHeadersFromList(['groups', 'iat', 'CUSTOM_KEY', 'nope']),
    ];
    const values = claimHeaderValues(headers, { email: 'a@example.com', groups: ['g1', 'g2'], iat: 1686870680, CUSTOM_KEY: 'v1,v2,v3' });
    assert.deepEqual(values, [
      'x-email',
      'a@example.com',
      'x-pomerium-claim-groups',
      'g1,g2',
      'x-pomerium-claim-iat',
      '1686870680',
      'x-pomerium-claim-custom_key',
      'v1,v2,v3',
      'x-pomerium-claim-nope',
      '',
    ]);
    assert.deepEqual(claimHeaderValues(claimHeadersFromList(['groups']), { groups: [] }), ['x-pomerium-claim-groups', '']);
  });
});

describe('assertionForHeader (X-Pomerium-Jwt-Assertion-For carry-over)', () => {
  it('prefers an incoming X-Pomerium-Jwt-Assertion-For, else the incoming assertion, else nothing', () => {
    const cases: [string[], string | null][] = [
      [[], null],
      [['x-pomerium-jwt-assertion', 'A'], 'A'],
      [['x-pomerium-jwt-assertion-for', 'F', 'x-pomerium-jwt-assertion', 'A'], 'F'],
      [['x-pomerium-jwt-assertion', 'A', 'x-pomerium-jwt-assertion-for', 'F'], 'F'],
      [['x-pomerium-jwt-assertion-for', '', 'x-pomerium-jwt-assertion', 'A'], 'A'],
      [['x-pomerium-jwt-assertion', ''], null],
      [['x-pomerium-jwt-assertion', 'A1', 'x-pomerium-jwt-assertion', 'A2'], 'A1,A2'],
      [['authorization', 'Bearer x'], null],
    ];
    for (const [headers, expected] of cases) assert.equal(assertionForHeader(headers), expected, JSON.stringify(headers));
  });

  it('only ever repeats what the client sent in those two headers', () => {
    const joined = (pairs: [string, string][], name: string): string =>
      pairs
        .filter(([n]) => n === name)
        .map(([, v]) => v)
        .join(',');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('x-pomerium-jwt-assertion', 'x-pomerium-jwt-assertion-for', 'cookie', 'x-other'), fc.string())), (pairs) => {
        const carriedFor = joined(pairs, 'x-pomerium-jwt-assertion-for');
        const assertion = joined(pairs, 'x-pomerium-jwt-assertion');
        assert.equal(assertionForHeader(pairs.flat()), carriedFor !== '' ? carriedFor : assertion !== '' ? assertion : null);
      }),
    );
  });
});
