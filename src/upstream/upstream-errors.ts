// Maps undici's failures to the answer the client gets (reference
// engineering.md A2): nothing reached us in time → 504; the upstream refused,
// reset or spoke nonsense → 502.
import { Errors, type ErrorSpec } from '../errors.js';

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const UNAVAILABLE_CODES = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

function codeOf(err: Error): string {
  const e = err as Error & { code?: unknown; cause?: { code?: unknown } };
  if (typeof e.code === 'string') return e.code;
  if (e.cause && typeof e.cause.code === 'string') return e.cause.code;
  return '';
}

export function upstreamErrorSpec(err: Error): ErrorSpec {
  const code = codeOf(err);
  if (TIMEOUT_CODES.has(code)) return Errors.UPSTREAM_TIMEOUT;
  if (UNAVAILABLE_CODES.has(code)) return Errors.UPSTREAM_UNAVAILABLE;
  if (code.startsWith('HPE_') || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_INFO') {
    return Errors.UPSTREAM_PROTOCOL;
  }
  return Errors.UPSTREAM_UNREACHABLE;
}

/**
 * A reused keep-alive connection that the upstream closed at the same moment
 * shows up as a socket error before any response. Only requests that are
 * idempotent and have no body may be sent again: the upstream never saw them,
 * and nothing of them is lost.
 */
export function isRetryableBeforeResponse(err: Error, method: string, body: unknown): boolean {
  if (body !== null) return false;
  if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') return false;
  const code = codeOf(err);
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}
