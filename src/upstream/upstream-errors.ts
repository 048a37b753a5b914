// Maps the upstream client's failures (the codes of http1/errors.ts, and
// Node's own socket and TLS errors) to the answer the client gets
// (reference engineering.md A2): nothing reached us in time → 504; the pool
// is closed → 503; the upstream refused, reset or spoke nonsense → 502.
import { Errors, type ErrorSpec } from '../errors.js';

const TIMEOUT_CODES = new Set(['H1_CONNECT_TIMEOUT', 'H1_HEADERS_TIMEOUT', 'H1_BODY_TIMEOUT', 'ETIMEDOUT']);

function codeOf(err: Error): string {
  const e = err as Error & { code?: unknown };
  return typeof e.code === 'string' ? e.code : '';
}

export function upstreamErrorSpec(err: Error): ErrorSpec {
  const code = codeOf(err);
  if (TIMEOUT_CODES.has(code)) return Errors.UPSTREAM_TIMEOUT;
  if (code === 'H1_POOL_CLOSED') return Errors.UPSTREAM_UNAVAILABLE;
  if (code === 'H1_INVALID_RESPONSE') return Errors.UPSTREAM_PROTOCOL;
  return Errors.UPSTREAM_UNREACHABLE;
}

/**
 * A kept-alive connection that the upstream closed just as we reused it
 * fails before any byte of the response. Only requests that are idempotent
 * and have no body may be sent again: the upstream never saw them, and
 * nothing of them is lost.
 */
export function isRetryableBeforeResponse(err: Error, method: string, body: unknown): boolean {
  if (body !== null) return false;
  if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') return false;
  return codeOf(err) === 'H1_REUSED_CONNECTION_CLOSED';
}
