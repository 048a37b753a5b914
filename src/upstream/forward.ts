// Sends a request that may pass to one of its route's upstreams: picks the
// target, builds the clean upstream request (our credentials removed, the
// forwarding headers set, the path rewritten) and starts the exchange.
import type { DispatchOptions } from './http1/index.js';
import type { HttpResponse } from 'uWebSockets.js';
import { RequestBody } from '../frontend/request-body.js';
import { stripSessionQuery } from '../proxy/clean-upstream.js';
import type { ProxyRequest } from '../proxy/request.js';
import type { ProxyServices } from '../proxy/services.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import { Exchange } from './exchange.js';
import { buildUpstreamHeaders, type IdentityHeaders } from './request-headers.js';
import type { Identity } from '../authenticate/sessions.js';
import { appendIdentityHeaders, templateContext } from '../identity/upstream-identity.js';
import { upstreamPath, upstreamTarget } from './rewrite-path.js';
import type { RouteRuntime } from './route-runtime.js';

/** True when the framing headers announce a body (the front end has validated them). */
function announcesBody(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name === 'transfer-encoding') return true;
    if (name === 'content-length') return Number(headers[i + 1]) > 0;
  }
  return false;
}

/** Node timers overflow past 2^31-1 ms (about 24.8 days); longer durations are as good as none. */
const TIMER_MAX_MS = 2 ** 31 - 1;
export function timerMs(ms: number): number {
  return ms > TIMER_MAX_MS ? 0 : ms;
}

/** The smaller of two limits where 0 means "no limit". */
export function strictestLimit(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

/**
 * The signed identity and rendered templates this request adds, or null when
 * the route needs neither (no assertion is signed or looked up then).
 */
function identityHeaders(req: ProxyRequest, rt: RouteRuntime, services: ProxyServices, identity: Identity | null): IdentityHeaders | null {
  const ui = services.identity;
  const plan = rt.identityPlan;
  const route = rt.route;
  if (!plan.needsAssertion && !plan.dynamicTemplates) return null;
  // Cached per (session, host): a signature only when the cached one is about to expire.
  const signed = plan.needsAssertion ? ui.signer.assertionFor(identity, route, req.host, Date.now()) : null;
  const add: string[] = [];
  if (plan.passIdentityHeaders) appendIdentityHeaders(add, signed!, req.headers);
  let setValues: string[] | null = null;
  if (plan.dynamicTemplates) {
    const ctx = templateContext(identity, signed, req.headers);
    setValues = plan.templates.map((t) => t.constant ?? t.render(ctx));
  }
  return { add, setValues };
}

/** `identity`: who is calling, null on a public route or for an anonymous caller. */
export function forward(
  res: HttpResponse,
  req: ProxyRequest,
  rt: RouteRuntime,
  services: ProxyServices,
  record: AccessRecord,
  identity: Identity | null,
): void {
  const { route } = rt;
  const config = services.config;
  const target = rt.balancer.pick();
  const to = route.to[target]!;
  const headers = buildUpstreamHeaders(req, route, to, services.headerOptions, identityHeaders(req, rt, services, identity));
  const query = req.query.length > 0 ? stripSessionQuery(req.query) : '';
  // uWS must see onData attached before this handler returns.
  const body = announcesBody(req.headers) ? new RequestBody(res) : null;
  // The route timeout and timeout_write (Envoy's max_stream_duration) both
  // bound the whole exchange; the stricter one wins.
  const limit = strictestLimit(route.timeoutMs, config.timeoutWriteMs);
  const options: DispatchOptions = {
    path: upstreamTarget(upstreamPath(req.path, route, to), query),
    method: req.method,
    headers,
    body,
    // The route timeout bounds the wait for the response head; the idle
    // timeout (or the route timeout) bounds every silence in the body. The
    // exchange enforces the whole-response deadline itself.
    headersTimeout: timerMs(limit),
    bodyTimeout: timerMs(route.idleTimeoutMs > 0 ? route.idleTimeoutMs : limit),
  };
  const exchange = new Exchange(res, req, rt, services, record, options, body, timerMs(config.timeoutReadMs), limit);
  exchange.start(target, options);
}
