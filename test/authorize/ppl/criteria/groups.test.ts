import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { allowAnd, evaluate, NOTHING, who, type Verdict } from '../support.js';

test('groups without a session asks to sign in (two criteria, one reason)', () => {
  assert.deepEqual(evaluate('allow:\n  and:\n    - groups: {has: group1}\n    - groups: {has: group2}\n'), {
    allow: [false, ['user-unauthenticated']],
    deny: NOTHING,
  });
});

const cases: ReadonlyArray<readonly [string, string, readonly string[], Verdict]> = [
  ['by id', '{has: group1}', ['group1', 'group2'], [true, ['groups-ok']]],
  ['not allowed', '{has: group1}', ['group2'], [false, ['groups-unauthorized']]],
  ['a bare value means has', 'group1', ['group1'], [true, ['groups-ok']]],
  ['no groups at all', 'group1', [], [false, ['groups-unauthorized']]],
  ['is: the only group', '{is: group1}', ['group1'], [true, ['groups-ok']]],
  ['exclude', '{exclude: contractors}', ['staff'], [true, ['groups-ok']]],
];

for (const [name, data, groups, allow] of cases) {
  test(`groups: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`groups: ${data}`), { identity: who({ groups, claims: { groups } }) }), { allow, deny: NOTHING });
  });
}

// Azure AD / Entra ID leave the groups out of a token when there are too many.
const OVERAGE_TOKENS: ReadonlyArray<Record<string, unknown>> = [
  { _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/…' } } },
  { hasgroups: true },
];

const overagePlaces: ReadonlyArray<readonly [string, string, 'allow' | 'deny', Verdict]> = [
  ['under allow it is false', 'allow:\n  and:\n    - groups: {exclude: contractors}\n', 'allow', [false, ['groups-unavailable']]],
  ['under deny it is true', 'deny:\n  or:\n    - groups: {has: contractors}\n', 'deny', [true, ['groups-unavailable']]],
  ['under allow.not it counts as false', 'allow:\n  not:\n    - groups: {has: contractors}\n', 'allow', [false, ['groups-unavailable']]],
  ['under deny.nor it counts as true', 'deny:\n  nor:\n    - groups: {has: admins}\n', 'deny', [true, ['groups-unavailable']]],
];

for (const claims of OVERAGE_TOKENS) {
  for (const [name, policy, action, verdict] of overagePlaces) {
    test(`a token with a group overage (${Object.keys(claims)[0]}) fails closed: ${name}`, () => {
      assert.deepEqual(evaluate(policy, { identity: who({ claims, groups: [] }) })[action], verdict);
    });
  }
}

test('a token that lists its groups is no overage, even with overage hints', () => {
  const identity = who({ groups: ['admins'], claims: { groups: ['admins'], hasgroups: true } });
  assert.deepEqual(evaluate(allowAnd('groups: admins'), { identity }).allow, [true, ['groups-ok']]);
});

test('property: under an overage no groups policy grants more than for any actual group list', () => {
  const op = fc.constantFrom('has', 'is', 'exclude');
  const operator = fc.constantFrom('and', 'or', 'not', 'nor');
  fc.assert(
    fc.property(fc.constantFrom('allow', 'deny'), operator, op, fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }), (action, o, m, groups) => {
      const block = `  ${o}:\n    - groups: {${m}: a}\n`;
      const policy = action === 'allow' ? `allow:\n${block}` : `allow:\n  or:\n    - accept: 1\ndeny:\n${block}`;
      const unknown = evaluate(policy, { identity: who({ claims: { hasgroups: true } }) });
      const known = evaluate(policy, { identity: who({ groups, claims: { groups } }) });
      const granted = (r: typeof known) => r.allow[0] && !r.deny[0];
      if (granted(unknown)) assert.ok(granted(known), `${policy} with ${JSON.stringify(groups)}`);
    }),
  );
});
