// jwt_claims_headers (reference §6.2) and the X-Pomerium-Jwt-Assertion-For
// carry-over (§6.1): headers derived from the assertion's claims, and the
// assertion of the previous hop in a chain of Pomerium-protected services.
import type { ClaimHeader } from '../config/types.js';
import { isToken } from '../config/headers.js';
import { isHopByHopRequest } from '../upstream/hop-by-hop.js';
import { STANDARD_CLAIMS, type AssertionClaims } from './claims.js';
import { joinedHeader } from '../proxy/request.js';

export const ASSERTION_HEADER = 'x-pomerium-jwt-assertion';
export const ASSERTION_FOR_HEADER = 'x-pomerium-jwt-assertion-for';
/** The list form's header name is this prefix and the claim name, verbatim (pom:internal/httputil PomeriumJWTHeaderName). */
export const CLAIM_HEADER_PREFIX = 'x-pomerium-claim-';

/** The list form (`[email, groups]` or `"email,groups"`): one `x-pomerium-claim-<claim>` header per claim. */
export function claimHeadersFromList(claims: readonly string[]): ClaimHeader[] {
  return claims.map((claim) => {
    const name = CLAIM_HEADER_PREFIX + claim;
    return { name, lname: name.toLowerCase(), claim };
  });
}

/**
 * The claims of the string form: separated by commas or whitespace, as
 * Pomerium splits it (strings.FieldsFunc on ',' and unicode.IsSpace).
 */
export function splitClaimList(text: string): string[] {
  return text.split(/[\s,]+/u).filter((claim) => claim !== '');
}

/**
 * Why `name` cannot carry a claim, or null. It must be a header name, and
 * not one that frames the message or that Postern sets itself: a claim
 * value there would change how the upstream reads the request.
 */
export function claimHeaderNameProblem(name: string): string | null {
  if (!isToken(name)) return 'is not a valid header name (RFC 9110 token); use the map form to choose a header name for this claim';
  const lname = name.toLowerCase();
  if (lname === 'host' || lname === 'content-length' || isHopByHopRequest(lname)) return `cannot carry a claim: ${lname} frames the request`;
  if (lname === ASSERTION_HEADER || lname === ASSERTION_FOR_HEADER) return `cannot carry a claim: Postern sets ${lname} itself`;
  return null;
}

/** The non-standard claims jwt_claims_headers names, once each: they are added to the assertion. */
export function extraClaimsOf(headers: readonly ClaimHeader[]): string[] {
  const out: string[] = [];
  for (const h of headers) if (!STANDARD_CLAIMS.has(h.claim) && !out.includes(h.claim)) out.push(h.claim);
  return out;
}

/**
 * The claim headers for an assertion's claims, flat `[lname, value, …]` in
 * configuration order. Lists are joined with `,`; a claim the assertion does
 * not carry still sends its header, empty (as Pomerium does).
 */
export function claimHeaderValues(headers: readonly ClaimHeader[], claims: AssertionClaims): string[] {
  const out: string[] = [];
  for (const h of headers) {
    const v = claims[h.claim];
    out.push(h.lname, v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v.join(','));
  }
  return out;
}

/**
 * X-Pomerium-Jwt-Assertion-For for the upstream, from the headers the client
 * sent (flat lower-case pairs, before our own are stripped): its
 * X-Pomerium-Jwt-Assertion-For if non-empty, else its X-Pomerium-Jwt-Assertion
 * if non-empty, else null. Repeated headers are joined with `,`, as Envoy
 * hands them to Pomerium. (pom:authorize/evaluator/evaluator.go carryOverJWTAssertion)
 */
export function assertionForHeader(headers: readonly string[]): string | null {
  const carried = joinedHeader(headers, ASSERTION_FOR_HEADER);
  if (carried !== '') return carried;
  const previous = joinedHeader(headers, ASSERTION_HEADER);
  return previous === '' ? null : previous;
}

