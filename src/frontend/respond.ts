// Answers the proxy gives itself (errors, health checks, refusals), written
// to a uWS response in one corked batch. Callers inside the synchronous part
// of a uWS handler are corked already; everyone else goes through cork().
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import type { ErrorSpec } from '../errors.js';
import type { HeaderEntry } from '../config/types.js';
import { errorFormat } from './error-format.js';
import { renderErrorPage } from './error-page.js';

const statusLines: string[] = [];
for (const [code, text] of Object.entries(STATUS_CODES)) statusLines[Number(code)] = `${code} ${text}`;
// Pomerium's own codes (reference §10.2) are not in Node's table.
statusLines[421] = '421 Misdirected Request';
statusLines[450] = '450 Device Not Authorized';
statusLines[495] = '495 SSL Certificate Error';

/** "200 OK" for a status code, computed once per code. */
export function statusLine(status: number): string {
  return statusLines[status] ?? (statusLines[status] = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`);
}

export function statusText(status: number): string {
  return statusLine(status).slice(4);
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: string;
  /** Extra headers, flat [name, value, …]. */
  readonly headers: readonly string[];
}

/**
 * Builds the error page for a catalogue entry: HTML or JSON by Accept, with
 * the headers Pomerium puts on every answer it generates itself.
 */
export function errorResponse(
  spec: ErrorSpec,
  requestId: string,
  accept: string | undefined,
  contentType: string | undefined,
  securityHeaders: readonly HeaderEntry[],
  detail: string = spec.message,
): ErrorResponse {
  const page = renderErrorPage(errorFormat(accept, contentType), spec.status, statusText(spec.status), requestId, detail);
  const headers: string[] = [
    'content-type',
    page.contentType,
    'x-pomerium-intercepted-response',
    'true',
    'x-request-id',
    requestId,
    'cache-control',
    'no-store',
  ];
  for (const h of securityHeaders) headers.push(h.name, h.value);
  return { status: spec.status, body: page.body, headers };
}

/** Writes a complete response. `closeConnection` ends keep-alive (after refusals and while draining). */
export function writeResponse(
  res: HttpResponse,
  status: number,
  headers: readonly string[],
  body: string,
  closeConnection: boolean,
  headOnly = false,
): void {
  res.writeStatus(statusLine(status));
  for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i]!, headers[i + 1]!);
  if (headOnly) {
    // uWS v20.30 would send the body of a HEAD answer written with end(body)
    // and desynchronise keep-alive; a Content-Length header plus
    // endWithoutBody() is the form that works (engineering.md A1.6).
    res.writeHeader('content-length', String(Buffer.byteLength(body)));
    // No arguments: v20.30 reads an explicit `undefined` length as NaN and
    // writes a bogus Content-Length, so the close is announced by header and
    // the client closes (uWS's idle timeout reaps it otherwise).
    if (closeConnection) res.writeHeader('connection', 'close');
    res.endWithoutBody();
  } else {
    res.end(body, closeConnection);
  }
}
