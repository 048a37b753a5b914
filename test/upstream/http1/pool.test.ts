import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Http1Pool, type PoolOptions } from '../../../src/upstream/http1/pool.js';
import type { DispatchController, DispatchHandler, DispatchOptions } from '../../../src/upstream/http1/dispatch.js';
import type { ResponseHeaders } from '../../../src/upstream/http1/parser.js';
import { createCertificateAuthority, createLeafCertificate, type CertificateAuthority } from '../../helpers/certs.js';

/** Records what a dispatch handler hears; `done` settles at the end (or error). */
class Recorder implements DispatchHandler {
  controller: DispatchController | null = null;
  status = 0;
  headers: ResponseHeaders | null = null;
  readonly chunks: Buffer[] = [];
  trailers: ResponseHeaders | null = null;
  error: (Error & { code?: string }) | null = null;
  endings = 0;
  readonly done: Promise<void>;
  #settle!: () => void;
  /** Called with each chunk, after it is recorded. */
  onChunk: ((r: Recorder) => void) | null = null;

  constructor() {
    this.done = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  get received(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  onRequestStart(controller: DispatchController): void {
    this.controller = controller;
  }
  onResponseStart(_c: DispatchController, status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.headers = headers;
  }
  onResponseData(_c: DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.onChunk?.(this);
  }
  onResponseEnd(_c: DispatchController, trailers: ResponseHeaders): void {
    this.trailers = trailers;
    this.endings++;
    this.#settle();
  }
  onResponseError(_c: DispatchController, err: Error): void {
    this.error = err;
    this.endings++;
    this.#settle();
  }
}

const POOL: PoolOptions = { connections: 8, keepAliveMs: 4_000, connectTimeoutMs: 2_000 };

function options(overrides: Partial<DispatchOptions> = {}): DispatchOptions {
  return { path: '/', method: 'GET', headers: ['host', 'upstream.test'], body: null, headersTimeout: 5_000, bodyTimeout: 5_000, ...overrides };
}

async function send(pool: Http1Pool, overrides: Partial<DispatchOptions> = {}, recorder = new Recorder()): Promise<Recorder> {
  pool.dispatch(options(overrides), recorder);
  await recorder.done;
  return recorder;
}

interface Upstream {
  readonly origin: string;
  /** Connections accepted so far. */
  connections: number;
  /** Connections open now. */
  open: number;
  maxOpen: number;
  close(): Promise<void>;
}

async function listen(server: HttpServer | NetServer, scheme = 'http'): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const upstream: Upstream = {
    origin: '',
    connections: 0,
    open: 0,
    maxOpen: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    upstream.connections++;
    upstream.open++;
    upstream.maxOpen = Math.max(upstream.maxOpen, upstream.open);
    socket.on('close', () => {
      sockets.delete(socket);
      upstream.open--;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (upstream as { origin: string }).origin = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}

function httpUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const server = createHttpServer({ keepAliveTimeout: 60_000 }, handler);
  return listen(server);
}

/** A raw TCP upstream: `onRequest` gets the socket and each chunk the proxy sends. */
function rawUpstream(onData: (socket: Socket, data: Buffer, nth: number) => void): Promise<Upstream> {
  let nth = 0;
  const server = createNetServer((socket) => {
    socket.on('data', (data) => onData(socket, data, nth++));
    socket.on('error', () => {});
  });
  return listen(server);
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('Http1Pool: connections', () => {
  it('reuses one kept-alive connection for requests in sequence', async () => {
    const up = await httpUpstream((req, res) => res.end(`you asked ${req.url}`));
    const pool = new Http1Pool(up.origin, POOL);
    for (let i = 0; i < 5; i++) {
      const r = await send(pool, { path: `/n/${i}` });
      assert.equal(r.status, 200);
      assert.equal(r.body, `you asked /n/${i}`);
      assert.equal(r.endings, 1);
    }
    assert.equal(up.connections, 1);
    await pool.close();
    await up.close();
  });

  it('does not reuse a connection after Connection: close, nor after a close-delimited body', async () => {
    const up = await rawUpstream((socket, _data, nth) => {
      if (nth % 2 === 0) socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      else socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close');
    });
    const pool = new Http1Pool(up.origin, POOL);
    assert.equal((await send(pool)).body, 'ok');
    assert.equal((await send(pool)).body, 'until close');
    assert.equal((await send(pool)).body, 'ok');
    assert.equal(up.connections, 3);
    await pool.close();
    await up.close();
  });

  it('opens at most `connections` sockets and serves queued requests in order as they free up', async () => {
    const order: string[] = [];
    const up = await httpUpstream((req, res) => {
      order.push(req.url!);
      setTimeout(() => res.end(req.url), 30);
    });
    const pool = new Http1Pool(up.origin, { ...POOL, connections: 2 });
    const all = await Promise.all(Array.from({ length: 7 }, (_, i) => send(pool, { path: `/${i}` })));
    assert.deepEqual(
      all.map((r) => r.body),
      ['/0', '/1', '/2', '/3', '/4', '/5', '/6'],
    );
    assert.equal(up.maxOpen, 2);
    assert.equal(up.connections, 2);
    assert.deepEqual(order.slice(2), ['/2', '/3', '/4', '/5', '/6']);
    await pool.close();
    await up.close();
  });

  it('closes a connection left idle for keepAliveMs', async () => {
    const up = await httpUpstream((_req, res) => res.end('ok'));
    const pool = new Http1Pool(up.origin, { ...POOL, keepAliveMs: 100 });
    await send(pool);
    assert.equal(up.open, 1);
    await sleep(400);
    assert.equal(up.open, 0);
    await send(pool);
    assert.equal(up.connections, 2);
    await pool.close();
    await up.close();
  });

  it('skips an interim 100 Continue and reports the final response once', async () => {
    const up = await rawUpstream((socket) => socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-A: 1\r\nX-A: 2\r\n\r\ndone'));
    const pool = new Http1Pool(up.origin, POOL);
    const r = await send(pool);
    assert.equal(r.status, 201);
    assert.deepEqual(r.headers!['x-a'], ['1', '2']);
    assert.equal(r.body, 'done');
    await pool.close();
    await up.close();
  });

  it('close() lets the request in flight finish, then refuses new ones with H1_POOL_CLOSED', async () => {
    const up = await httpUpstream((_req, res) => setTimeout(() => res.end('late'), 100));
    const pool = new Http1Pool(up.origin, POOL);
    const inFlight = new Recorder();
    pool.dispatch(options(), inFlight);
    const closed = pool.close();
    const refused = await send(pool);
    assert.equal(refused.error?.code, 'H1_POOL_CLOSED');
    await inFlight.done;
    assert.equal(inFlight.body, 'late');
    await closed;
    await sleep(50);
    assert.equal(up.open, 0);
    await up.close();
  });
});

describe('Http1Pool: failures', () => {
  it('a kept-alive connection closed before any response byte fails with H1_REUSED_CONNECTION_CLOSED', async () => {
    const up = await rawUpstream((socket, _data, nth) => {
      if (nth === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.destroy();
    });
    const pool = new Http1Pool(up.origin, POOL);
    assert.equal((await send(pool)).body, 'ok');
    const r = await send(pool);
    assert.equal(r.error?.code, 'H1_REUSED_CONNECTION_CLOSED');
    await pool.close();
    await up.close();
  });

  it('a fresh connection closed before the response fails with H1_SOCKET_CLOSED (never as a reused one)', async () => {
    const up = await rawUpstream((socket) => socket.destroy());
    const pool = new Http1Pool(up.origin, POOL);
    assert.equal((await send(pool)).error?.code, 'H1_SOCKET_CLOSED');
    await pool.close();
    await up.close();
  });

  it('a body cut short fails with H1_SOCKET_CLOSED after the data that came', async () => {
    const up = await rawUpstream((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf'));
    const pool = new Http1Pool(up.origin, POOL);
    const r = await send(pool);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'half');
    assert.equal(r.error?.code, 'H1_SOCKET_CLOSED');
    assert.equal(r.endings, 1);
    await pool.close();
    await up.close();
  });

  it('a refused connection fails with the socket error', async () => {
    const up = await httpUpstream(() => {});
    const origin = up.origin;
    await up.close();
    const pool = new Http1Pool(origin, POOL);
    assert.equal((await send(pool)).error?.code, 'ECONNREFUSED');
    await pool.close();
  });

  it('an invalid response fails with H1_INVALID_RESPONSE and closes the connection', async () => {
    const up = await rawUpstream((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok'));
    const pool = new Http1Pool(up.origin, POOL);
    assert.equal((await send(pool)).error?.code, 'H1_INVALID_RESPONSE');
    await sleep(50);
    assert.equal(up.open, 0);
    await pool.close();
    await up.close();
  });

  it('bytes after a complete response close the connection instead of being read as the next one', async () => {
    const up = await rawUpstream((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforge'));
    const pool = new Http1Pool(up.origin, POOL);
    assert.equal((await send(pool)).body, 'ok');
    assert.equal((await send(pool)).body, 'ok');
    assert.equal(up.connections, 2);
    await pool.close();
    await up.close();
  });

  it('no head within headersTimeout is H1_HEADERS_TIMEOUT', async () => {
    const up = await rawUpstream(() => {});
    const pool = new Http1Pool(up.origin, POOL);
    const started = performance.now();
    const r = await send(pool, { headersTimeout: 150 });
    assert.equal(r.error?.code, 'H1_HEADERS_TIMEOUT');
    assert.ok(performance.now() - started >= 140);
    await pool.close();
    await up.close();
  });

  it('a body silent for longer than bodyTimeout is H1_BODY_TIMEOUT, while a steady trickle is not', async () => {
    const up = await httpUpstream((req, res) => {
      res.writeHead(200, { 'content-length': '6' });
      if (req.url === '/stall') res.write('abc');
      else {
        let n = 0;
        const t = setInterval(() => {
          res.write('x');
          if (++n === 6) {
            clearInterval(t);
            res.end();
          }
        }, 60);
      }
    });
    const pool = new Http1Pool(up.origin, POOL);
    const stalled = await send(pool, { path: '/stall', bodyTimeout: 150 });
    assert.equal(stalled.error?.code, 'H1_BODY_TIMEOUT');
    assert.equal(stalled.body, 'abc');
    const trickle = await send(pool, { path: '/trickle', bodyTimeout: 150 });
    assert.equal(trickle.error, null);
    assert.equal(trickle.body, 'xxxxxx');
    await pool.close();
    await up.close();
  });

  it('a header value with CR or LF is H1_INVALID_REQUEST and nothing is sent', async () => {
    const up = await httpUpstream((_req, res) => res.end());
    const pool = new Http1Pool(up.origin, POOL);
    const r = await send(pool, { headers: ['host', 'x', 'x-evil', 'a\r\nx-injected: 1'] });
    assert.equal(r.error?.code, 'H1_INVALID_REQUEST');
    assert.equal(up.connections, 0);
    await pool.close();
    await up.close();
  });
});

describe('Http1Pool: controller', () => {
  it('pause() stops reading the upstream (no body timeout meanwhile) and resume() delivers the rest intact', async () => {
    const total = 16 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 'z');
    let written = 0;
    const up = await httpUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const pump = (): void => {
        while (written < total) {
          written += block.length;
          if (!res.write(block)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const pool = new Http1Pool(up.origin, POOL);
    const r = new Recorder();
    r.onChunk = (rec) => {
      rec.onChunk = null;
      rec.controller!.pause();
    };
    pool.dispatch(options({ bodyTimeout: 100 }), r);
    await sleep(400);
    assert.equal(r.error, null, 'no body timeout while paused');
    assert.ok(r.received < total / 4, `read ${r.received} of ${total} while paused`);
    assert.ok(written < total, 'the upstream was held back');
    r.controller!.resume();
    await r.done;
    assert.equal(r.error, null);
    assert.equal(r.received, total);
    await pool.close();
    await up.close();
  });

  it('a connection paused in the last chunk of a response reads again for the next request', async () => {
    const up = await httpUpstream((req, res) => res.end(req.url));
    const pool = new Http1Pool(up.origin, POOL);
    const first = new Recorder();
    first.onChunk = (rec) => rec.controller!.pause();
    await send(pool, { path: '/first' }, first);
    assert.equal(first.body, '/first');
    assert.equal((await send(pool, { path: '/second' })).body, '/second');
    assert.equal(up.connections, 1);
    await pool.close();
    await up.close();
  });

  it('abort() closes the connection and the handler hears the reason once', async () => {
    const up = await httpUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('start');
    });
    const pool = new Http1Pool(up.origin, POOL);
    const r = new Recorder();
    const reason = new Error('client went away');
    r.onChunk = (rec) => rec.controller!.abort(reason);
    pool.dispatch(options(), r);
    await r.done;
    assert.equal(r.error, reason);
    assert.equal(r.endings, 1);
    assert.equal(r.controller!.aborted, true);
    await sleep(50);
    assert.equal(up.open, 0);
    await pool.close();
    await up.close();
  });

  it('abort() of a queued request removes it from the queue', async () => {
    const up = await httpUpstream((_req, res) => setTimeout(() => res.end('ok'), 50));
    const pool = new Http1Pool(up.origin, { ...POOL, connections: 1 });
    const first = new Recorder();
    const queued = new Recorder();
    pool.dispatch(options(), first);
    pool.dispatch(options(), queued);
    queued.controller!.abort(new Error('gone'));
    await first.done;
    await queued.done;
    assert.equal(first.body, 'ok');
    assert.equal(queued.error?.message, 'gone');
    await sleep(100);
    assert.equal(queued.endings, 1);
    await pool.close();
    await up.close();
  });
});

describe('Http1Pool: request bodies', () => {
  function stream(total: number): Readable {
    let sent = 0;
    return new Readable({
      read() {
        if (sent >= total) {
          this.push(null);
          return;
        }
        const n = Math.min(100_000, total - sent);
        this.push(Buffer.alloc(n, sent % 251));
        sent += n;
      },
    });
  }

  it('streams a Content-Length body as is, and a body without one chunked, both intact', async () => {
    const seen: { te: string | undefined; length: number }[] = [];
    const up = await httpUpstream(async (req, res) => {
      const body = await readAll(req);
      seen.push({ te: req.headers['transfer-encoding'], length: body.length });
      res.end(String(body.length));
    });
    const pool = new Http1Pool(up.origin, POOL);
    const total = 3_000_000;
    const a = await send(pool, { method: 'PUT', headers: ['host', 'x', 'content-length', String(total)], body: stream(total) });
    const b = await send(pool, { method: 'POST', headers: ['host', 'x'], body: stream(total) });
    assert.equal(a.body, String(total));
    assert.equal(b.body, String(total));
    assert.deepEqual(seen, [
      { te: undefined, length: total },
      { te: 'chunked', length: total },
    ]);
    assert.equal(up.connections, 1, 'the connection is reused after a streamed body');
    await pool.close();
    await up.close();
  });

  it('a body shorter than its Content-Length is H1_REQUEST_BODY', async () => {
    const up = await httpUpstream(async (req, res) => {
      await readAll(req).catch(() => {});
      res.end();
    });
    const pool = new Http1Pool(up.origin, POOL);
    const r = await send(pool, { method: 'POST', headers: ['host', 'x', 'content-length', '10'], body: Readable.from([Buffer.from('short')]) });
    assert.equal(r.error?.code, 'H1_REQUEST_BODY');
    await pool.close();
    await up.close();
  });

  it('a body destroyed mid-way (the client went away) ends the request and closes the connection', async () => {
    let gotSome!: () => void;
    const some = new Promise<void>((resolve) => (gotSome = resolve));
    const up = await httpUpstream((req) => {
      req.once('data', () => gotSome());
      req.on('error', () => {});
    });
    const pool = new Http1Pool(up.origin, POOL);
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(1000));
    const r = new Recorder();
    pool.dispatch(options({ method: 'POST', headers: ['host', 'x'], body }), r);
    await some;
    body.destroy();
    await r.done;
    assert.equal(r.error?.code, 'H1_REQUEST_BODY');
    await sleep(50);
    assert.equal(up.open, 0);
    await pool.close();
    await up.close();
  });
});

describe('Http1Pool: TLS', () => {
  let ca: CertificateAuthority;
  let up: Upstream;
  before(async () => {
    ca = createCertificateAuthority();
    const leaf = createLeafCertificate(ca, { names: ['upstream.test'] });
    const server = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => res.end(`tls ${(req.socket as TLSSocket).servername || ''}`));
    up = await listen(server, 'https');
  });
  after(async () => {
    await up.close();
    ca.remove();
  });

  it('verifies the upstream against `ca` for `servername`, and reuses the connection', async () => {
    const pool = new Http1Pool(up.origin, { ...POOL, tls: { ca: ca.certPem, servername: 'upstream.test', rejectUnauthorized: true } });
    assert.equal((await send(pool)).body, 'tls upstream.test');
    assert.equal((await send(pool)).body, 'tls upstream.test');
    assert.equal(up.connections, 1);
    await pool.close();
  });

  it('refuses an upstream whose certificate does not chain to `ca` or does not name `servername`', async () => {
    const untrusted = new Http1Pool(up.origin, { ...POOL, tls: { servername: 'upstream.test', rejectUnauthorized: true } });
    assert.ok((await send(untrusted)).error);
    await untrusted.close();
    const wrongName = new Http1Pool(up.origin, { ...POOL, tls: { ca: ca.certPem, servername: 'other.test', rejectUnauthorized: true } });
    assert.equal((await send(wrongName)).error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    await wrongName.close();
  });

  it('a TLS handshake that never completes is H1_CONNECT_TIMEOUT', async () => {
    const silent = await rawUpstream(() => {});
    const pool = new Http1Pool(silent.origin.replace('http:', 'https:'), { ...POOL, connectTimeoutMs: 150, tls: { rejectUnauthorized: true } });
    const r = await send(pool);
    assert.equal(r.error?.code, 'H1_CONNECT_TIMEOUT');
    await pool.close();
    await silent.close();
  });

  it('rejectUnauthorized: false accepts it anyway', async () => {
    const pool = new Http1Pool(up.origin, { ...POOL, tls: { rejectUnauthorized: false } });
    assert.equal((await send(pool)).status, 200);
    await pool.close();
  });
});
