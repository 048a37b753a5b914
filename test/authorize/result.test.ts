import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { accessDecision, type AccessDecision } from '../../src/authorize/result.js';
import type { PolicyResult } from '../../src/authorize/ppl/compile.js';
import { REASONS, type Reason } from '../../src/authorize/ppl/reasons.js';

function result(allow: boolean, allowReasons: Reason[], deny: boolean, denyReasons: Reason[]): PolicyResult {
  return { allow, deny, allowReasons, denyReasons };
}

// pom:authorize/check_response.go handleResult, in its order.
const cases: ReadonlyArray<readonly [string, PolicyResult, AccessDecision]> = [
  ['allowed', result(true, ['email-ok'], false, []), { kind: 'allow' }],
  ['nothing allows: 403 with the allow reasons', result(false, ['email-unauthorized'], false, []), { kind: 'deny', status: 403, reasons: ['email-unauthorized'] }],
  ['a route with no rule: 403 without reasons', result(false, [], false, []), { kind: 'deny', status: 403, reasons: [] }],
  ['deny wins over allow: 403 with the deny reasons', result(true, ['accept'], true, ['http-path-ok']), { kind: 'deny', status: 403, reasons: ['http-path-ok'] }],
  ['not signed in (allow) → login', result(false, ['user-unauthenticated'], false, []), { kind: 'login' }],
  ['not signed in (deny, even on a public route) → login', result(true, ['accept'], false, ['user-unauthenticated']), { kind: 'login' }],
  ['not signed in wins over a deny', result(false, ['user-unauthenticated'], true, ['http-path-ok']), { kind: 'login' }],
  [
    'no client certificate → 495, never a login',
    result(false, ['user-unauthenticated'], true, ['client-certificate-required']),
    { kind: 'deny', status: 495, reasons: ['client-certificate-required'] },
  ],
  [
    'an invalid client certificate → 495',
    result(true, ['accept'], true, ['invalid-client-certificate']),
    { kind: 'deny', status: 495, reasons: ['invalid-client-certificate'] },
  ],
  ['a valid certificate denies nothing', result(true, ['accept'], false, ['valid-client-certificate']), { kind: 'allow' }],
  ['route-not-found → 404', result(false, ['route-not-found'], false, []), { kind: 'deny', status: 404, reasons: ['route-not-found'] }],
];

for (const [name, r, want] of cases) {
  test(`decision: ${name}`, () => assert.deepEqual(accessDecision(r), want));
}

test('property: a true deny never lets a request through; only allow without deny does', () => {
  const reasons = fc.subarray([...REASONS]);
  fc.assert(
    fc.property(fc.boolean(), reasons, fc.boolean(), reasons, (allow, ar, deny, dr) => {
      const d = accessDecision(result(allow, ar, deny, dr));
      if (d.kind === 'allow') assert.ok(allow && !deny);
    }),
  );
});
