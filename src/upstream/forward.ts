// Sends a request that may pass to one of its route's upstreams: picks the
// target, builds the clean upstream request (our credentials removed, the
// forwarding headers set, the path rewritten) and starts the exchange.
import type { Dispatcher } from 'undici';
import type { HttpResponse } from 'uWebSockets.js';
import { RequestBody } from '../frontend/request-body.js';
import { stripSessionQuery } from '../proxy/clean-upstream.js';
import type { ProxyRequest } from '../proxy/request.js';
import type { ProxyServices } from '../proxy/services.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import { Exchange } from './exchange.js';
import { buildUpstreamHeaders } from './request-headers.js';
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

export function forward(
  res: HttpResponse,
  req: ProxyRequest,
  rt: RouteRuntime,
  services: ProxyServices,
  record: AccessRecord,
): void {
  const { route } = rt;
  const config = services.config;
  const target = rt.balancer.pick();
  const to = route.to[target]!;
  const headers = buildUpstreamHeaders(req, route, to, {
    cookieName: config.cookie.name,
    xffNumTrustedHops: config.xffNumTrustedHops,
    skipXffAppend: config.skipXffAppend,
  });
  const query = req.query.length > 0 ? stripSessionQuery(req.query) : '';
  // uWS must see onData attached before this handler returns.
  const body = announcesBody(req.headers) ? new RequestBody(res) : null;
  // The route timeout and timeout_write (Envoy's max_stream_duration) both
  // bound the whole exchange; the stricter one wins.
  const limit = strictestLimit(route.timeoutMs, config.timeoutWriteMs);
  const options: Dispatcher.DispatchOptions = {
    path: upstreamTarget(upstreamPath(req.path, route, to), query),
    method: req.method as Dispatcher.HttpMethod,
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
