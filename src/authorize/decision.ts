// The access decision for a route, from its legacy allow options. The
// policy language (PPL) and its reasons come with the authorization issue;
// until then a route that carries a `policy` block is refused rather than
// guessed at, and says so.
import type { Route } from '../config/types.js';
import type { Identity } from '../authenticate/sessions.js';
import type { ProxyRequest } from '../proxy/request.js';
import { headerValue } from '../proxy/request.js';

export type Decision =
  | { readonly kind: 'allow'; readonly reason: string }
  | { readonly kind: 'login' }
  | { readonly kind: 'deny'; readonly reason: string };

const ALLOW_PUBLIC: Decision = Object.freeze({ kind: 'allow', reason: 'public' });
const ALLOW_PREFLIGHT: Decision = Object.freeze({ kind: 'allow', reason: 'cors-preflight' });
const LOGIN: Decision = Object.freeze({ kind: 'login' });

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (Pomerium's cors_preflight criterion). */
export function isCorsPreflight(req: ProxyRequest): boolean {
  return (
    req.method === 'OPTIONS' &&
    headerValue(req.headers, 'origin') !== undefined &&
    headerValue(req.headers, 'access-control-request-method') !== undefined
  );
}

/** The domain of an email address, lower-cased; '' unless there is exactly one '@'. */
export function emailDomain(email: string): string {
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@') || at === email.length - 1) return '';
  return email.slice(at + 1).toLowerCase();
}

function claimMatches(identity: Identity, claims: Readonly<Record<string, readonly unknown[]>>): string | null {
  for (const [name, wanted] of Object.entries(claims)) {
    const have = identity.claims[name];
    const values = Array.isArray(have) ? have : [have];
    for (const v of values) if (wanted.some((w) => w === v)) return name;
  }
  return null;
}

export function decide(route: Route, req: ProxyRequest, identity: Identity | null): Decision {
  const access = route.access;
  if (access.allowPublicUnauthenticatedAccess) return ALLOW_PUBLIC;
  if (access.corsAllowPreflight && isCorsPreflight(req)) return ALLOW_PREFLIGHT;
  if (identity === null) return LOGIN;
  if (access.policy !== null) return { kind: 'deny', reason: 'the policy language is not supported by this version of Postern' };
  if (access.allowAnyAuthenticatedUser) return { kind: 'allow', reason: 'authenticated-user' };
  const email = identity.email.toLowerCase();
  for (const user of access.allowedUsers) {
    if (user === identity.userId || (email !== '' && user.toLowerCase() === email)) return { kind: 'allow', reason: 'user-ok' };
  }
  const domain = emailDomain(identity.email);
  if (domain !== '' && access.allowedDomains.some((d) => d.toLowerCase() === domain)) return { kind: 'allow', reason: 'domain-ok' };
  const claim = claimMatches(identity, access.allowedIdpClaims);
  if (claim !== null) return { kind: 'allow', reason: `claim-ok: ${claim}` };
  return { kind: 'deny', reason: 'user-unauthorized' };
}
