// The uWS request handler: copies everything out of the stack-allocated
// uWS request (it is freed when this function returns), refuses bad framing
// and hygiene violations before anything else looks at the request,
// normalises the path once, and hands one ProxyRequest to the pipeline.
import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Errors, type ErrorSpec } from '../errors.js';
import type { ProxyRequest } from '../proxy/request.js';
import { headerValue } from '../proxy/request.js';
import type { Pipeline } from '../proxy/pipeline.js';
import type { ProxyServices } from '../proxy/services.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import { checkHeaders } from './check-headers.js';
import { normalizePath, checkQuery } from './normalize-path.js';
import { parseAuthority } from './authority.js';
import { errorResponse, writeResponse } from './respond.js';
import type { CertificateIndex } from './sni.js';

export type UwsHandler = (res: HttpResponse, req: HttpRequest) => void;

// req.forEach needs a callback; one shared callback writing into the array
// of the request being copied avoids a closure per request. Safe because
// the copy is synchronous.
let sink: string[] = [];
function collectHeader(name: string, value: string): void {
  sink.push(name, value);
}

/**
 * @param certificate index of the certificate this router's connections were
 *   established with, or -1 when there is no TLS (no SNI check).
 */
export function createHandler(
  services: ProxyServices,
  pipeline: Pipeline,
  certificates: CertificateIndex | null,
  certificate: number,
): UwsHandler {
  const secure = !services.config.insecureServer;
  return (res, req) => {
    const startedAt = performance.now();
    const method = req.getCaseSensitiveMethod();
    const url = req.getUrl();
    const query = req.getQuery() ?? '';
    const headers: string[] = (sink = []);
    req.forEach(collectHeader);
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
    const requestId = randomUUID();

    const record: AccessRecord = {
      requestId,
      method,
      authority: '',
      path: url,
      query,
      status: 0,
      details: '',
      startedAt,
      size: 0,
      upstreamCluster: '',
      remoteAddress,
      headers,
    };

    const refusal = checkHeaders(headers);
    if (refusal) return refuse(res, services, record, refusal);
    const path = normalizePath(url);
    if (typeof path !== 'string') return refuse(res, services, record, path);
    const queryRefusal = query.length > 0 ? checkQuery(query) : null;
    if (queryRefusal) return refuse(res, services, record, queryRefusal);
    const hostHeader = headerValue(headers, 'host')!;
    record.authority = hostHeader;
    const authority = parseAuthority(hostHeader);
    if (!authority) return refuse(res, services, record, Errors.INVALID_HOST);
    if (certificates !== null && certificates.indexFor(authority.host) !== certificate) {
      return refuse(res, services, record, Errors.MISDIRECTED_REQUEST);
    }
    record.path = path;

    const request: ProxyRequest = {
      method,
      path,
      query,
      host: authority.host,
      port: authority.port,
      headers,
      remoteAddress,
      secure,
      requestId,
    };
    pipeline.handle(res, request, record);
  };
}

/**
 * Answers 400 (or 421) and closes the connection: after a framing problem the
 * rest of the byte stream cannot be trusted to start a new request.
 *
 * The answer is written on the next turn of the event loop, not here. uWS
 * v20.30 keeps parsing requests pipelined behind this one in the same read,
 * and a synchronous end(body, true) neither stops that nor survives it (the
 * next answer clears the close). With the answer pending, a pipelined
 * request makes uWS drop the connection instead, so a smuggled request is
 * never handled; a request that arrives alone gets its 400 and the close.
 */
function refuse(res: HttpResponse, services: ProxyServices, record: AccessRecord, spec: ErrorSpec): void {
  const page = errorResponse(
    spec,
    record.requestId,
    headerValue(record.headers, 'accept'),
    headerValue(record.headers, 'content-type'),
    services.config.setResponseHeaders,
  );
  const headOnly = record.method === 'HEAD';
  let aborted = false;
  record.status = page.status;
  record.details = spec.code;
  services.lifecycle.begin();
  res.onAborted(() => {
    aborted = true;
  });
  setImmediate(() => {
    if (aborted) {
      record.status = 0;
      record.details = `${spec.code},downstream_remote_disconnect`;
    } else {
      res.cork(() => writeResponse(res, page.status, page.headers, page.body, true, headOnly));
    }
    services.accessLog.write(record, performance.now());
    services.lifecycle.end();
  });
}
