// The identity Postern gives an upstream: the signing keys, the published
// JWKS and the assertion signer with its cache (built once at start), and
// per route whether identity headers pass and the compiled
// set_request_headers templates (planRoute, for each route of each
// configuration: upstream/route-runtime.ts). The request path calls three functions:
// assertionFor (cached), appendIdentityHeaders and, for routes with
// dynamic templates, templateContext.
import type { Identity } from '../authenticate/sessions.js';
import type { Config, Route } from '../config/types.js';
import { AssertionSigner, type SignedAssertion } from './assertion.js';
import { ASSERTION_FOR_HEADER, ASSERTION_HEADER, assertionForHeader } from './claim-headers.js';
import { signingKeysOf, type SigningKey } from './signing-keys.js';
import { compileHeaderTemplate, type HeaderTemplate, type TemplateContext } from './templates.js';
import { publishJwks, type PublishedJwks } from './well-known.js';

/** What a route needs from identity on every request, worked out once. */
export interface RouteIdentityPlan {
  /** `pass_identity_headers` of the route, else the global one. */
  readonly passIdentityHeaders: boolean;
  /** One per route.setRequestHeaders entry, same order. */
  readonly templates: readonly HeaderTemplate[];
  /** Some template looks something up per request (else every `constant` is set). */
  readonly dynamicTemplates: boolean;
  /** An assertion is needed: identity headers pass, or a template renders `${pomerium.jwt}`. */
  readonly needsAssertion: boolean;
}

export class UpstreamIdentity {
  readonly keys: readonly SigningKey[];
  readonly jwks: PublishedJwks;
  readonly signer: AssertionSigner;
  /**
   * Lower-case names of the jwt_claims_headers headers. A client's copies
   * must never reach an upstream: with identity headers passed they are
   * overwritten, without they are removed (as Pomerium does).
   */
  readonly claimHeaderNames: ReadonlySet<string>;
  constructor(config: Config) {
    this.keys = signingKeysOf(config);
    this.jwks = publishJwks(this.keys);
    this.signer = new AssertionSigner(this.keys, { claimHeaders: config.jwtClaimsHeaders, issuerFormat: config.jwtIssuerFormat });
    this.claimHeaderNames = new Set(config.jwtClaimsHeaders.map((h) => h.lname));
  }
}

export function planRoute(route: Route, globalPassIdentityHeaders: boolean): RouteIdentityPlan {
  const passIdentityHeaders = route.access.passIdentityHeaders ?? globalPassIdentityHeaders;
  const templates = route.setRequestHeaders.map((entry) => compileHeaderTemplate(entry.value));
  return {
    passIdentityHeaders,
    templates,
    dynamicTemplates: templates.some((t) => t.constant === null),
    needsAssertion: passIdentityHeaders || templates.some((t) => t.usesJwt),
  };
}

/**
 * Appends the identity headers for a route that passes them:
 * X-Pomerium-Jwt-Assertion, X-Pomerium-Jwt-Assertion-For (from the
 * client's headers, read before our own are stripped) and the claim headers.
 */
export function appendIdentityHeaders(out: string[], signed: SignedAssertion, clientHeaders: readonly string[]): void {
  out.push(ASSERTION_HEADER, signed.token);
  const carried = assertionForHeader(clientHeaders);
  if (carried !== null) out.push(ASSERTION_FOR_HEADER, carried);
  const claims = signed.claimHeaders;
  for (let i = 0; i < claims.length; i++) out.push(claims[i] as string);
}

/** What templates may read for this request. Client certificates are not read yet: their lookups render ''. */
export function templateContext(identity: Identity | null, signed: SignedAssertion | null, clientHeaders: readonly string[]): TemplateContext {
  const session = identity?.session?.data;
  return {
    accessToken: session?.oauth.accessToken ?? '',
    idToken: session?.idToken.raw ?? '',
    jwt: signed?.token ?? '',
    headers: clientHeaders,
    clientCertificate: null,
  };
}
