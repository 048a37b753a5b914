// What happens to a normalised request: Postern's own endpoints first (on
// every host), then the route, then who is calling and the access decision,
// then the upstream.
import type { HttpResponse } from 'uWebSockets.js';
import { Errors, type ErrorSpec } from '../errors.js';
import { errorResponse, writeResponse } from '../frontend/respond.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import { forward } from '../upstream/forward.js';
import { headerValue, joinedHeader, type ProxyRequest } from './request.js';
import type { LiveRoutes } from './route-table.js';
import type { ProxyServices } from './services.js';
import { internalEndpoint, isUnder } from './internal-endpoints.js';
import type { Authentication } from '../authenticate/setup.js';
import type { Credentials } from '../authenticate/credentials.js';
import { policyInput } from '../authorize/input.js';
import { accessDecision } from '../authorize/result.js';
import { clientAddress } from './client-address.js';
import { jwksResponse, wellKnownPomeriumResponse } from '../identity/well-known.js';

const ANONYMOUS: Credentials = Object.freeze({ identity: null, badCookie: false, fromHeader: false });

export class Pipeline {
  readonly #services: ProxyServices;
  readonly #routes: LiveRoutes;
  readonly #defaultPort: number;
  readonly #authentication: Authentication | null;

  /** `authentication` is null when no route needs sign-in (the configuration guarantees it). */
  constructor(services: ProxyServices, routes: LiveRoutes, authentication: Authentication | null) {
    this.#services = services;
    this.#routes = routes;
    this.#defaultPort = services.config.insecureServer ? 80 : 443;
    this.#authentication = authentication;
  }

  handle(res: HttpResponse, req: ProxyRequest, record: AccessRecord): void {
    const internal = internalEndpoint(req, this.#services.lifecycle.draining, this.#services.storageHealth);
    if (internal) {
      if (internal.error) return this.#answerError(res, req, record, internal.error);
      const headers = ['content-type', internal.contentType, 'x-request-id', req.requestId, 'cache-control', 'no-store'];
      return this.#answer(res, req, record, internal.status, headers, internal.body, 'internal');
    }
    const authn = this.#authentication;
    // Served on every host, the authenticate host included (Pomerium does).
    if (isUnder(req.path, '/.well-known/pomerium')) return this.#wellKnown(res, req, record);
    if (authn !== null && req.host === authn.service.host) {
      authn.service.handleAuthenticateHost(res, req, record);
      return;
    }
    if (isUnder(req.path, '/.pomerium')) {
      // Postern's own pages show any session; a programmatic login signs in
      // with the provider of the route this host serves.
      const table = this.#routes.table;
      const hostRoute = table.router.match(req.host, req.port ?? this.#defaultPort, '/');
      const idpId = authn === null ? '' : hostRoute !== null ? table.runtimes[hostRoute.index]!.idpId : authn.providers.default.id;
      if (authn === null || !authn.service.handleRouteEndpoint(res, req, authn.credentials.resolve(req, null), record, idpId)) {
        this.#answerError(res, req, record, Errors.ENDPOINT_NOT_FOUND);
      }
      return;
    }
    // One table for the whole request, even if a reload swaps it meanwhile.
    const table = this.#routes.table;
    const route = table.router.match(req.host, req.port ?? this.#defaultPort, req.path);
    if (route === null) return this.#answerError(res, req, record, Errors.ROUTE_NOT_FOUND);
    record.upstreamCluster = route.name;
    const runtime = table.runtimes[route.index]!;
    const policy = runtime.policy;
    // Who is calling matters to a policy that reads identity, and to a route
    // that passes identity upstream (a signed-in user on a public route is
    // still named there, as in Pomerium); any other route skips the session
    // lookup entirely.
    let creds: Credentials = ANONYMOUS;
    const plan = runtime.identityPlan;
    if (authn !== null && (policy.reads.identity || plan.needsAssertion || plan.dynamicTemplates)) {
      creds = authn.credentials.resolve(req, runtime.idpId);
    }
    // Every X-Forwarded-For header counts, as one list (hops are counted across all of them).
    const ip = clientAddress(joinedHeader(req.headers, 'x-forwarded-for') || undefined, req.remoteAddress, this.#services.config.xffNumTrustedHops);
    const result = policy.evaluate(policyInput(req, creds.identity, ip, new Date()));
    this.#services.authorizeLog.write(req, ip, route.name, creds.identity, result);
    const decision = accessDecision(result);
    if (decision.kind === 'allow') {
      forward(res, req, runtime, this.#services, record, creds.identity);
      return;
    }
    if (decision.kind === 'login') {
      // Without an authenticate service nobody can sign in: a plain 401.
      if (authn === null) return this.#answerError(res, req, record, Errors.UNAUTHENTICATED);
      authn.service.loginRequired(res, req, creds, record, runtime.idpId);
      return;
    }
    const spec = decision.status === 495 ? Errors.CLIENT_CERTIFICATE_REQUIRED : decision.status === 404 ? Errors.ROUTE_NOT_FOUND : Errors.FORBIDDEN;
    // The reasons are shown only where the route asks for it (show_error_details).
    const detail = route.access.showErrorDetails ? `${spec.message} (${decision.reasons.join(', ')})` : undefined;
    this.#answerError(res, req, record, spec, detail);
  }

  /** `/.well-known/pomerium` and its JWKS: public keys only, for upstreams that verify the assertion. */
  #wellKnown(res: HttpResponse, req: ProxyRequest, record: AccessRecord): void {
    const path = req.path;
    let answer;
    if (path === '/.well-known/pomerium' || path === '/.well-known/pomerium/') {
      const authority = req.port === null ? req.host : `${req.host}:${req.port}`;
      answer = wellKnownPomeriumResponse(authority, this.#services.config.authenticateServiceUrl, req.method, req.headers);
    } else if (path === '/.well-known/pomerium/jwks.json') {
      answer = jwksResponse(this.#services.identity.jwks, req.method, req.headers);
    } else {
      return this.#answerError(res, req, record, Errors.ENDPOINT_NOT_FOUND);
    }
    this.#answer(res, req, record, answer.status, [...answer.headers, 'x-request-id', req.requestId], answer.body, 'well-known');
  }

  #answerError(res: HttpResponse, req: ProxyRequest, record: AccessRecord, spec: ErrorSpec, detail?: string): void {
    // No security headers here: #answer adds them to every answer of ours.
    const page = errorResponse(spec, req.requestId, headerValue(req.headers, 'accept'), headerValue(req.headers, 'content-type'), [], detail);
    this.#answer(res, req, record, page.status, [...page.headers], page.body, spec.code);
  }

  /** Writes an answer Postern gives itself, with the global response headers, and logs it. */
  #answer(res: HttpResponse, req: ProxyRequest, record: AccessRecord, status: number, headers: string[], body: string, details: string): void {
    for (const h of this.#services.config.setResponseHeaders) headers.push(h.name, h.value);
    writeResponse(res, status, headers, body, this.#services.lifecycle.draining, req.method === 'HEAD');
    record.size = req.method === 'HEAD' ? 0 : Buffer.byteLength(body);
    this.#services.accessLog.finish(record, status, details);
  }
}
