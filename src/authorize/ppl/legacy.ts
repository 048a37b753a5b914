// A route's allow options as PPL, exactly as Pomerium's Policy.ToPPL
// (pom:config/policy_ppl.go) builds them: one `allow` rule whose `or` holds,
// in this order,
//   accept                  allow_public_unauthenticated_access
//   cors_preflight          cors_allow_preflight
//   authenticated_user      allow_any_authenticated_user
//   domain: {is: d}         each allowed_domains entry
//   claim/<k>: v            each value of each allowed_idp_claims key, keys sorted
//   user: {is: u}, email: {is: u}   each allowed_users entry (an id or an address)
// followed by the rules of the route's `policy`. The generated rule is left
// out when it is empty and the route has a `policy`; a route with neither
// keeps the empty rule, so it denies everyone (403, not a login).
// Which options may be combined is checked when the config is read
// (config/access.ts), as Pomerium's Policy.Validate does.
import type { RouteAccess } from '../../config/types.js';
import type { PplCriterion, PplPolicy, PplRule } from './ast.js';

function criterion(name: string, data: unknown, path: PplCriterion['path'], subPath = ''): PplCriterion {
  return { name, subPath, data, path };
}

/** The `allow` rule made from the route's allow options (possibly with no criteria). */
export function optionsRule(access: RouteAccess): PplRule {
  const or: PplCriterion[] = [];
  if (access.allowPublicUnauthenticatedAccess) or.push(criterion('accept', true, ['allow_public_unauthenticated_access']));
  if (access.corsAllowPreflight) or.push(criterion('cors_preflight', true, ['cors_allow_preflight']));
  if (access.allowAnyAuthenticatedUser) or.push(criterion('authenticated_user', true, ['allow_any_authenticated_user']));
  access.allowedDomains.forEach((d, i) => or.push(criterion('domain', { is: d }, ['allowed_domains', i])));
  for (const name of Object.keys(access.allowedIdpClaims).sort()) {
    access.allowedIdpClaims[name]!.forEach((v, i) => or.push(criterion('claim', v, ['allowed_idp_claims', name, i], name)));
  }
  access.allowedUsers.forEach((u, i) => {
    or.push(criterion('user', { is: u }, ['allowed_users', i]));
    or.push(criterion('email', { is: u }, ['allowed_users', i]));
  });
  return { action: 'allow', and: [], or, not: [], nor: [], path: [] };
}

/** The route's effective policy: its options' rule, then its embedded `policy` (already parsed), if any. */
export function routePpl(access: RouteAccess, embedded: PplPolicy | null): PplPolicy {
  const options = optionsRule(access);
  if (embedded === null) return { rules: [options] };
  return { rules: options.or.length > 0 ? [options, ...embedded.rules] : embedded.rules };
}
