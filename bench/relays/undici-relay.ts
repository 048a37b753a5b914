// The relay of net-relay.ts with undici in place of the raw sockets: the
// same minimal GET (undici adds the Host of the origin), the status and body relayed, no header
// looked at, the pool set up as Postern's (src/upstream/pools.ts). `request`
// uses Pool.request() (a promise and a body stream per request); `dispatch`
// uses Pool.dispatch() with a handler object, the primitive Postern's
// upstream exchange (src/upstream/exchange.ts) is built on. Against
// net-relay.ts this is what undici costs over raw sockets.
//   node dist/bench/relays/undici-relay.js request|dispatch <upstream port>
import { STATUS_CODES } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { HttpResponse } from 'uWebSockets.js';
import { loadUws } from '../../src/frontend/uws.js';
import { listenAndAnnounce } from '../lib/listen.js';

const mode = process.argv[2];
const upstreamPort = Number(process.argv[3]);
if ((mode !== 'request' && mode !== 'dispatch') || !Number.isInteger(upstreamPort) || upstreamPort < 1) {
  process.stderr.write('undici-relay: usage: node undici-relay.js request|dispatch <upstream port>\n');
  process.exit(2);
}

// As in src/upstream/pools.ts.
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, {
  connections: 128,
  pipelining: 1,
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 4_000,
  connect: { timeout: 10_000 },
});

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`;
}

function badGateway(res: HttpResponse): void {
  res.cork(() => res.writeStatus('502 Bad Gateway').end());
}

/** One exchange over dispatch(): the handler is the exchange, as in Postern. */
class RelayHandler implements Dispatcher.DispatchHandler {
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

  // undici reads a handler as one of its new API only when it has this method.
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, status: number): void {
    this.#status = status;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#aborted) return;
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#res.cork(() => this.#res.writeStatus(statusLine(this.#status)).end(body));
  }

  onResponseError(): void {
    if (!this.#aborted) badGateway(this.#res);
  }
}

const uws = loadUws();
const app = uws.App();
if (mode === 'request') {
  app.any('/*', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    pool
      .request({ path: '/', method: 'GET' })
      .then(async ({ statusCode, body }) => {
        const bytes = await body.arrayBuffer();
        if (!aborted) res.cork(() => res.writeStatus(statusLine(statusCode)).end(bytes));
      })
      .catch(() => {
        if (!aborted) badGateway(res);
      });
  });
} else {
  app.any('/*', (res) => {
    pool.dispatch({ path: '/', method: 'GET' }, new RelayHandler(res));
  });
}
listenAndAnnounce(uws, app, `undici-relay ${mode}`);
