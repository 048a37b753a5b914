import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, problemsOf, who, type Verdict } from '../support.js';

const OK: Verdict = [true, ['email-ok']];
const NO: Verdict = [false, ['email-unauthorized']];

test('email without a session asks to sign in', () => {
  assert.deepEqual(evaluate(allowAnd('email: {is: test@example.com}')), { allow: [false, ['user-unauthenticated']], deny: NOTHING });
});

const cases: ReadonlyArray<readonly [string, string, string, Verdict]> = [
  ['is, by email', '{is: test@example.com}', 'test@example.com', OK],
  ['a bare value means is', 'test@example.com', 'test@example.com', OK],
  ['another address', '{is: test@example.com}', 'other@example.com', NO],
  ['compares case-sensitively, as Pomerium does', '{is: test@example.com}', 'Test@example.com', NO],
  ['not', '{not: test@example.com}', 'other@example.com', OK],
  ['contains', '{contains: "@corp"}', 'a@corp.example.com', OK],
  ['starts_with', '{starts_with: "admin@"}', 'admin@example.com', OK],
  ['starts_with, no', '{starts_with: "admin@"}', 'user@example.com', NO],
  ['ends_with', '{ends_with: "@example.com"}', 'a@example.com', OK],
  ['in', '{in: [a@example.com, b@example.com]}', 'b@example.com', OK],
  ['not_in', '{not_in: [a@example.com, b@example.com]}', 'b@example.com', NO],
  ['operators are ANDed', '{starts_with: a, ends_with: "@example.com"}', 'a@example.org', NO],
  ['a number never equals an address', '42', '42', NO],
  ['not a number always holds', '{not: 42}', '42', OK],
  ['an empty matcher holds for anybody signed in', '{}', '', OK],
];

for (const [name, data, email, allow] of cases) {
  test(`email: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`email: ${data}`), { identity: who({ email }) }), { allow, deny: NOTHING });
  });
}

test('email refuses unknown operators and wrongly typed arguments', () => {
  assert.match(problemsOf(allowAnd('email: {equals: x}'))[0]!, /unknown string matcher operator "equals"/);
  assert.match(problemsOf(allowAnd('email: {in: x}'))[0]!, /in matcher requires an array/);
  assert.match(problemsOf(allowAnd('email: {not_in: x}'))[0]!, /not_in matcher requires an array/);
  assert.match(problemsOf(allowAnd('email: {contains: 5}'))[0]!, /contains needs a string/);
});
