// Postern's own paths, answered on every host before any route is looked
// at (Pomerium intercepts the same ones): health checks now, and the
// /.pomerium/ and /.well-known/pomerium prefixes reserved so that no route
// can ever expose an upstream's page under them.
import { Errors, type ErrorSpec } from '../errors.js';
import type { ProxyRequest } from './request.js';

export interface InternalAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly error: ErrorSpec | null;
}

const OK: InternalAnswer = Object.freeze({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'OK\n', error: null });
const DRAINING: InternalAnswer = Object.freeze({
  status: 503,
  contentType: 'text/plain; charset=utf-8',
  body: 'DRAINING\n',
  error: null,
});
const NOT_ALLOWED: InternalAnswer = Object.freeze({ status: 405, contentType: '', body: '', error: Errors.METHOD_NOT_ALLOWED });
const RESERVED: InternalAnswer = Object.freeze({ status: 404, contentType: '', body: '', error: Errors.ENDPOINT_NOT_FOUND });

function isUnder(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */);
}

/** The answer for one of our paths, or null when the request is for a route. */
export function internalEndpoint(req: ProxyRequest, draining: boolean): InternalAnswer | null {
  const path = req.path;
  if (path === '/ping' || path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return NOT_ALLOWED;
    // /healthz tells load balancers to stop sending new work while we drain;
    // /ping only says the process is alive.
    return draining && path === '/healthz' ? DRAINING : OK;
  }
  if (isUnder(path, '/.pomerium') || isUnder(path, '/.well-known/pomerium')) return RESERVED;
  return null;
}
