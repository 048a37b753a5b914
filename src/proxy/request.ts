// The one normalised request every stage reads: the front end fills it once
// from the raw request (copying everything uWS would free after the handler
// returns), and routing, policy and the upstream all see the same path.

export interface ProxyRequest {
  /** Method as sent (case kept; HTTP methods are case-sensitive). */
  readonly method: string;
  /** Normalised path (RFC 3986 dot segments removed, unreserved characters decoded, slashes merged). */
  readonly path: string;
  /** Query string without the leading '?'; '' when none. */
  readonly query: string;
  /** Lower-cased host from the Host header, port removed, trailing dot removed. */
  readonly host: string;
  /** Port from the Host header, or null when none was given. */
  readonly port: number | null;
  /**
   * Header pairs as received, names lower-cased: [name0, value0, name1, value1, …].
   * Repeated headers stay as separate pairs.
   */
  readonly headers: readonly string[];
  /** Peer address of the TCP connection. */
  readonly remoteAddress: string;
  /** True when the client connection is TLS. */
  readonly secure: boolean;
  /** The x-request-id this request carries from here on (generated, never taken from the client). */
  readonly requestId: string;
}

/** First value of a header (lower-case name), or undefined. */
export function headerValue(headers: readonly string[], lname: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === lname) return headers[i + 1];
  }
  return undefined;
}

/** Every value of a header (lower-case name) joined with `,`; '' when absent. */
export function joinedHeader(headers: readonly string[], lname: string): string {
  let out = '';
  let found = false;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== lname) continue;
    out = found ? out + ',' + headers[i + 1] : (headers[i + 1] as string);
    found = true;
  }
  return out;
}
