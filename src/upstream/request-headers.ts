// The request headers an upstream receives. The order of
// operations is Envoy's as Pomerium drives it: hop-by-hop headers go, our
// credentials and identity headers the client may not supply go, Host and
// X-Forwarded-* are set, our identity headers are added, then the route's
// set_request_headers overwrite and its remove_request_headers remove last
// (removal wins).
import type { HeaderEntry, Route, UpstreamTarget } from '../config/types.js';
import { headerValue, type ProxyRequest } from '../proxy/request.js';
import { isPomeriumAuthorization, stripSessionCookie } from '../proxy/clean-upstream.js';
import { appendForwardedFor } from '../proxy/client-address.js';
import { connectionListedNames, isHopByHopRequest } from './hop-by-hop.js';

export interface UpstreamHeaderOptions {
  /** The session cookie name (`cookie_name`). */
  readonly cookieName: string;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
  /** Lower-case names of the jwt_claims_headers headers: only we may send them. */
  readonly claimHeaderNames: ReadonlySet<string>;
}

/** What the identity of this request adds (src/identity), worked out per request. */
export interface IdentityHeaders {
  /** X-Pomerium-Jwt-Assertion, -For and the claim headers, flat pairs; empty when the route does not pass them. */
  readonly add: readonly string[];
  /** Rendered set_request_headers values, by index in route.setRequestHeaders; null: the configured values as they are. */
  readonly setValues: readonly string[] | null;
}

/** What a route's header options mean for every request, worked out once per route. */
interface RoutePlan {
  /** Client headers dropped because the route removes or overwrites them; null when none. */
  readonly dropClient: ReadonlySet<string> | null;
  /** set_request_headers, one per lower-case name (last wins), minus removed names and Host. */
  readonly set: readonly HeaderEntry[];
  /** For each entry of `set`, its index in route.setRequestHeaders (where its rendered value is). */
  readonly setIndex: readonly number[];
  /** remove_request_headers (without host): they also remove identity headers (removal wins). */
  readonly removed: ReadonlySet<string>;
  /** A Host from set_request_headers: it outranks every host option. */
  readonly setHost: string | null;
  /** Which of the headers we compute survive: neither removed nor overwritten by the route. */
  readonly emitCookie: boolean;
  readonly emitForwardedFor: boolean;
  readonly emitForwardedHost: boolean;
  readonly emitForwardedProto: boolean;
  readonly emitRequestId: boolean;
}

const plans = new WeakMap<Route, RoutePlan>();

function planFor(route: Route): RoutePlan {
  let plan = plans.get(route);
  if (plan !== undefined) return plan;
  const removed = new Set(route.removeRequestHeaders);
  // Envoy cannot remove Host; an upstream request without one is invalid.
  removed.delete('host');
  const setByName = new Map<string, HeaderEntry>();
  const indexOf = new Map<HeaderEntry, number>();
  route.setRequestHeaders.forEach((entry, i) => {
    setByName.delete(entry.lname);
    setByName.set(entry.lname, entry);
    indexOf.set(entry, i);
  });
  const set: HeaderEntry[] = [];
  const setIndex: number[] = [];
  for (const entry of setByName.values()) {
    if (entry.lname !== 'host' && !removed.has(entry.lname)) {
      set.push(entry);
      setIndex.push(indexOf.get(entry)!);
    }
  }
  const owned = (lname: string): boolean => !removed.has(lname) && !setByName.has(lname);
  const dropClient = new Set([...removed, ...setByName.keys()]);
  plan = {
    dropClient: dropClient.size === 0 ? null : dropClient,
    set,
    setIndex,
    removed,
    setHost: setByName.get('host')?.value ?? null,
    emitCookie: owned('cookie'),
    emitForwardedFor: owned('x-forwarded-for'),
    emitForwardedHost: owned('x-forwarded-host'),
    emitForwardedProto: owned('x-forwarded-proto'),
    emitRequestId: owned('x-request-id'),
  };
  plans.set(route, plan);
  return plan;
}

const CLAIM_PREFIX = 'x-pomerium-claim-';
const NO_NAMES: readonly string[] = [];

/**
 * Flat `[name, value, …]` headers for the upstream pool's dispatch: names
 * lower-case, exactly one `host`, content-length kept (it frames the body,
 * and the pool checks the body against it).
 */
export function buildUpstreamHeaders(
  req: ProxyRequest,
  route: Route,
  target: UpstreamTarget,
  opts: UpstreamHeaderOptions,
  identity: IdentityHeaders | null = null,
): string[] {
  const plan = planFor(route);
  const h = req.headers;

  let listed = NO_NAMES;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] !== 'connection') continue;
    const names = connectionListedNames(h[i + 1]);
    if (names.length !== 0) listed = listed.length === 0 ? names : listed.concat(names);
  }

  // Slot 0/1 is Host, filled once the client's Host is known.
  const out: string[] = ['host', ''];
  let clientHost: string | undefined;
  let cookie: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedHost: string | undefined;
  let forwardedProto: string | undefined;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i];
    const value = h[i + 1];
    // Host and framing stay ours to decide whatever Connection claims.
    if (listed.length !== 0 && name !== 'host' && name !== 'content-length' && listed.includes(name)) continue;
    switch (name) {
      case 'host':
        clientHost ??= value;
        continue;
      case 'cookie':
        cookie = cookie === undefined ? value : cookie + '; ' + value;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : forwardedFor + ', ' + value;
        continue;
      case 'x-forwarded-host':
        forwardedHost = forwardedHost === undefined ? value : forwardedHost + ', ' + value;
        continue;
      case 'x-forwarded-proto':
        forwardedProto ??= value;
        continue;
      case 'authorization':
        if (isPomeriumAuthorization(value)) continue;
        break;
      // Ours to set, or our credentials, or identity only we may assert.
      case 'x-request-id':
      case 'x-pomerium-authorization':
      case 'x-pomerium-jwt-assertion':
      case 'x-pomerium-jwt-assertion-for':
      case 'x-pomerium-reproxy-policy':
      case 'x-pomerium-reproxy-policy-hmac':
        continue;
      default:
        if (isHopByHopRequest(name) || name.startsWith(CLAIM_PREFIX) || opts.claimHeaderNames.has(name)) continue;
    }
    if (plan.dropClient !== null && plan.dropClient.has(name)) continue;
    out.push(name, value);
  }

  const receivedHost = clientHost ?? hostOf(req);
  const host = plan.setHost ?? upstreamHost(req, route, target, receivedHost);
  out[1] = host;

  const trusted = opts.xffNumTrustedHops > 0;
  if (plan.emitForwardedHost) {
    if (host !== receivedHost) {
      // Without trusted hops a client-sent value is a lie we must not extend.
      out.push('x-forwarded-host', trusted && forwardedHost !== undefined ? forwardedHost + ', ' + receivedHost : receivedHost);
    } else if (forwardedHost !== undefined) {
      out.push('x-forwarded-host', forwardedHost);
    }
  }
  if (plan.emitForwardedFor) {
    const xff = opts.skipXffAppend ? forwardedFor : appendForwardedFor(forwardedFor, req.remoteAddress);
    if (xff !== undefined) out.push('x-forwarded-for', xff);
  }
  if (plan.emitForwardedProto) {
    out.push('x-forwarded-proto', trusted && forwardedProto !== undefined ? forwardedProto : req.secure ? 'https' : 'http');
  }
  if (plan.emitRequestId) out.push('x-request-id', req.requestId);
  if (plan.emitCookie && cookie !== undefined) {
    const kept = stripSessionCookie(cookie, opts.cookieName);
    if (kept.length !== 0) out.push('cookie', kept);
  }
  if (identity !== null) {
    const add = identity.add;
    for (let i = 0; i < add.length; i += 2) {
      if (!plan.removed.has(add[i]!)) out.push(add[i]!, add[i + 1]!);
    }
  }
  const set = plan.set;
  const values = identity?.setValues ?? null;
  for (let i = 0; i < set.length; i++) out.push(set[i].lname, values === null ? set[i].value : values[plan.setIndex[i]!]!);
  return out;
}

/**
 * Host precedence, as Envoy applies Pomerium's options: host_rewrite >
 * host_rewrite_header (when the request carries it) > preserve_host_header >
 * the target's authority (auto host rewrite).
 */
function upstreamHost(req: ProxyRequest, route: Route, target: UpstreamTarget, receivedHost: string): string {
  if (route.hostRewrite !== null) return route.hostRewrite;
  if (route.hostRewriteHeader !== null) {
    const v = headerValue(req.headers, route.hostRewriteHeader);
    if (v !== undefined && v.length !== 0) return v;
  }
  if (route.preserveHostHeader) return receivedHost;
  return target.authority;
}

/** The front end refuses requests without Host; this rebuilds one should a caller not have it. */
function hostOf(req: ProxyRequest): string {
  return req.port === null ? req.host : req.host + ':' + req.port;
}
