// The failures of the HTTP/1.1 upstream client, each with a stable code
// that upstream-errors.ts maps to the status the client gets. Socket errors
// of the connect phase (ECONNREFUSED, ENOTFOUND, TLS verification) are
// passed on as Node raises them.

export type Http1ErrorCode =
  /** No TCP/TLS connection within the connect timeout. */
  | 'H1_CONNECT_TIMEOUT'
  /** The response head did not arrive within headersTimeout after the request was sent. */
  | 'H1_HEADERS_TIMEOUT'
  /** The response body was silent for longer than bodyTimeout. */
  | 'H1_BODY_TIMEOUT'
  /** The upstream closed (or reset) the connection before the response ended. */
  | 'H1_SOCKET_CLOSED'
  /**
   * A kept-alive connection closed before any byte of the response: the
   * upstream closed it as we reused it, and has not seen the request.
   */
  | 'H1_REUSED_CONNECTION_CLOSED'
  /** The upstream's response breaks HTTP/1.1 framing or grammar (parser.ts). */
  | 'H1_INVALID_RESPONSE'
  /** The request body failed, was cut short, or did not match its Content-Length. */
  | 'H1_REQUEST_BODY'
  /** The request cannot be written as HTTP/1.1 (a byte that would split it). */
  | 'H1_INVALID_REQUEST'
  /** The pool was closed before the request could be sent. */
  | 'H1_POOL_CLOSED';

export class Http1Error extends Error {
  readonly code: Http1ErrorCode;

  constructor(code: Http1ErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}
