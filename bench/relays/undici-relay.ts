// The relay of net-relay.ts with undici in place of the raw sockets: the
// same minimal GET (undici adds the Host of the origin), the status and body relayed, no header
// looked at, the pool set up as Postern's (src/upstream/pools.ts). `request`
// uses Pool.request() (a promise and a body stream per request); `dispatch`
// uses Pool.dispatch() with a handler object, the primitive Postern's
// upstream exchange (src/upstream/exchange.ts) is built on. Against
// net-relay.ts this is what undici costs over raw sockets.
//   node dist/bench/relays/undici-relay.js request|dispatch <upstream port>
import { Pool } from 'undici';
import { loadUws } from '../../src/frontend/uws.js';
import { listenAndAnnounce } from '../lib/listen.js';
import { badGateway, RelayHandler, statusLine } from './relay-handler.js';

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
