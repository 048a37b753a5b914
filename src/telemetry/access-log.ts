// One access-log line per request, with Pomerium's field names (reference
// §9), so existing log pipelines and dashboards keep working.
import type { Logger } from './logger.js';
import { headerValue, joinedHeader } from '../proxy/request.js';
import { clientAddress } from '../proxy/client-address.js';

export interface AccessRecord {
  requestId: string;
  method: string;
  authority: string;
  path: string;
  query: string;
  status: number;
  /** Why the proxy answered itself (a catalogue code) or `via_upstream`. */
  details: string;
  startedAt: number;
  /** Response body bytes sent to the client. */
  size: number;
  /** Route name, '' when none matched. */
  upstreamCluster: string;
  /** Peer address of the connection. */
  remoteAddress: string;
  /** The request's headers (flat pairs); the fields that come from them are read only when a line is written. */
  headers: readonly string[];
}

export class AccessLog {
  readonly #logger: Logger;
  readonly #trustedHops: number;
  readonly enabled: boolean;

  constructor(logger: Logger, xffNumTrustedHops: number) {
    this.#logger = logger;
    this.#trustedHops = xffNumTrustedHops;
    // Decided once: the level cannot change while the process runs, and a
    // disabled access log must cost nothing per request.
    this.enabled = logger.isLevelEnabled('info');
  }

  /** Records how a request was answered and writes its line. */
  finish(r: AccessRecord, status: number, details: string): void {
    r.status = status;
    r.details = details;
    this.write(r, performance.now());
  }

  write(r: AccessRecord, now: number): void {
    if (!this.enabled) return;
    const forwardedFor = joinedHeader(r.headers, 'x-forwarded-for') || undefined;
    this.#logger.info(
      {
        'request-id': r.requestId,
        method: r.method,
        authority: r.authority,
        path: r.path,
        query: r.query,
        'response-code': r.status,
        'response-code-details': r.details,
        duration: Math.round((now - r.startedAt) * 1000) / 1000,
        size: r.size,
        'upstream-cluster': r.upstreamCluster,
        ip: clientAddress(forwardedFor, r.remoteAddress, this.#trustedHops),
        'user-agent': headerValue(r.headers, 'user-agent') ?? '',
        // Pomerium logs the referer without its query, which may carry tokens.
        referer: withoutQuery(headerValue(r.headers, 'referer') ?? ''),
        'forwarded-for': forwardedFor ?? '',
      },
      'http-request',
    );
  }
}

function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
