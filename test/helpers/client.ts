// Clients for the integration tests. Every connection goes to 127.0.0.1; the
// host in a URL only becomes the Host header (and the TLS server name).
//
// - `RawConnection` / `rawRequest`: bytes written to a socket as given, for
//   requests node:http refuses to send (duplicate Host or Content-Length,
//   header names with '_', control bytes, `%2F` paths), and a strict reader of
//   the answer that reports "closed without answer" instead of guessing.
// - `request` / `openRequest`: node:http(s) for ordinary requests with a
//   chosen Host header and SNI name.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';

const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------------------
// Raw HTTP/1.1

export interface RawResponse {
  readonly kind: 'response';
  readonly statusLine: string;
  readonly status: number;
  /** Header pairs in arrival order, names as sent. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** Status codes of interim (1xx) responses received before this one. */
  readonly interim: readonly number[];
}

/** The connection ended (or the wait ran out) before a complete response arrived. */
export interface RawNoAnswer {
  readonly kind: 'closed' | 'timeout';
  /** Whatever bytes did arrive. */
  readonly received: Buffer;
  readonly ms: number;
}

export type RawOutcome = RawResponse | RawNoAnswer;

export interface RawConnectOptions {
  /** Connect with TLS, sending this SNI name (an empty string sends none). */
  readonly tls?: { readonly servername: string; readonly ca?: string };
}

/** All values of a header (case-insensitive name). */
export function headerValues(headers: readonly (readonly [string, string])[], name: string): string[] {
  const lname = name.toLowerCase();
  return headers.filter(([k]) => k.toLowerCase() === lname).map(([, v]) => v);
}

/** The first value of a header, or undefined. */
export function headerValue(headers: readonly (readonly [string, string])[], name: string): string | undefined {
  return headerValues(headers, name)[0];
}

type Parsed = { response: RawResponse; consumed: number } | 'incomplete' | { invalid: string };

function parseResponse(buf: Buffer, bodiless: boolean, ended: boolean): Parsed {
  const interim: number[] = [];
  let offset = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', offset);
    if (headEnd < 0) return 'incomplete';
    const lines = buf.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const statusLine = lines[0] ?? '';
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
    if (!m) return { invalid: `bad status line ${JSON.stringify(statusLine)}` };
    const status = Number(m[1]);
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) return { invalid: `bad header line ${JSON.stringify(line)}` };
      headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    }
    let pos = headEnd + 4;
    if (status >= 100 && status < 200) {
      interim.push(status);
      offset = pos;
      continue;
    }
    const done = (body: Buffer, end: number): Parsed => ({ response: { kind: 'response', statusLine, status, headers, body, interim }, consumed: end });
    if (bodiless || status === 204 || status === 304) return done(Buffer.alloc(0), pos);
    const te = headerValue(headers, 'transfer-encoding');
    if (te !== undefined && te.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', pos);
        if (lineEnd < 0) return 'incomplete';
        const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
        if (Number.isNaN(size)) return { invalid: 'bad chunk size' };
        pos = lineEnd + 2;
        if (size === 0) {
          // Skip trailers up to the empty line.
          const trailerEnd = buf.indexOf('\r\n', pos);
          if (trailerEnd < 0) return 'incomplete';
          if (trailerEnd === pos) return done(Buffer.concat(parts), pos + 2);
          const fullEnd = buf.indexOf('\r\n\r\n', pos);
          if (fullEnd < 0) return 'incomplete';
          return done(Buffer.concat(parts), fullEnd + 4);
        }
        if (buf.length < pos + size + 2) return 'incomplete';
        parts.push(buf.subarray(pos, pos + size));
        pos += size + 2;
      }
    }
    const cl = headerValue(headers, 'content-length');
    if (cl !== undefined) {
      const n = Number(cl);
      if (!Number.isInteger(n) || n < 0) return { invalid: `bad content-length ${cl}` };
      if (buf.length < pos + n) return 'incomplete';
      return done(Buffer.from(buf.subarray(pos, pos + n)), pos + n);
    }
    // No framing: the body runs to the end of the connection.
    if (!ended) return 'incomplete';
    return done(Buffer.from(buf.subarray(pos)), buf.length);
  }
}

/** One client connection on which raw requests are written and responses read one at a time. */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly started = Date.now();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    const end = (): void => {
      this.ended = true;
      this.wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  static async open(port: number, opts: RawConnectOptions = {}): Promise<RawConnection> {
    if (opts.tls) {
      const sock = tlsConnect({
        host: LOOPBACK,
        port,
        servername: opts.tls.servername === '' ? undefined : opts.tls.servername,
        ca: opts.tls.ca,
        rejectUnauthorized: opts.tls.ca !== undefined,
      });
      await once(sock, 'secureConnect');
      return new RawConnection(sock);
    }
    const sock = netConnect({ host: LOOPBACK, port });
    await once(sock, 'connect');
    return new RawConnection(sock);
  }

  /** True once the peer closed (or reset) the connection. */
  get closed(): boolean {
    return this.ended;
  }

  /** Bytes received and not yet consumed by `readResponse`. */
  get pending(): Buffer {
    return this.buffer;
  }

  send(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /**
   * Waits for one complete response (skipping 1xx), or for the connection to
   * end or `timeoutMs` to pass. `bodiless` is for answers to HEAD.
   */
  async readResponse(opts: { bodiless?: boolean; timeoutMs?: number } = {}): Promise<RawOutcome> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const parsed = parseResponse(this.buffer, opts.bodiless ?? false, this.ended);
      if (typeof parsed === 'object' && 'response' in parsed) {
        this.buffer = this.buffer.subarray(parsed.consumed);
        return parsed.response;
      }
      if (typeof parsed === 'object') throw new Error(`unparseable response: ${parsed.invalid}`);
      if (this.ended) return { kind: 'closed', received: this.buffer, ms: Date.now() - this.started };
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'timeout', received: this.buffer, ms: Date.now() - this.started };
      await this.sleepUntilData(left);
    }
  }

  /** Waits until the unconsumed bytes contain `text` (true) or `timeoutMs` passes or the peer closes (false). */
  async waitForText(text: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.buffer.includes(text, 0, 'latin1')) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) return false;
      await this.sleepUntilData(left);
    }
    return true;
  }

  /** Waits until the peer closes the connection (true) or `timeoutMs` passes (false). */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.sleepUntilData(left);
    }
    return true;
  }

  /** Resolves when bytes arrive, the connection ends, or `ms` passes. */
  private async sleepUntilData(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = null;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends `bytes` on a fresh connection and reads one answer; the connection is closed afterwards. */
export async function rawRequest(
  port: number,
  bytes: string | Buffer,
  opts: RawConnectOptions & { bodiless?: boolean; timeoutMs?: number } = {},
): Promise<RawOutcome> {
  const conn = await RawConnection.open(port, opts);
  try {
    conn.send(bytes);
    return await conn.readResponse(opts);
  } finally {
    conn.close();
  }
}

// ---------------------------------------------------------------------------
// Ordinary requests through node:http(s)

export interface RequestOptions {
  readonly method?: string;
  /** Extra headers; an array keeps repeated names. */
  readonly headers?: OutgoingHttpHeaders | readonly (readonly [string, string])[];
  readonly body?: string | Buffer | Readable;
  /** TLS trust root; with `https:` URLs the peer is verified against it when given. */
  readonly ca?: string;
  /** SNI name to send; defaults to the URL host. */
  readonly servername?: string;
  /** Default: a fresh connection, closed after the response. */
  readonly agent?: Agent;
  readonly timeoutMs?: number;
}

export interface Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** False when the connection ended before the announced body was complete. */
  readonly complete: boolean;
  /** The error that cut the body short, if any. */
  readonly bodyError?: Error;
  /** The server's certificate, for https. */
  readonly peerCertificate?: PeerCertificate;
  readonly ms: number;
  text(): string;
  json<T = unknown>(): T;
}

/**
 * Starts a request and resolves with the response once its headers arrive.
 * `url` is `http(s)://host[:port]/path`; the connection goes to 127.0.0.1:port
 * and `host[:port]` is sent as Host (override it with a `host` header).
 */
export async function openRequest(url: string, opts: RequestOptions = {}): Promise<{ req: ClientRequest; res: IncomingMessage; peerCertificate?: PeerCertificate }> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const headers: OutgoingHttpHeaders | string[] = Array.isArray(opts.headers)
    ? (opts.headers as readonly (readonly [string, string])[]).flat()
    : { ...(opts.headers as OutgoingHttpHeaders | undefined) };
  const hasHost = Array.isArray(headers)
    ? headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host')
    : Object.keys(headers).some((k) => k.toLowerCase() === 'host');
  if (!hasHost) {
    if (Array.isArray(headers)) headers.push('Host', u.host);
    else headers['host'] = u.host;
  }
  const common = {
    host: LOOPBACK,
    port: Number(u.port || (secure ? 443 : 80)),
    method: opts.method ?? 'GET',
    path: `${u.pathname}${u.search}`,
    headers,
    agent: opts.agent ?? false,
  };
  const req = secure
    ? httpsRequest({
        ...common,
        servername: opts.servername ?? u.hostname,
        ca: opts.ca,
        rejectUnauthorized: opts.ca !== undefined,
        // The name check is the test's business (it reads peerCertificate).
        checkServerIdentity: () => undefined,
      })
    : httpRequest(common);
  let peerCertificate: PeerCertificate | undefined;
  if (secure) {
    req.on('socket', (s) => {
      s.on('secureConnect', () => {
        peerCertificate = (s as TLSSocket).getPeerCertificate();
      });
    });
  }
  const timeoutMs = opts.timeoutMs ?? 15_000;
  req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms: ${opts.method ?? 'GET'} ${url}`)));
  const body = opts.body;
  if (body === undefined) req.end();
  else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
  else body.pipe(req);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  return { req, res, ...(peerCertificate ? { peerCertificate } : {}) };
}

/** Sends a request and reads the whole response; a body cut short is reported, not thrown. */
export async function request(url: string, opts: RequestOptions = {}): Promise<Response> {
  const started = Date.now();
  const { req, res, peerCertificate } = await openRequest(url, opts);
  const chunks: Buffer[] = [];
  let bodyError: Error | undefined;
  res.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve) => {
    res.on('end', resolve);
    res.on('error', (err) => {
      bodyError = err;
      resolve();
    });
    res.on('aborted', () => resolve());
    res.on('close', resolve);
    req.on('error', (err) => {
      bodyError = err;
      resolve();
    });
  });
  const body = Buffer.concat(chunks);
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    rawHeaders: res.rawHeaders,
    body,
    complete: res.complete && bodyError === undefined,
    ...(bodyError ? { bodyError } : {}),
    ...(peerCertificate ? { peerCertificate } : {}),
    ms: Date.now() - started,
    text: () => body.toString('utf8'),
    json: <T>() => JSON.parse(body.toString('utf8')) as T,
  };
}

export interface HashedBody {
  readonly sha256: string;
  readonly bytes: number;
  /** False when the connection ended before the announced body was complete. */
  readonly complete: boolean;
}

/**
 * Reads a response body without keeping it, hashing it (SHA-256); with
 * `bytesPerSecond` the reader pauses so it is a slow client, which makes the
 * proxy hold back instead of buffering.
 */
export function hashBody(res: IncomingMessage, opts: { bytesPerSecond?: number } = {}): Promise<HashedBody> {
  const hash = createHash('sha256');
  let bytes = 0;
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve({ sha256: hash.digest('hex'), bytes, complete: res.complete });
    };
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (opts.bytesPerSecond) {
        const dueMs = (bytes / opts.bytesPerSecond) * 1000 - (Date.now() - started);
        if (dueMs > 1) {
          res.pause();
          setTimeout(() => res.resume(), dueMs);
        }
      }
    });
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
  });
}
