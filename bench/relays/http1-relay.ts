// The dispatch relay of undici-relay.ts over Postern's own HTTP/1.1 pool
// (src/upstream/http1/) instead of undici: the same minimal GET, the
// status and body relayed, the pool set up as src/upstream/pools.ts does.
// Against undici-relay.ts `dispatch` this is what the switch saves; against
// net-relay.ts `onread`, what the pool still costs over raw sockets.
//   node dist/bench/relays/http1-relay.js <upstream port>
import { loadUws } from '../../src/frontend/uws.js';
import { Http1Pool } from '../../src/upstream/http1/pool.js';
import type { DispatchOptions } from '../../src/upstream/http1/dispatch.js';
import { listenAndAnnounce } from '../lib/listen.js';
import { RelayHandler } from './relay-handler.js';

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

const uws = loadUws();
const app = uws.App();
app.any('/*', (res) => {
  pool.dispatch(REQUEST, new RelayHandler(res));
});
listenAndAnnounce(uws, app, 'http1-relay');
