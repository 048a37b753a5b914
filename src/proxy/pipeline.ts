// What happens to a normalised request: Postern's own endpoints first (on
// every host), then the route, then the access decision, then the upstream.
import type { HttpResponse } from 'uWebSockets.js';
import { Errors, type ErrorSpec } from '../errors.js';
import { errorResponse, writeResponse } from '../frontend/respond.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import { forward } from '../upstream/forward.js';
import type { RouteRuntime } from '../upstream/route-runtime.js';
import { headerValue, type ProxyRequest } from './request.js';
import type { Router } from './router.js';
import type { ProxyServices } from './services.js';
import { internalEndpoint } from './internal-endpoints.js';

export class Pipeline {
  readonly #services: ProxyServices;
  readonly #router: Router;
  readonly #runtimes: readonly RouteRuntime[];
  readonly #defaultPort: number;

  constructor(services: ProxyServices, router: Router, runtimes: readonly RouteRuntime[]) {
    this.#services = services;
    this.#router = router;
    this.#runtimes = runtimes;
    this.#defaultPort = services.config.insecureServer ? 80 : 443;
  }

  handle(res: HttpResponse, req: ProxyRequest, record: AccessRecord): void {
    const internal = internalEndpoint(req, this.#services.lifecycle.draining);
    if (internal) {
      if (internal.error) return this.#answerError(res, req, record, internal.error);
      record.status = internal.status;
      record.details = 'internal';
      const headers = ['content-type', internal.contentType, 'x-request-id', req.requestId, 'cache-control', 'no-store'];
      for (const h of this.#services.config.setResponseHeaders) headers.push(h.name, h.value);
      writeResponse(res, internal.status, headers, internal.body, this.#services.lifecycle.draining, req.method === 'HEAD');
      record.size = req.method === 'HEAD' ? 0 : Buffer.byteLength(internal.body);
      this.#services.accessLog.write(record, performance.now());
      return;
    }
    const route = this.#router.match(req.host, req.port ?? this.#defaultPort, req.path);
    if (route === null) return this.#answerError(res, req, record, Errors.ROUTE_NOT_FOUND);
    record.upstreamCluster = route.name;
    // Until sign-in exists, a route is reachable only when it is public:
    // Pomerium answers 403 for a policy that allows nobody.
    if (!route.access.allowPublicUnauthenticatedAccess) return this.#answerError(res, req, record, Errors.FORBIDDEN);
    forward(res, req, this.#runtimes[route.index]!, this.#services, record);
  }

  #answerError(res: HttpResponse, req: ProxyRequest, record: AccessRecord, spec: ErrorSpec): void {
    const page = errorResponse(
      spec,
      req.requestId,
      headerValue(req.headers, 'accept'),
      headerValue(req.headers, 'content-type'),
      this.#services.config.setResponseHeaders,
    );
    writeResponse(res, page.status, page.headers, page.body, this.#services.lifecycle.draining, req.method === 'HEAD');
    record.status = page.status;
    record.details = spec.code;
    record.size = req.method === 'HEAD' ? 0 : Buffer.byteLength(page.body);
    this.#services.accessLog.write(record, performance.now());
  }
}
