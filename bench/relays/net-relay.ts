// The floor of a relay on this stack: uWS in front, a keep-alive pool of
// plain node:net sockets behind, one pre-built GET per request, and the
// answer read with nothing but a Content-Length parser. The upstream's
// status and body are relayed; none of its headers are looked at or passed
// on. Anything a real proxy does (routing, header rules, timeouts,
// streaming, chunked bodies) is missing on purpose: what this costs, every
// proxy on uWS.js + Node pays at least.
// `data` reads the sockets the usual way ('data' events, a new Buffer per
// read, through the stream machinery); `onread` has libuv read into one
// reused buffer and calls back directly, the cheapest read node:net offers.
//   node dist/bench/relays/net-relay.js data|onread <upstream port>
import { connect, type Socket } from 'node:net';
import type { HttpResponse } from 'uWebSockets.js';
import { loadUws } from '../../src/frontend/uws.js';
import { listenAndAnnounce } from '../lib/listen.js';

const mode = process.argv[2];
const upstreamPort = Number(process.argv[3]);
if ((mode !== 'data' && mode !== 'onread') || !Number.isInteger(upstreamPort) || upstreamPort < 1) {
  process.stderr.write('net-relay: usage: node net-relay.js data|onread <upstream port>\n');
  process.exit(2);
}

const REQUEST = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${upstreamPort}\r\n\r\n`, 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = '\r\ncontent-length:';
/** Every `onread` socket reads into this: each read is consumed before the next one starts. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

interface Pending {
  readonly res: HttpResponse;
  aborted: boolean;
}

class UpstreamConnection {
  readonly #socket: Socket;
  readonly #idle: UpstreamConnection[];
  #pending: Pending | null = null;
  /** A copy of the bytes of an answer that has not arrived whole yet. */
  #buffered: Buffer | null = null;
  #closed = false;

  constructor(idle: UpstreamConnection[]) {
    this.#idle = idle;
    const options = { port: upstreamPort, host: '127.0.0.1', noDelay: true };
    this.#socket =
      mode === 'onread'
        ? connect({ ...options, onread: { buffer: READ_BUFFER, callback: (n, buffer) => this.#onRead(buffer as Buffer, n) } })
        : connect(options).on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', () => undefined);
    this.#socket.on('close', () => this.#onClose());
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(pending: Pending): void {
    this.#pending = pending;
    this.#socket.write(REQUEST);
  }

  /** true: keep reading (false would pause the socket). */
  #onRead(buffer: Buffer, n: number): boolean {
    this.#onData(buffer.subarray(0, n));
    return true;
  }

  /** `chunk` may be READ_BUFFER itself: used before returning, copied if kept. */
  #onData(chunk: Buffer): void {
    const data = this.#buffered === null ? chunk : Buffer.concat([this.#buffered, chunk]);
    const headEnd = data.indexOf(HEAD_END);
    if (headEnd === -1) {
      this.#buffered = Buffer.from(data);
      return;
    }
    const head = data.toString('latin1', 0, headEnd);
    const at = head.toLowerCase().indexOf(CONTENT_LENGTH);
    if (at === -1) {
      // Only Content-Length bodies are understood; anything else is a broken floor.
      this.#socket.destroy();
      return;
    }
    const lineEnd = head.indexOf('\r\n', at + CONTENT_LENGTH.length);
    const length = Number.parseInt(head.slice(at + CONTENT_LENGTH.length, lineEnd === -1 ? undefined : lineEnd), 10);
    const total = headEnd + HEAD_END.length + length;
    if (data.length < total) {
      this.#buffered = Buffer.from(data);
      return;
    }
    this.#buffered = null;
    const pending = this.#pending!;
    this.#pending = null;
    this.#idle.push(this);
    if (pending.aborted) return;
    const status = head.slice(9, head.indexOf('\r\n'));
    const body = data.subarray(headEnd + HEAD_END.length, total);
    // uWS copies the body before end() returns.
    pending.res.cork(() => pending.res.writeStatus(status).end(body));
  }

  #onClose(): void {
    this.#closed = true;
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null && !pending.aborted) pending.res.cork(() => pending.res.writeStatus('502 Bad Gateway').end());
  }
}

const idle: UpstreamConnection[] = [];

function connection(): UpstreamConnection {
  for (let c = idle.pop(); c !== undefined; c = idle.pop()) if (!c.closed) return c;
  return new UpstreamConnection(idle);
}

const uws = loadUws();
const app = uws.App();
app.any('/*', (res) => {
  const pending: Pending = { res, aborted: false };
  res.onAborted(() => {
    pending.aborted = true;
  });
  connection().send(pending);
});
listenAndAnnounce(uws, app, `net-relay ${mode}`);
