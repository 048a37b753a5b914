// Real upstream servers for the integration tests: node:http / node:https on
// 127.0.0.1 with an ephemeral port. Every server records what reached it, so
// a test can assert both what the upstream saw and that it saw nothing.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';

export interface RecordedRequest {
  readonly method: string;
  /** Request target exactly as received (path and query). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Names as sent, in order, repeated headers kept: [name0, value0, …]. */
  readonly rawHeaders: readonly string[];
  /** The body, when the server records bodies; empty otherwise. */
  body: Buffer;
}

export interface Upstream {
  readonly port: number;
  /** `http://127.0.0.1:<port>` (or https). */
  readonly origin: string;
  /** `127.0.0.1:<port>`, the Host the proxy sends by default. */
  readonly authority: string;
  /** Every request that reached this server, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Resolves once `count` requests in total have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface UpstreamOptions {
  /** Serve HTTPS with this certificate and key. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Read the whole body into `RecordedRequest.body` before the handler runs (default true). */
  readonly recordBody?: boolean;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void;

/** Starts a server whose `handler` answers each request; the building block of every upstream below. */
export async function startUpstream(handler: UpstreamHandler, opts: UpstreamOptions = {}): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const recordBody = opts.recordBody ?? true;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
    };
    requests.push(recorded);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (requests.length >= w.count) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
    if (!recordBody) {
      handler(req, res, recorded);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      recorded.body = Buffer.concat(chunks);
      handler(req, res, recorded);
    });
    req.on('error', () => res.destroy());
  };

  const server: Server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest)
    : createHttpServer(onRequest);
  // Keep-alive sockets from the proxy's pool must not keep a test's close() waiting.
  server.keepAliveTimeout = 5_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    origin: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    authority: `127.0.0.1:${port}`,
    requests,
    waitForRequests(count, timeoutMs = 10_000) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`upstream :${port} saw ${requests.length} of ${count} requests`)), timeoutMs);
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
    close: () => closeServer(server),
  };
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** What the echo upstream answers: everything it received, as JSON. */
export interface EchoReply {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  /** The body as UTF-8. */
  readonly body: string;
}

/** Answers every request with 200 and an `EchoReply`; `name` tells several echo servers apart. */
export function startEcho(name = 'echo', opts: UpstreamOptions = {}): Promise<Upstream> {
  return startUpstream((_req, res, rec) => {
    const reply: EchoReply = { name, method: rec.method, url: rec.url, headers: rec.headers, rawHeaders: rec.rawHeaders, body: rec.body.toString('utf8') };
    sendJson(res, 200, reply);
  }, opts);
}

export interface FixedResponse {
  readonly status: number;
  /** Header pairs written as given (repeated names allowed). */
  readonly headers?: readonly (readonly [string, string])[];
  /** Omitted for bodiless answers (HEAD, 204, 304 are never given one). */
  readonly body?: string | Buffer;
  /** Send the body with chunked framing instead of Content-Length. */
  readonly chunked?: boolean;
}

/** Answers every request with the same status, headers and body; `respond` may choose per request. */
export function startFixed(respond: FixedResponse | ((rec: RecordedRequest) => FixedResponse), opts: UpstreamOptions = {}): Promise<Upstream> {
  return startUpstream((req, res, rec) => {
    const r = typeof respond === 'function' ? respond(rec) : respond;
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const flat: string[] = [];
    for (const [k, v] of r.headers ?? []) flat.push(k, v);
    const bodiless = req.method === 'HEAD' || r.status === 204 || r.status === 304;
    if (body !== undefined && !r.chunked && !flat.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-length')) {
      flat.push('Content-Length', String(body.length));
    }
    res.writeHead(r.status, flat);
    if (body === undefined || bodiless) {
      res.end();
    } else if (r.chunked) {
      // Two writes so the response really goes out as several chunks.
      const half = Math.floor(body.length / 2);
      res.write(body.subarray(0, half));
      setTimeout(() => res.end(body.subarray(half)), 20);
    } else {
      res.end(body);
    }
  }, opts);
}

export interface SlowOptions {
  /** Wait this long before sending the status line and headers. */
  readonly headerDelayMs?: number;
  /** After the headers, wait this long before sending the body. */
  readonly bodyDelayMs?: number;
  readonly body?: string;
}

/** Answers 200 after the given delays; with a huge headerDelayMs it is an upstream that never answers. */
export function startSlow(opts: SlowOptions, upstreamOpts: UpstreamOptions = {}): Promise<Upstream> {
  const body = Buffer.from(opts.body ?? 'slow body');
  return startUpstream((_req, res) => {
    const timers: NodeJS.Timeout[] = [];
    res.on('close', () => timers.forEach(clearTimeout));
    timers.push(setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.flushHeaders();
      timers.push(setTimeout(() => res.end(body), opts.bodyDelayMs ?? 0));
    }, opts.headerDelayMs ?? 0));
  }, upstreamOpts);
}

export interface DyingOptions {
  /** Bytes of body sent before the socket is destroyed. */
  readonly sendBytes: number;
  /** Announced length (ignored with chunked). */
  readonly contentLength?: number;
  readonly chunked?: boolean;
}

/** Starts a response, sends part of the body, then destroys the socket. */
export function startDying(opts: DyingOptions, upstreamOpts: UpstreamOptions = {}): Promise<Upstream> {
  return startUpstream((_req, res) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (!opts.chunked) headers['content-length'] = opts.contentLength ?? opts.sendBytes * 2;
    res.writeHead(200, headers);
    res.write(Buffer.alloc(opts.sendBytes, 0x61), () => {
      setTimeout(() => res.socket?.destroy(), 50);
    });
  }, upstreamOpts);
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function refusedPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * How a raw TCP upstream misbehaves once a request arrives:
 * - `silent`: reads the request and never writes a byte (timeout tests);
 * - `hangup`: closes the connection without answering;
 * - `garbage`: answers with bytes that are not HTTP.
 */
export type TcpBehaviour = 'silent' | 'hangup' | 'garbage';

/** A TCP server that misbehaves below HTTP; `connections` counts accepted connections. */
export async function startTcpUpstream(behaviour: TcpBehaviour): Promise<Upstream & { readonly connections: number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createNetServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', () => {
      if (behaviour === 'hangup') socket.destroy();
      else if (behaviour === 'garbage') socket.end('SSH-2.0-OpenSSH_9.6 not http at all\r\n\r\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    authority: `127.0.0.1:${port}`,
    requests: [],
    get connections() {
      return connections;
    },
    waitForRequests: () => Promise.reject(new Error('a raw TCP upstream does not parse requests')),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// Deterministic data for the streaming tests: 64 KiB blocks of pseudo-random
// bytes (xorshift32, fixed seed), each stamped with its block index, so a
// lost, repeated or reordered block changes the SHA-256.
const BLOCK = 64 * 1024;
const baseBlock: Buffer = (() => {
  const b = Buffer.allocUnsafe(BLOCK);
  let x = 0x9e3779b9;
  for (let i = 0; i < BLOCK; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
})();

function block(index: number, length: number): Buffer {
  const b = Buffer.from(baseBlock.subarray(0, length));
  if (length >= 8) b.writeDoubleLE(index, 0);
  return b;
}

/** A stream of `total` deterministic bytes. */
export function deterministicStream(total: number): Readable {
  let sent = 0;
  let index = 0;
  return new Readable({
    highWaterMark: BLOCK,
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(BLOCK, total - sent);
      sent += n;
      this.push(block(index++, n));
    },
  });
}

const shaCache = new Map<number, string>();
/** SHA-256 (hex) of `deterministicStream(total)`. */
export function deterministicSha256(total: number): string {
  const cached = shaCache.get(total);
  if (cached) return cached;
  const h = createHash('sha256');
  for (let sent = 0, index = 0; sent < total; index++) {
    const n = Math.min(BLOCK, total - sent);
    h.update(block(index, n));
    sent += n;
  }
  const hex = h.digest('hex');
  shaCache.set(total, hex);
  return hex;
}

export interface StreamerOptions {
  readonly bytes: number;
  /** Send without Content-Length (chunked framing). */
  readonly chunked?: boolean;
}

/** An upstream that counts the bytes it has produced or consumed so far, across all requests. */
export type CountingUpstream = Upstream & { readonly bytes: number };

/** Streams `bytes` deterministic bytes to every GET, honouring the proxy's backpressure; `bytes` counts what left. */
export async function startStreamer(opts: StreamerOptions, upstreamOpts: UpstreamOptions = {}): Promise<CountingUpstream> {
  let written = 0;
  const upstream = await startUpstream((_req, res) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (!opts.chunked) headers['content-length'] = opts.bytes;
    res.writeHead(200, headers);
    const data = deterministicStream(opts.bytes);
    data.on('data', (chunk: Buffer) => {
      written += chunk.length;
    });
    data.pipe(res);
    res.on('close', () => data.destroy());
  }, upstreamOpts);
  return Object.defineProperty(upstream, 'bytes', { get: () => written }) as CountingUpstream;
}

/** What the upload sink answers. */
export interface SinkReply {
  readonly sha256: string;
  readonly bytes: number;
  readonly headers: IncomingHttpHeaders;
}

export interface SinkOptions {
  /** Read at most this many bytes per second (pausing the request), to make the upstream a slow reader. */
  readonly bytesPerSecond?: number;
}

/** Hashes the request body as it arrives (never holding it) and answers `SinkReply` as JSON; `bytes` counts what arrived. */
export async function startUploadSink(opts: SinkOptions = {}, upstreamOpts: UpstreamOptions = {}): Promise<CountingUpstream> {
  let received = 0;
  const upstream = await startUpstream((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const started = Date.now();
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      received += chunk.length;
      if (opts.bytesPerSecond) {
        const dueMs = (bytes / opts.bytesPerSecond) * 1000 - (Date.now() - started);
        if (dueMs > 1) {
          req.pause();
          setTimeout(() => req.resume(), dueMs);
        }
      }
    });
    req.on('end', () => sendJson(res, 200, { sha256: hash.digest('hex'), bytes, headers: req.headers } satisfies SinkReply));
    req.on('error', () => res.destroy());
  }, { ...upstreamOpts, recordBody: false });
  return Object.defineProperty(upstream, 'bytes', { get: () => received }) as CountingUpstream;
}
