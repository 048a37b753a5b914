// A kept-alive upstream connection that the upstream closes just as Postern
// reuses it (the request reached no application: the connection closed
// before a byte of an answer) is retried once on a fresh connection for a
// request that is safe to repeat, and is a 502 for one that is not.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';

/** Answers the first request of each connection (keeping it open), and closes the connection on the second without a byte. */
interface OneShotUpstream {
  readonly server: Server;
  readonly port: number;
  /** Per connection, in order: how many requests it carried. */
  readonly requestsPerConnection: number[];
}

async function startOneShotUpstream(): Promise<OneShotUpstream> {
  const requestsPerConnection: number[] = [];
  const server = createServer((socket) => {
    const index = requestsPerConnection.push(0) - 1;
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      // Heads only: every request here reaches the upstream without a body it needs to read.
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        requestsPerConnection[index]! += 1;
        if (requestsPerConnection[index] === 1) {
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nfresh');
        } else {
          socket.destroy();
          return;
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, requestsPerConnection };
}

let upstream: OneShotUpstream;
let proxy: Postern;

before(async () => {
  upstream = await startOneShotUpstream();
  proxy = await startPostern(baseConfig([publicRoute('http://reuse.localhost', `http://127.0.0.1:${upstream.port}`)]));
});

after(async () => {
  await proxy?.stop();
  upstream?.server.close();
});

test('a GET on a reused connection the upstream closed is sent again on a fresh one', async () => {
  const first = await request(proxy.url('reuse.localhost', '/one'));
  assert.equal(first.status, 200);
  const second = await request(proxy.url('reuse.localhost', '/two'));
  assert.equal(second.status, 200, second.text());
  assert.equal(second.text(), 'fresh');
  // The second request went out twice: on the kept connection (closed) and on a new one.
  assert.deepEqual(upstream.requestsPerConnection, [2, 1]);
});

test('a POST with a body on such a connection is not repeated: 502', async () => {
  const before = upstream.requestsPerConnection.length;
  const res = await request(proxy.url('reuse.localhost', '/submit'), { method: 'POST', body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(res.status, 502);
  assert.equal(upstream.requestsPerConnection.length, before, 'no new connection was opened for it');
});
