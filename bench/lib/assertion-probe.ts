// The check before the policy route is measured: the upstream really
// receives X-Pomerium-Jwt-Assertion, and it verifies the way an upstream
// would verify it — against the JWKS Postern publishes, for this host, about
// the bench user. The load runs themselves only see whether the header was
// there (the upstream answers 500 without it); this looks inside once.
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { ASSERTION_ECHO_PATH, HELLO_BODY } from './hello.js';
import type { LoadRequest } from './load.js';
import { httpGet } from './servers.js';

const JWKS_PATH = '/.well-known/pomerium/jwks.json';

/** What the record keeps of the assertion: its header and which claims it carries, not the token. */
export interface AssertionSeen {
  readonly alg: string;
  readonly kid: string;
  readonly lifetimeSeconds: number;
  readonly email: string;
  readonly groups: readonly string[];
  readonly claimNames: readonly string[];
}

/**
 * Asks the upstream, through Postern with `request`'s session, for the
 * assertion it received, and verifies it against Postern's JWKS on the same
 * host: signature, audience = the route's host, the bench user's email and
 * group. Throws, saying what is wrong, otherwise.
 */
export async function expectVerifiedAssertion(request: LoadRequest, email: string, group: string): Promise<AssertionSeen> {
  const echo = await httpGet({ ...request, path: ASSERTION_ECHO_PATH });
  if (echo.status !== 200 || echo.body === HELLO_BODY || echo.body.split('.').length !== 3) {
    throw new Error(
      `the upstream did not receive an X-Pomerium-Jwt-Assertion through ${request.host}: ` +
        `${echo.status} ${JSON.stringify(echo.body.slice(0, 200))}`,
    );
  }
  const published = await httpGet({ ...request, path: JWKS_PATH, headers: [] });
  if (published.status !== 200) throw new Error(`${JWKS_PATH} on ${request.host} answered ${published.status}`);
  const jwks = JSON.parse(published.body) as JSONWebKeySet;
  let verified;
  try {
    verified = await jwtVerify(echo.body, createLocalJWKSet(jwks), { audience: request.host });
  } catch (err) {
    throw new Error(`the assertion the upstream received does not verify against ${JWKS_PATH}: ${(err as Error).message}`);
  }
  const { payload, protectedHeader } = verified;
  const groups = Array.isArray(payload.groups) ? (payload.groups as unknown[]).map(String) : [];
  if (payload.email !== email || !groups.includes(group)) {
    throw new Error(
      `the assertion names ${JSON.stringify(payload.email)} in ${JSON.stringify(groups)}, not ${email} in group ${group}`,
    );
  }
  return {
    alg: protectedHeader.alg,
    kid: protectedHeader.kid ?? '',
    lifetimeSeconds: (payload.exp ?? 0) - (payload.iat ?? 0),
    email,
    groups,
    claimNames: Object.keys(payload).sort(),
  };
}
