import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessDecision } from '../../src/authorize/result.js';
import { compileRouteAccess, compileRoutePolicy, routePolicyProblems } from '../../src/authorize/route-policy.js';
import type { RouteAccess } from '../../src/config/types.js';
import { PosternError } from '../../src/errors.js';
import { input, who, type InputFields } from './ppl/support.js';
import { makeAccess } from '../helpers/route.js';

const access = makeAccess;

function decide(a: Partial<RouteAccess>, fields: InputFields = {}): string {
  const d = accessDecision(compileRoutePolicy(access(a)).evaluate(input(fields)));
  return d.kind === 'deny' ? `deny ${d.status} ${d.reasons.join(',')}` : d.kind;
}

const alice = who({ userId: 'alice-id', email: 'alice@example.com', groups: ['staff'], claims: { groups: ['staff'], department: 'ops' } });
const PREFLIGHT: InputFields = { method: 'OPTIONS', headers: ['origin', 'https://x', 'access-control-request-method', 'POST'] };

// In the spirit of pom:authorize/evaluator/evaluator_test.go: a route's options and policy, decided end to end.
const cases: ReadonlyArray<readonly [string, Partial<RouteAccess>, InputFields, string]> = [
  ['a public route lets anybody in', { allowPublicUnauthenticatedAccess: true }, {}, 'allow'],
  ['any authenticated user, anonymous → login', { allowAnyAuthenticatedUser: true }, {}, 'login'],
  ['any authenticated user, signed in', { allowAnyAuthenticatedUser: true }, { identity: alice }, 'allow'],
  ['allowed_users by email', { allowedUsers: ['alice@example.com'] }, { identity: alice }, 'allow'],
  ['allowed_users by user id', { allowedUsers: ['alice-id'] }, { identity: alice }, 'allow'],
  ['allowed_users compares emails exactly, as Pomerium', { allowedUsers: ['Alice@example.com'] }, { identity: alice }, 'deny 403 email-unauthorized,user-unauthorized'],
  ['allowed_domains, any case', { allowedDomains: ['EXAMPLE.com'] }, { identity: alice }, 'allow'],
  ['allowed_domains, another domain', { allowedDomains: ['example.org'] }, { identity: alice }, 'deny 403 domain-unauthorized'],
  ['allowed_idp_claims', { allowedIdpClaims: { department: ['ops', 'dev'] } }, { identity: alice }, 'allow'],
  ['allowed_idp_claims, no such value', { allowedIdpClaims: { department: ['dev'] } }, { identity: alice }, 'deny 403 claim-unauthorized'],
  ['cors_allow_preflight lets a preflight in without sign-in', { corsAllowPreflight: true, allowAnyAuthenticatedUser: true }, PREFLIGHT, 'allow'],
  ['…and only a preflight', { corsAllowPreflight: true, allowAnyAuthenticatedUser: true }, { method: 'OPTIONS' }, 'login'],
  ['no option and no policy: everyone is denied, nobody asked to sign in', {}, {}, 'deny 403 '],
  ['an embedded policy alone', { policy: { allow: { and: [{ groups: 'staff' }] } } }, { identity: alice }, 'allow'],
  ['options OR the embedded policy', { allowedDomains: ['example.org'], policy: { allow: { or: [{ email: 'alice@example.com' }] } } }, { identity: alice }, 'allow'],
  [
    'a deny rule beats the options',
    { allowAnyAuthenticatedUser: true, policy: { deny: { or: [{ http_path: { starts_with: '/admin' } }] } } },
    { identity: alice, path: '/admin/x' },
    'deny 403 http-path-ok',
  ],
  [
    'a public route with a deny rule on an identity criterion asks anonymous users to sign in',
    { allowPublicUnauthenticatedAccess: true, policy: { deny: { or: [{ email: 'mallory@example.com' }] } } },
    {},
    'login',
  ],
  [
    'a deny rule on invalid_client_certificate answers 495 without a certificate',
    { allowPublicUnauthenticatedAccess: true, policy: { deny: { or: [{ invalid_client_certificate: true }] } } },
    {},
    'deny 495 client-certificate-required',
  ],
];

for (const [name, a, fields, want] of cases) {
  test(`route policy: ${name}`, () => assert.equal(decide(a, fields), want));
}

test('problems carry their place in the route: the policy block, or the option', () => {
  assert.deepEqual(routePolicyProblems(access({ policy: { allow: { or: [{ nope: 1 }] } } })), [
    { path: ['policy', 'allow', 'or', 0, 'nope'], message: 'unknown policy criterion "nope"' },
  ]);
  assert.deepEqual(routePolicyProblems(access({ policy: 'allow' })).map((p) => p.path), [['policy']]);
  assert.deepEqual(routePolicyProblems(access({ allowedDomains: ['example.com'] })), []);
});

test('compileRoutePolicy refuses a policy that the loader would have refused', () => {
  assert.throws(() => compileRoutePolicy(access({ policy: { allow: { or: [{ nope: 1 }] } } })), PosternError);
  assert.equal(compileRouteAccess(access({ policy: { allow: { or: [{ accept: 1 }] } } })).ok, true);
});
