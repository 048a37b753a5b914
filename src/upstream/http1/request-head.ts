// The request line and header section sent upstream, and how the body is
// framed. Everything is checked before a byte is written: the values come
// from clients and templates, and one CR or LF would let them start a
// header (or a request) of their own.
import { Http1Error } from './errors.js';

export interface RequestHead {
  /** Latin-1 text, ending with the empty line. */
  readonly text: string;
  /** The declared Content-Length of the body; -1 when the body is sent chunked (or there is none). */
  readonly contentLength: number;
}

const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** A request target has no space or control byte (they would end it, or the line). */
const BAD_TARGET = /[\0-\x20\x7f]/;
const BAD_VALUE = /[\0\r\n]/;
const DECIMAL = /^\d{1,15}$/;

function invalid(message: string): never {
  throw new Http1Error('H1_INVALID_REQUEST', message);
}

/** `hasBody`: a body stream follows; without a Content-Length it is sent chunked. */
export function requestHead(method: string, path: string, headers: readonly string[], hasBody: boolean): RequestHead {
  if (!isToken(method)) invalid('invalid method');
  if (path.length === 0 || BAD_TARGET.test(path)) invalid('invalid request target');
  let text = `${method} ${path} HTTP/1.1\r\n`;
  let contentLength = -1;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!isToken(name)) invalid('invalid header name');
    if (BAD_VALUE.test(value)) invalid('invalid header value');
    if (name === 'content-length') {
      if (contentLength !== -1 || !DECIMAL.test(value)) invalid('invalid content-length');
      contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      // Framing is ours to decide from the body we are given.
      continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  if (hasBody && contentLength === -1) text += 'transfer-encoding: chunked\r\n';
  if (!hasBody && contentLength > 0) invalid('content-length without a body');
  return { text: text + '\r\n', contentLength: hasBody ? contentLength : -1 };
}
