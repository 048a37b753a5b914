// The front end's own floor: uWS answering every request itself, without an
// upstream. `sync` answers inside the handler, as the hello upstream does;
// `deferred` answers the way a proxy must, after the handler has returned:
// onAborted first, the answer from a later turn of the event loop, corked.
// The difference is what going asynchronous costs in uWS.js alone.
//   node dist/bench/relays/fixed-200.js sync|deferred
import { loadUws } from '../../src/frontend/uws.js';
import { HELLO_BODY } from '../lib/hello.js';
import { listenAndAnnounce } from '../lib/listen.js';

const mode = process.argv[2];
if (mode !== 'sync' && mode !== 'deferred') {
  process.stderr.write('fixed-200: usage: node fixed-200.js sync|deferred\n');
  process.exit(2);
}

const uws = loadUws();
const app = uws.App();
if (mode === 'sync') {
  app.any('/*', (res) => {
    res.end(HELLO_BODY);
  });
} else {
  app.any('/*', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    setImmediate(() => {
      if (!aborted) res.cork(() => res.end(HELLO_BODY));
    });
  });
}
listenAndAnnounce(uws, app, `fixed-200 ${mode}`);
