// The fast upstream behind every proxy in the benchmark: a uWS.js hello
// world in its own process, answering every request synchronously. Under
// /api/ (only the policy route sends there) it insists on the identity
// assertion, and echoes it at ASSERTION_ECHO_PATH. It listens on a free
// loopback port and prints {"port":N} once ready.
import type { us_listen_socket } from 'uWebSockets.js';
import { loadUws } from '../../src/frontend/uws.js';
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

let listenSocket: us_listen_socket | null = null;
app.listen('127.0.0.1', 0, (token) => {
  if (!token) {
    process.stderr.write('uws-hello: cannot listen on 127.0.0.1\n');
    process.exit(1);
  }
  listenSocket = token;
  process.stdout.write(`${JSON.stringify({ port: uws.us_socket_local_port(token) })}\n`);
});

process.on('SIGTERM', () => {
  if (listenSocket) uws.us_listen_socket_close(listenSocket);
  process.exit(0);
});
