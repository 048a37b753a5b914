import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decide, emailDomain, isCorsPreflight } from '../../src/authorize/decision.js';
import type { Identity } from '../../src/authenticate/sessions.js';
import type { RouteAccess } from '../../src/config/types.js';
import type { ProxyRequest } from '../../src/proxy/request.js';
import { makeRoute } from '../helpers/route.js';

function request(method = 'GET', headers: string[] = []): ProxyRequest {
  return { method, path: '/', query: '', host: 'app.example.com', port: null, headers: ['host', 'app.example.com', ...headers], remoteAddress: '127.0.0.1', secure: true, requestId: 'r' };
}

function identity(email: string, extra: Partial<Identity> = {}): Identity {
  return { kind: 'session', sessionId: 's', userId: 'u-1', email, name: '', groups: [], claims: {}, session: null, ...extra };
}

function route(access: Partial<RouteAccess>) {
  const base = makeRoute();
  return makeRoute({ access: { ...base.access, allowPublicUnauthenticatedAccess: false, ...access } });
}

describe('decide', () => {
  it('public routes allow everyone, with or without identity', () => {
    const r = makeRoute();
    assert.equal(decide(r, request(), null).kind, 'allow');
  });

  it('a non-public route asks an anonymous request to sign in', () => {
    assert.deepEqual(decide(route({ allowAnyAuthenticatedUser: true }), request(), null), { kind: 'login' });
  });

  const cases: Array<[string, Partial<RouteAccess>, Identity, 'allow' | 'deny']> = [
    ['any authenticated user', { allowAnyAuthenticatedUser: true }, identity('a@x.com'), 'allow'],
    ['allowed user by email, any case', { allowedUsers: ['Alice@Example.com'] }, identity('alice@example.com'), 'allow'],
    ['allowed user by id', { allowedUsers: ['u-1'] }, identity(''), 'allow'],
    ['user not listed', { allowedUsers: ['bob@example.com'] }, identity('alice@example.com'), 'deny'],
    ['allowed domain, any case', { allowedDomains: ['EXAMPLE.com'] }, identity('alice@Example.COM'), 'allow'],
    ['sub-domain is another domain', { allowedDomains: ['example.com'] }, identity('alice@sub.example.com'), 'deny'],
    ['two @ never match a domain', { allowedDomains: ['example.com'] }, identity('a@b@example.com'), 'deny'],
    ['claim value listed', { allowedIdpClaims: { groups: ['admins'] } }, identity('a@x.com', { claims: { groups: ['staff', 'admins'] } }), 'allow'],
    ['claim value not listed', { allowedIdpClaims: { groups: ['admins'] } }, identity('a@x.com', { claims: { groups: ['staff'] } }), 'deny'],
    ['nothing allows', {}, identity('a@x.com'), 'deny'],
    ['a PPL policy is refused until the policy language exists', { allowAnyAuthenticatedUser: true, policy: { allow: { and: [{ accept: true }] } } }, identity('a@x.com'), 'deny'],
  ];
  for (const [name, access, who, expected] of cases) {
    it(name, () => assert.equal(decide(route(access), request(), who).kind, expected));
  }

  it('cors_allow_preflight lets a preflight through without sign-in, and only a preflight', () => {
    const r = route({ corsAllowPreflight: true, allowAnyAuthenticatedUser: true });
    const preflight = request('OPTIONS', ['origin', 'https://x', 'access-control-request-method', 'POST']);
    assert.equal(isCorsPreflight(preflight), true);
    assert.equal(decide(r, preflight, null).kind, 'allow');
    assert.equal(decide(r, request('OPTIONS', ['origin', 'https://x']), null).kind, 'login');
    assert.equal(decide(route({ allowAnyAuthenticatedUser: true }), preflight, null).kind, 'login');
  });

  it('property: without identity a non-public route never allows anything but a configured preflight', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.emailAddress(), { maxLength: 3 }), fc.constantFrom('GET', 'POST', 'OPTIONS'), (any, users, method) => {
        const d = decide(route({ allowAnyAuthenticatedUser: any, allowedUsers: users }), request(method), null);
        assert.equal(d.kind, 'login');
      }),
    );
  });
});

describe('emailDomain', () => {
  it('is the lower-cased part after the only @', () => {
    assert.equal(emailDomain('a@Example.COM'), 'example.com');
    for (const bad of ['', 'a', '@x.com', 'a@', 'a@b@c.com']) assert.equal(emailDomain(bad), '', bad);
  });
});
