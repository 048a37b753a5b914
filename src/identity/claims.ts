// What X-Pomerium-Jwt-Assertion says (reference §6.1, pom:authorize/evaluator/
// headers_evaluator_evaluation.go getJWTPayload): who is calling, for which
// host, until when. Pure: the caller supplies the clock and the jti.
import type { Identity } from '../authenticate/sessions.js';
import type { JwtIssuerFormat } from '../config/types.js';

/** Seconds an assertion is valid (Pomerium: iat + 5 min). */
export const ASSERTION_LIFETIME_S = 300;

/** The claims every assertion carries; jwt_claims_headers cannot replace them. */
export const STANDARD_CLAIMS: ReadonlySet<string> = new Set(['iss', 'aud', 'jti', 'iat', 'exp', 'sub', 'user', 'email', 'groups', 'sid', 'name']);

export type ClaimValue = string | number | readonly string[];
export type AssertionClaims = Readonly<Record<string, ClaimValue>>;

const NO_GROUPS: readonly string[] = Object.freeze([]);
const NO_CLAIMS: Readonly<Record<string, unknown>> = Object.freeze({});

/** `iss`: the host, or `https://<host>/` with jwt_issuer_format uri. */
export function issuerFor(host: string, format: JwtIssuerFormat): string {
  return format === 'uri' ? `https://${host}/` : host;
}

/**
 * The payload for `identity` (null: nobody signed in, as on a public route)
 * at `host`, the request's host without port. `extraClaims` are the
 * non-standard claims named in jwt_claims_headers: each is the identity's
 * claim values joined with `,`, and absent when the identity has no such claim.
 */
export function assertionClaims(
  identity: Identity | null,
  host: string,
  format: JwtIssuerFormat,
  extraClaims: readonly string[],
  iatSeconds: number,
  jti: string,
): AssertionClaims {
  const claims = identity?.claims ?? NO_CLAIMS;
  const names = claimStrings(claims, 'name');
  const out: Record<string, ClaimValue> = {
    iss: issuerFor(host, format),
    aud: host,
    jti,
    iat: iatSeconds,
    exp: iatSeconds + ASSERTION_LIFETIME_S,
    // Service accounts act as their user id, like sessions.
    sub: identity?.userId ?? '',
    user: identity?.userId ?? '',
    email: identity?.email ?? '',
    // An array even when empty: some libraries choke on null (pomerium#5393).
    groups: identity?.groups ?? NO_GROUPS,
    sid: identity?.sessionId ?? '',
    name: names !== null ? names.join(',') : (identity?.name ?? ''),
  };
  for (const claim of extraClaims) {
    const values = claimStrings(claims, claim);
    if (values !== null) out[claim] = values.join(',');
  }
  return out;
}

/** The JSON of the payload with its keys sorted, as Go's encoding/json writes a map. */
export function payloadJson(claims: AssertionClaims): string {
  return JSON.stringify(claims, Object.keys(claims).sort());
}

/**
 * A claim as Pomerium stores it: flattened (a nested object `{a: {b: 1}}`
 * is claim `a.b`) and as a list of scalars rendered to strings, non-scalar
 * list members dropped. null when the identity has no such claim.
 */
export function claimStrings(claims: Readonly<Record<string, unknown>>, name: string): string[] | null {
  const value = flattenedClaim(claims, name);
  if (value === undefined) return null;
  if (!Array.isArray(value)) {
    const s = scalarString(value);
    return s === null ? [] : [s];
  }
  const out: string[] = [];
  for (const item of value) {
    const s = scalarString(item);
    if (s !== null) out.push(s);
  }
  return out;
}

/** The value at a flattened name; undefined when absent or when it names an object (flattening leaves only its leaves). */
function flattenedClaim(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) {
    const v = claims[name];
    return isObject(v) ? undefined : v;
  }
  for (let dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
    const head = claims[name.slice(0, dot)];
    if (Object.hasOwn(claims, name.slice(0, dot)) && isObject(head)) {
      const found = flattenedClaim(head as Record<string, unknown>, name.slice(dot + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function isObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function scalarString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloatString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return null;
}

/**
 * A number as Go's fmt.Sprint prints a float64 (claims are protobuf numbers,
 * i.e. float64): the shortest digits that round-trip, in %e form when the
 * exponent is below -4 or at least 6 the way strconv's shortest %g decides
 * (`1.7e+09`, `1e+06`, `123456`, `0.0001`, `1e-05`).
 */
export function goFloatString(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${mantissa}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = n < 0 ? '-' : '';
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  return digits.length <= intLen ? sign + digits + '0'.repeat(intLen - digits.length) : `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}
