import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, problemsOf, who, type Verdict } from '../support.js';

const OK: Verdict = [true, ['claim-ok']];
const NO: Verdict = [false, ['claim-unauthorized']];

test('claim without a session asks to sign in', () => {
  assert.deepEqual(evaluate(allowAnd('claim/family_name: Smith')), { allow: [false, ['user-unauthenticated']], deny: NOTHING });
});

const cases: ReadonlyArray<readonly [string, string, Record<string, unknown>, Verdict]> = [
  ['no such claim', 'claim/family_name: Smith', {}, NO],
  ['by claim', 'claim/family_name: Smith', { family_name: 'Smith' }, OK],
  ['by claim, via has', 'claim/family_name: {has: Smith}', { family_name: 'Smith' }, OK],
  ['no claim, via has', 'claim/family_name: {has: Smith}', {}, NO],
  ['compares exactly', 'claim/family_name: smith', { family_name: 'Smith' }, NO],
  ['a name with a slash is looked up whole', 'claim/example.com/key: value', { 'example.com/key': 'value' }, OK],
  ['a nested claim is reached with dots (Pomerium flattens claims)', 'claim/address.country: NL', { address: { country: 'NL' } }, OK],
  ['… not with slashes', 'claim/address/country: NL', { address: { country: 'NL' } }, NO],
  ['a list claim has any of its values', 'claim/groups: admins', { groups: ['staff', 'admins'] }, OK],
  ['a number compares as a number', 'claim/level: 3', { level: 3 }, OK],
  ['a number is not its text', 'claim/level: "3"', { level: 3 }, NO],
  ['a boolean', 'claim/email_verified: true', { email_verified: true }, OK],
  ['is: exactly one value, and it is this one', 'claim/groups: {is: admins}', { groups: ['admins'] }, OK],
  ['is: not when there are more', 'claim/groups: {is: admins}', { groups: ['admins', 'staff'] }, NO],
  ['exclude: none is this one', 'claim/groups: {exclude: contractors}', { groups: ['staff'] }, OK],
  ['exclude: one is', 'claim/groups: {exclude: contractors}', { groups: ['staff', 'contractors'] }, NO],
  ['exclude holds for a missing claim', 'claim/groups: {exclude: contractors}', {}, OK],
  ['operators are ANDed', 'claim/groups: {has: staff, exclude: contractors}', { groups: ['staff', 'contractors'] }, NO],
  ['a list value is compared whole (as in Pomerium)', 'claim/groups: [a, b]', { groups: ['a', 'b'] }, NO],
  ['a special key is not a claim', 'claim/constructor: x', {}, NO],
  ['claim without a name matches nothing', 'claim: x', { x: 'x' }, NO],
];

for (const [name, criterion, claims, allow] of cases) {
  test(`claim: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(criterion), { identity: who({ claims }) }), { allow, deny: NOTHING });
  });
}

test('claim refuses unknown list operators', () => {
  assert.match(problemsOf(allowAnd('claim/groups: {contains: x}'))[0]!, /unknown string list matcher operator "contains"/);
});

test('claim/groups with a group overage fails closed, like groups', () => {
  const overage = who({ claims: { _claim_names: { groups: 'src1' } } });
  assert.deepEqual(evaluate(allowAnd('claim/groups: {exclude: contractors}'), { identity: overage }).allow, [false, ['groups-unavailable']]);
  assert.deepEqual(evaluate('deny:\n  or:\n    - claim/groups: contractors\n', { identity: overage }).deny, [true, ['groups-unavailable']]);
});
