// The dispatch relay of undici-relay.ts over Postern's own HTTP/1.1 pool
// (src/upstream/http1/) instead of undici: the same minimal GET, the
// status and body relayed, the pool set up as src/upstream/pools.ts does.
// Against undici-relay.ts `dispatch` this is what the switch saves; against
// net-relay.ts `onread`, what the pool still costs over raw sockets.
//   node dist/bench/relays/http1-relay.js <upstream port>
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import { loadUws } from '../../src/frontend/uws.js';
import { Http1Pool } from '../../src/upstream/http1/pool.js';
import type { DispatchController, DispatchHandler, DispatchOptions } from '../../src/upstream/http1/dispatch.js';
import { listenAndAnnounce } from '../lib/listen.js';

const upstreamPort = Number(process.argv[2]);
if (!Number.isInteger(upstreamPort) || upstreamPort < 1) {
  process.stderr.write('http1-relay: usage: node http1-relay.js <upstream port>\n');
  process.exit(2);
}

// As in src/upstream/pools.ts.
const pool = new Http1Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 128, keepAliveMs: 4_000, connectTimeoutMs: 10_000 });
const REQUEST: DispatchOptions = {
  path: '/',
  method: 'GET',
  headers: ['host', `127.0.0.1:${upstreamPort}`],
  body: null,
  headersTimeout: 0,
  bodyTimeout: 0,
};

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`;
}

class RelayHandler implements DispatchHandler {
  readonly #res: HttpResponse;
  #aborted = false;
  #status = 0;
  readonly #chunks: Buffer[] = [];

  constructor(res: HttpResponse) {
    this.#res = res;
    res.onAborted(() => {
      this.#aborted = true;
    });
  }

  onRequestStart(): void {}

  onResponseStart(_controller: DispatchController, status: number): void {
    this.#status = status;
  }

  onResponseData(_controller: DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#aborted) return;
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#res.cork(() => this.#res.writeStatus(statusLine(this.#status)).end(body));
  }

  onResponseError(): void {
    if (!this.#aborted) this.#res.cork(() => this.#res.writeStatus('502 Bad Gateway').end());
  }
}

const uws = loadUws();
const app = uws.App();
app.any('/*', (res) => {
  pool.dispatch(REQUEST, new RelayHandler(res));
});
listenAndAnnounce(uws, app, 'http1-relay');
