// Per-request cost of the authorization decision, to decide whether it runs
// inline or in the worker pool (the hand-off costs about 25 µs). Run by hand
// after a build:
//   node dist/bench/micro/policy.js
// The realistic policy is the benchmark route: an email domain, a
// group and an http_path rule, plus a deny rule. Each case runs warm-up
// iterations first, then several timed rounds; the table shows the median
// and best round in ns/op. "request" cases include building the policy
// input from the normalised request and the session's identity (claims
// flattened once per session record, as in the proxy) and mapping the
// result to a decision.
import type { Identity } from '../../src/authenticate/sessions.js';
import { policyInput } from '../../src/authorize/input.js';
import { accessDecision } from '../../src/authorize/result.js';
import { compileRouteAccess } from '../../src/authorize/route-policy.js';
import type { RouteAccess } from '../../src/config/types.js';
import type { ProxyRequest } from '../../src/proxy/request.js';
import { measure, ROUNDS, sinkBit } from './measure.js';

function access(overrides: Partial<RouteAccess>): RouteAccess {
  return {
    allowPublicUnauthenticatedAccess: false,
    allowAnyAuthenticatedUser: false,
    allowedUsers: [],
    allowedDomains: [],
    allowedIdpClaims: {},
    corsAllowPreflight: false,
    policy: null,
    passIdentityHeaders: true,
    showErrorDetails: false,
    ...overrides,
  };
}

function compile(a: RouteAccess) {
  const c = compileRouteAccess(a);
  if (!c.ok) throw new Error(JSON.stringify(c.problems));
  return c.policy;
}

const realistic = compile(
  access({
    policy: {
      allow: { and: [{ domain: { is: 'corp.example.com' } }, { groups: { has: 'engineering' } }, { http_path: { starts_with: '/api/' } }] },
      deny: { or: [{ http_path: { starts_with: '/api/admin' } }] },
    },
  }),
);
const legacy = compile(access({ allowedDomains: ['corp.example.com'] }));
const office = compile(
  access({
    policy: {
      allow: { and: [{ authenticated_user: true }, { source_ip: ['10.0.0.0/8', '192.168.0.0/16'] }, { time_of_day: { timezone: 'Europe/Amsterdam', after: '7:00', before: '19:00' } }] },
    },
  }),
);

const claims = {
  sub: 'CiQ5OGQ4YjQ1Ny1lMGI2LTRhOGQtOTk0Yi1hYjJiNTc4NmU2NjYSBWxvY2Fs',
  email: 'alice@corp.example.com',
  email_verified: true,
  name: 'Alice Example',
  groups: ['everyone', 'engineering', 'oncall', 'berlin'],
  address: { country: 'DE', locality: 'Berlin' },
};
const alice: Identity = {
  kind: 'session',
  sessionId: 'Jk1HpYz3SXRRRqMbquw8YEeE1zN9aGUm',
  userId: claims.sub,
  email: claims.email,
  name: claims.name,
  groups: claims.groups,
  claims,
  session: null,
};

function request(path: string): ProxyRequest {
  return {
    method: 'GET',
    path,
    query: '',
    host: 'app3.corp.example.com',
    port: null,
    headers: ['host', 'app3.corp.example.com', 'accept', 'application/json', 'cookie', '_pomerium=abc'],
    remoteAddress: '10.1.2.3',
    secure: true,
    requestId: 'r',
  };
}

const ok = request('/api/orders/42');
const admin = request('/api/admin/users');
const now = new Date();
const okInput = policyInput(ok, alice, '10.1.2.3', now);
const anonymousInput = policyInput(ok, null, '10.1.2.3', now);

const n = 500_000;
const results = [
  measure('realistic policy: evaluate, allowed', n, () => realistic.evaluate(okInput).allow),
  measure('realistic policy: evaluate, anonymous', n, () => realistic.evaluate(anonymousInput).allow),
  measure('request: input + evaluate + decision, allowed', n, () => accessDecision(realistic.evaluate(policyInput(ok, alice, '10.1.2.3', new Date())))),
  measure('request: input + evaluate + decision, denied', n, () => accessDecision(realistic.evaluate(policyInput(admin, alice, '10.1.2.3', new Date())))),
  measure('request: allowed_domains only (legacy)', n, () => accessDecision(legacy.evaluate(policyInput(ok, alice, '10.1.2.3', new Date())))),
  measure('request: source_ip + time_of_day', n, () => accessDecision(office.evaluate(policyInput(ok, alice, '10.1.2.3', new Date())))),
  measure('realistic policy: explain (policy test, error details)', 100_000, () => realistic.explain(okInput).result.allow),
  measure('compile the realistic route policy (per config)', 20_000, () =>
    compileRouteAccess(access({ policy: { allow: { and: [{ domain: 'corp.example.com' }, { groups: 'engineering' }, { http_path: { starts_with: '/api/' } }] } } })).ok,
  ),
];

const width = Math.max(...results.map((r) => r.name.length));
console.log(`${'case'.padEnd(width)}  ${'median ns/op'.padStart(12)}  ${'best ns/op'.padStart(10)}`);
for (const r of results) {
  console.log(`${r.name.padEnd(width)}  ${r.median.toFixed(1).padStart(12)}  ${r.best.toFixed(1).padStart(10)}`);
}
console.log(`(${ROUNDS} timed rounds per case, node ${process.version}; sink ${sinkBit()})`);
