// The authorization step of one request as the proxy runs it inline today
// (src/proxy/pipeline.ts, then src/upstream/forward.ts): the policy input,
// the route's compiled policy, the decision and, when the request may pass,
// the identity headers (an assertion cached per session and host, signed
// again only near its expiry). Both sides of bench/micro/offload.ts run this
// very class: inline on the main thread, and in the piscina worker
// policy-eval.ts. Built from settings that survive a structured clone, so a
// worker compiles its own copy of the policy once, from workerData.
import type { Identity } from '../src/authenticate/sessions.js';
import { policyInput } from '../src/authorize/input.js';
import type { CompiledPolicy } from '../src/authorize/ppl/compile.js';
import { accessDecision, type AccessDecision } from '../src/authorize/result.js';
import { compileRoutePolicy } from '../src/authorize/route-policy.js';
import type { Route, RouteAccess } from '../src/config/types.js';
import { AssertionSigner } from '../src/identity/assertion.js';
import { appendIdentityHeaders } from '../src/identity/upstream-identity.js';
import type { ProxyRequest } from '../src/proxy/request.js';
import { signingKeyFromPem, type SigningSettings } from './assertion-mint.js';

export interface AuthorizeSettings extends SigningSettings {
  readonly access: RouteAccess;
  /** The route's pass_identity_headers, else the global one (as planRoute resolves it). */
  readonly passIdentityHeaders: boolean;
}

export interface AuthorizeTask {
  readonly request: ProxyRequest;
  /** Who is calling (the session the credentials resolved to), null for nobody. */
  readonly identity: Identity | null;
  /** The client address after xff_num_trusted_hops. */
  readonly ip: string;
  readonly nowMs: number;
}

export interface AuthorizeOutcome {
  readonly decision: AccessDecision;
  /** The headers to add upstream when the request may pass and identity headers pass; null otherwise. */
  readonly identityHeaders: string[] | null;
}

export class AuthorizeStep {
  readonly #policy: CompiledPolicy;
  readonly #signer: AssertionSigner;
  readonly #passIdentityHeaders: boolean;
  /**
   * AssertionSigner reads one field of the route, jwtIssuerFormat; null
   * there defers to the issuer format the signer was built with, which the
   * settings already resolved for this route.
   */
  readonly #route = { jwtIssuerFormat: null } as unknown as Route;

  constructor(settings: AuthorizeSettings) {
    this.#policy = compileRoutePolicy(settings.access);
    this.#signer = new AssertionSigner([signingKeyFromPem(settings.signingKeyPem)], {
      claimHeaders: settings.claimHeaders,
      issuerFormat: settings.issuerFormat,
    });
    this.#passIdentityHeaders = settings.passIdentityHeaders;
  }

  run(task: AuthorizeTask): AuthorizeOutcome {
    const { request, identity } = task;
    const decision = accessDecision(this.#policy.evaluate(policyInput(request, identity, task.ip, new Date(task.nowMs))));
    if (decision.kind !== 'allow' || !this.#passIdentityHeaders) return { decision, identityHeaders: null };
    const signed = this.#signer.assertionFor(identity, this.#route, request.host, task.nowMs);
    const identityHeaders: string[] = [];
    appendIdentityHeaders(identityHeaders, signed, request.headers);
    return { decision, identityHeaders };
  }
}
