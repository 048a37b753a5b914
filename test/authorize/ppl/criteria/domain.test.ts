import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { emailDomain } from '../../../../src/authorize/ppl/criteria/domain.js';
import { allowAnd, evaluate, NOTHING, who, type Verdict } from '../support.js';

const OK: Verdict = [true, ['domain-ok']];
const NO: Verdict = [false, ['domain-unauthorized']];

test('domain without a session asks to sign in', () => {
  assert.deepEqual(evaluate(allowAnd('domain: {is: example.com}')), { allow: [false, ['user-unauthenticated']], deny: NOTHING });
});

const cases: ReadonlyArray<readonly [string, string, string, Verdict]> = [
  ['by domain', '{is: example.com}', 'test@example.com', OK],
  ['a bare value means is', 'example.com', 'test1@example.com', OK],
  ['compares case-insensitively, both sides', '{is: EXAMPLE.com}', 'test@Example.COM', OK],
  ['in, case-insensitively', '{in: [a.org, Example.Com]}', 'x@example.com', OK],
  ['ends_with, case-insensitively', '{ends_with: .Example.com}', 'x@eu.example.COM', OK],
  ['a sub-domain is another domain', '{is: example.com}', 'test@sub.example.com', NO],
  ['an address with two @ has no domain', '{is: example.com}', 'a@b@example.com', NO],
  ['… not even for not', '{not: evil.com}', 'a@evil.com@example.com', NO],
  ['… nor for not_in', '{not_in: [evil.com]}', 'a@evil.com@example.com', NO],
  ['no @ at all', '{not: example.com}', 'example.com', NO],
  ['nothing before the @', '{is: example.com}', '@example.com', NO],
  ['nothing after the @', '{not: example.com}', 'a@', NO],
  ['not another domain', '{not: evil.com}', 'a@example.com', OK],
];

for (const [name, data, email, allow] of cases) {
  test(`domain: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`domain: ${data}`), { identity: who({ email }) }), { allow, deny: NOTHING });
  });
}

test('emailDomain: the lower-cased part after the only @, else null', () => {
  assert.equal(emailDomain('a@Example.COM'), 'example.com');
  for (const bad of ['', 'a', '@x.com', 'a@', 'a@b@c.com']) assert.equal(emailDomain(bad), null, bad);
});

test('property: an address with more than one @ never matches a domain, whatever the matcher', () => {
  const policy = (data: string) => allowAnd(`domain: ${data}`);
  fc.assert(
    fc.property(fc.emailAddress(), fc.domain(), fc.constantFrom('is', 'not', 'ends_with', 'contains', 'not_in'), (address, d, op) => {
      const email = `${address}@${d}`;
      const arg = op === 'not_in' ? `[${JSON.stringify(d)}]` : JSON.stringify(d);
      assert.deepEqual(evaluate(policy(`{${op}: ${arg}}`), { identity: who({ email }) }).allow, NO);
    }),
  );
});
