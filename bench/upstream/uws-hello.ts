// The fast upstream behind every proxy in the benchmark: a uWS.js hello
// world in its own process, answering every request synchronously. Under
// /api/ (only the policy route sends there) it insists on the identity
// assertion, and echoes it at ASSERTION_ECHO_PATH. It listens on a free
// loopback port and prints {"port":N} once ready.
import { loadUws } from '../../src/frontend/uws.js';
import { listenAndAnnounce } from '../lib/listen.js';
import { ASSERTION_ECHO_PATH, HELLO_BODY, IDENTITY_PREFIX, NO_ASSERTION_BODY } from '../lib/hello.js';

const uws = loadUws();
const app = uws.App();
app.any(`${IDENTITY_PREFIX}*`, (res, req) => {
  const assertion = req.getHeader('x-pomerium-jwt-assertion');
  if (assertion === '') {
    res.writeStatus('500 Internal Server Error').end(NO_ASSERTION_BODY);
    return;
  }
  res.end(req.getUrl() === ASSERTION_ECHO_PATH ? assertion : HELLO_BODY);
});
app.any('/*', (res) => {
  res.end(HELLO_BODY);
});

listenAndAnnounce(uws, app, 'uws-hello');
