// From a policy result to what happens to the request, in the order of
// Pomerium's handleResult (pom:authorize/check_response.go):
// 1. deny reasons say the client certificate is missing or invalid → 495,
//    never a login;
// 2. any reason (allow or deny) is user-unauthenticated → login (a 302 for
//    browsers, a 401 otherwise: the authenticate service decides). So a
//    deny rule on an identity criterion makes even a public route ask an
//    anonymous user to sign in, as in Pomerium;
// 3. deny holds → denied with the deny reasons;
// 4. allow holds → allowed;
// 5. otherwise → denied with the allow reasons.
// A denial is 404 when its reasons say route-not-found, 495 when they name
// a client-certificate problem, else 403.
import type { PolicyResult } from './ppl/compile.js';
import type { Reason } from './ppl/reasons.js';

export type AccessDecision =
  | { readonly kind: 'allow' }
  | { readonly kind: 'login' }
  | { readonly kind: 'deny'; readonly status: 403 | 404 | 495; readonly reasons: readonly Reason[] };

const ALLOW: AccessDecision = Object.freeze({ kind: 'allow' });
const LOGIN: AccessDecision = Object.freeze({ kind: 'login' });

function certificateProblem(reasons: readonly Reason[]): boolean {
  return reasons.includes('client-certificate-required') || reasons.includes('invalid-client-certificate');
}

function denied(reasons: readonly Reason[]): AccessDecision {
  const status = reasons.includes('route-not-found') ? 404 : certificateProblem(reasons) ? 495 : 403;
  return { kind: 'deny', status, reasons };
}

export function accessDecision(result: PolicyResult): AccessDecision {
  if (certificateProblem(result.denyReasons)) return denied(result.denyReasons);
  if (result.allowReasons.includes('user-unauthenticated') || result.denyReasons.includes('user-unauthenticated')) return LOGIN;
  if (result.deny) return denied(result.denyReasons);
  if (result.allow) return ALLOW;
  return denied(result.allowReasons);
}
