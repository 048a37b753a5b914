// Route objects for tests, with the defaults a route gets from a config that
// sets only `from` and `to`. `from` and `to` may be given as URLs.
import type { FromUrl, HeaderEntry, Route, RouteAccess, UpstreamTarget } from '../../src/config/types.js';

export type RouteOverrides = Partial<Omit<Route, 'from' | 'to'>> & {
  readonly from?: string | FromUrl;
  readonly to?: string | readonly (string | UpstreamTarget)[];
};

let counter = 0;

export function makeRoute(overrides: RouteOverrides = {}): Route {
  const index = overrides.index ?? counter++;
  const { from, to, ...rest } = overrides;
  const toList = to === undefined ? ['http://127.0.0.1:8080'] : typeof to === 'string' ? [to] : to;
  return {
    index,
    name: `route-${index}`,
    id: index.toString(16).padStart(16, '0'),
    location: `test:${index}`,
    jwtIssuerFormat: null,
    idpClient: null,
    from: typeof from === 'object' ? from : makeFrom(from ?? 'https://app.example.com'),
    to: toList.map((t) => (typeof t === 'string' ? makeTarget(t) : t)),
    prefix: null,
    path: null,
    regex: null,
    prefixRewrite: null,
    regexRewrite: null,
    hostRewrite: null,
    hostRewriteHeader: null,
    preserveHostHeader: false,
    setRequestHeaders: [],
    removeRequestHeaders: [],
    setResponseHeaders: [],
    rewriteResponseHeaders: [],
    timeoutMs: 30_000,
    idleTimeoutMs: 0,
    loadBalancingPolicy: 'round_robin',
    tls: { skipVerify: false, serverName: null, customCa: null, clientCert: null, clientKey: null },
    access: makeAccess({ allowPublicUnauthenticatedAccess: true }),
    ...rest,
  };
}

/** A `from` URL; `*` in the host makes it a wildcard route, as Pomerium's WildcardToRegex does. */
export function makeFrom(raw: string): FromUrl {
  const m = /^(https?):\/\/([^/:]+)(?::(\d+))?$/.exec(raw);
  if (m === null) throw new Error(`makeFrom: unsupported from URL ${raw}`);
  const host = m[2].toLowerCase();
  const wildcard = host.includes('*')
    ? new RegExp('^' + host.split('*').map(escapeRegExp).join('(.*)') + '$', 'i')
    : null;
  return { scheme: m[1] as 'http' | 'https', host, port: m[3] === undefined ? null : Number(m[3]), wildcard, raw };
}

export function makeTarget(raw: string, weight = 1): UpstreamTarget {
  const url = new URL(raw);
  const protocol = url.protocol as 'http:' | 'https:';
  const port = url.port === '' ? (protocol === 'https:' ? '443' : '80') : url.port;
  return {
    protocol,
    origin: `${protocol}//${url.hostname}:${port}`,
    authority: url.host,
    pathPrefix: url.pathname === '/' ? '' : url.pathname,
    weight,
  };
}

export function header(name: string, value: string): HeaderEntry {
  return { name, lname: name.toLowerCase(), value };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A route's access options: nothing allowed unless the overrides say so. */
export function makeAccess(overrides: Partial<RouteAccess> = {}): RouteAccess {
  return {
    allowPublicUnauthenticatedAccess: false,
    allowAnyAuthenticatedUser: false,
    allowedUsers: [],
    allowedDomains: [],
    allowedIdpClaims: {},
    corsAllowPreflight: false,
    policy: null,
    passIdentityHeaders: null,
    showErrorDetails: false,
    ...overrides,
  };
}
