// The bodies of the error responses Postern writes itself, in the format
// errorFormat() picked.
//
// json, plain and grpc all carry one JSON object:
//   {"error":"<status text>","status":<code>,"request_id":"<id>"}
// plus "detail" (a catalogue message, never internals) when given. This is
// the shape of Pomerium's authorize denials ({"error","request_id"}) with
// the status added, so a client that parses Pomerium's 403 body reads ours.
// Pomerium's Envoy local replies use another shape
// ({"requestId","status","statusText"}); one shape for every error is worth
// more than copying that split. As Pomerium does, plain is that JSON served
// as text/plain, and grpc is served as application/grpc+json (the caller
// adds grpc-status).
//
// html is a small self-contained page: no external resource, inline CSS.
// Every interpolated string is escaped for its context (HTML text, JSON
// string); in JSON '<', '>' and '&' are escaped as well, so a body sniffed
// as HTML still cannot open a tag.
import type { ErrorFormat } from './error-format.js';
import { escapeHtml } from './html.js';

export interface ErrorPage {
  readonly contentType: string;
  readonly body: string;
}

const CONTENT_TYPE: Readonly<Record<ErrorFormat, string>> = Object.freeze({
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  plain: 'text/plain; charset=utf-8',
  grpc: 'application/grpc+json; charset=utf-8',
});

const JSON_ESCAPE: Readonly<Record<string, string>> = Object.freeze({
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
});
const JSON_SPECIAL = /[<>&]/g;

/** A JSON string literal for `s` (JSON.stringify escapes quotes, backslashes, controls and lone surrogates). */
function jsonString(s: string): string {
  return JSON.stringify(s).replace(JSON_SPECIAL, (ch) => JSON_ESCAPE[ch]!);
}

const HTML_HEAD =
  '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
  '<meta name="viewport" content="width=device-width,initial-scale=1">' +
  '<meta name="robots" content="noindex"><title>';
const HTML_STYLE =
  '</title><style>' +
  'body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;' +
  'background:#f4f5f7;color:#1f2328;display:flex;min-height:100vh;align-items:center;justify-content:center}' +
  'main{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:2rem 2.5rem;max-width:36rem;margin:1rem}' +
  'h1{margin:0 0 .5rem;font-size:1.5rem}.status{color:#cf222e}' +
  'p{margin:.5rem 0 1rem}dl{margin:0;font-size:.875rem;color:#57606a}dt{display:inline}dd{display:inline;margin:0 0 0 .25rem}' +
  'code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}' +
  '</style></head><body><main><h1><span class="status">';
const HTML_AFTER_STATUS = '</span> ';
const HTML_AFTER_TEXT = '</h1>';
const HTML_DETAIL_OPEN = '<p>';
const HTML_DETAIL_CLOSE = '</p>';
const HTML_REQUEST_ID = '<dl><dt>Request ID:</dt><dd><code>';
const HTML_TAIL = '</code></dd></dl></main></body></html>';

/**
 * The body and Content-Type of an error response. `status` is the HTTP
 * status code, `statusText` its reason phrase, `requestId` the request's
 * x-request-id, `detail` a client-safe message from the error catalogue.
 */
export function renderErrorPage(
  format: ErrorFormat,
  status: number,
  statusText: string,
  requestId: string,
  detail?: string,
): ErrorPage {
  if (format === 'html') {
    const text = escapeHtml(statusText);
    const body =
      HTML_HEAD +
      status +
      ' ' +
      text +
      HTML_STYLE +
      status +
      HTML_AFTER_STATUS +
      text +
      HTML_AFTER_TEXT +
      (detail === undefined ? '' : HTML_DETAIL_OPEN + escapeHtml(detail) + HTML_DETAIL_CLOSE) +
      HTML_REQUEST_ID +
      escapeHtml(requestId) +
      HTML_TAIL;
    return { contentType: CONTENT_TYPE.html, body };
  }
  const body =
    '{"error":' +
    jsonString(statusText) +
    ',"status":' +
    status +
    ',"request_id":' +
    jsonString(requestId) +
    (detail === undefined ? '}' : ',"detail":' + jsonString(detail) + '}');
  return { contentType: CONTENT_TYPE[format], body };
}
