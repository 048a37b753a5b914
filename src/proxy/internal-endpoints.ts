// Health checks, answered on every host before anything else is looked at
// (Pomerium intercepts the same paths). isUnder() marks the other prefixes
// Postern reserves on every host, so that no route can ever expose an
// upstream's page under them.
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
/** True for `prefix` itself and everything below it (`/.pomerium` and `/.pomerium/…`, not `/.pomeriumx`). */
export function isUnder(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */);
}

/**
 * The answer for a health check, or null for any other path. `storage` is
 * the session store's health: a degraded store (a follower cut off from its
 * leader serves existing sessions read-only) still answers 200, saying why,
 * because sending traffic elsewhere would not serve those sessions better.
 */
export function internalEndpoint(req: ProxyRequest, draining: boolean, storage?: () => { readonly ok: boolean; readonly detail: string }): InternalAnswer | null {
  const path = req.path;
  if (path === '/ping' || path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return NOT_ALLOWED;
    // /healthz tells load balancers to stop sending new work while we drain;
    // /ping only says the process is alive.
    if (path === '/ping') return OK;
    if (draining) return DRAINING;
    const health = storage?.();
    if (health && !health.ok) return { status: 200, contentType: OK.contentType, body: `DEGRADED: ${health.detail}\n`, error: null };
    return OK;
  }
  return null;
}
