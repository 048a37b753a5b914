import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteAccess } from '../../../src/config/types.js';
import { criterionKey } from '../../../src/authorize/ppl/ast.js';
import { optionsRule, routePpl } from '../../../src/authorize/ppl/legacy.js';
import { parsePpl } from '../../../src/authorize/ppl/parse.js';
import { makeAccess } from '../../helpers/route.js';

const access = makeAccess;

function summary(a: RouteAccess) {
  return optionsRule(a).or.map((c) => [criterionKey(c), c.data]);
}

test('ToPPL: every allow option becomes one `or` criterion, in Pomerium’s order', () => {
  // pom:config/policy_ppl_test.go TestPolicy_ToPPL (without the Enterprise sub-policies).
  const a = access({
    allowPublicUnauthenticatedAccess: true,
    corsAllowPreflight: true,
    allowAnyAuthenticatedUser: true,
    allowedDomains: ['a.example.com', 'b.example.com'],
    allowedUsers: ['user1', 'user2'],
    allowedIdpClaims: { family_name: ['Smith', 'Jones'], department: ['ops'] },
  });
  assert.deepEqual(summary(a), [
    ['accept', true],
    ['cors_preflight', true],
    ['authenticated_user', true],
    ['domain', { is: 'a.example.com' }],
    ['domain', { is: 'b.example.com' }],
    ['claim/department', 'ops'],
    ['claim/family_name', 'Smith'],
    ['claim/family_name', 'Jones'],
    ['user', { is: 'user1' }],
    ['email', { is: 'user1' }],
    ['user', { is: 'user2' }],
    ['email', { is: 'user2' }],
  ]);
  assert.equal(optionsRule(a).action, 'allow');
});

test('each criterion made from an option points at that option', () => {
  const rule = optionsRule(access({ allowedUsers: ['u'], allowedIdpClaims: { groups: ['a', 'b'] } }));
  assert.deepEqual(
    rule.or.map((c) => c.path),
    [['allowed_idp_claims', 'groups', 0], ['allowed_idp_claims', 'groups', 1], ['allowed_users', 0], ['allowed_users', 0]],
  );
});

function embedded(value: unknown) {
  const parsed = parsePpl(value, ['policy']);
  assert.ok(parsed.ok);
  return parsed.policy;
}

test('ToPPL_Embedded: with no allow option, the embedded policy alone', () => {
  const policy = embedded({ allow: { or: [{ foo: 5 }] } });
  assert.deepEqual(routePpl(access(), policy), policy);
});

test('ToPPL_Embedded: the options rule first, then the embedded rules', () => {
  const ppl = routePpl(access({ allowedUsers: ['test'] }), embedded({ allow: { or: [{ foo: 5 }] } }));
  assert.deepEqual(
    ppl.rules.map((r) => [r.action, r.or.map((c) => [criterionKey(c), c.data])]),
    [
      ['allow', [['user', { is: 'test' }], ['email', { is: 'test' }]]],
      ['allow', [['foo', 5]]],
    ],
  );
});

test('a route with no option and no policy keeps an empty allow rule: everyone is denied', () => {
  assert.deepEqual(routePpl(access(), null), { rules: [{ action: 'allow', and: [], or: [], not: [], nor: [], path: [] }] });
});

test('an empty embedded policy replaces the empty options rule', () => {
  assert.deepEqual(routePpl(access(), embedded({})), { rules: [] });
});
