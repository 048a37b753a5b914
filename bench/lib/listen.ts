// How the hello upstream and every relay of bench/floor.ts come up:
// on a free loopback port, printing {"port":N} once it listens, and gone on
// SIGTERM.
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Uws } from '../../src/frontend/uws.js';

export function listenAndAnnounce(uws: Uws, app: TemplatedApp, name: string): void {
  let listenSocket: us_listen_socket | null = null;
  app.listen('127.0.0.1', 0, (token) => {
    if (!token) {
      process.stderr.write(`${name}: cannot listen on 127.0.0.1\n`);
      process.exit(1);
    }
    listenSocket = token;
    process.stdout.write(`${JSON.stringify({ port: uws.us_socket_local_port(token) })}\n`);
  });
  process.on('SIGTERM', () => {
    if (listenSocket) uws.us_listen_socket_close(listenSocket);
    process.exit(0);
  });
}
