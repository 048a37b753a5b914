// Graceful shutdown drops no request: on SIGTERM (or SIGINT) the proxy
// stops accepting connections at once, lets the request in flight finish,
// and exits 0; an idle keep-alive connection does not hold it open.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { RawConnection, request } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';
import { startEcho, startSlow, type Upstream } from '../helpers/upstreams.js';
import { waitUntil, within } from '../helpers/wait.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function setup(upstream: Upstream): Promise<Postern> {
  cleanup.push(() => upstream.close());
  const proxy = await startPostern(baseConfig([publicRoute('http://app.localhost', upstream.origin)]));
  cleanup.push(() => proxy.stop('SIGKILL'));
  return proxy;
}

/** Resolves true when a TCP connect to the port is refused, false when it is accepted. */
function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('SIGTERM', () => {
  test('the request in flight completes, new connections are refused, and the exit code is 0', async () => {
    const slow = await startSlow({ headerDelayMs: 1_500, body: 'finished after shutdown began' });
    const proxy = await setup(slow);

    const inFlight = request(proxy.url('app.localhost', '/slow'), { timeoutMs: 15_000 });
    await slow.waitForRequests(1);
    proxy.process.kill('SIGTERM');

    const refused = await waitUntil(() => connectRefused(proxy.port), 1_000);
    assert.ok(refused, 'new connections were still accepted 1 s after SIGTERM');

    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'finished after shutdown began');
    assert.ok(res.complete);

    const code = await within(proxy.exited, 10_000);
    assert.equal(code, 0, `exit code ${String(code)}; stderr: ${proxy.stderr()}`);
  });

  test('an idle keep-alive connection does not keep the process running', async (t) => {
    const echo = await startEcho();
    const proxy = await setup(echo);
    const conn = await RawConnection.open(proxy.port);
    cleanup.push(async () => conn.close());
    conn.send(`GET /keep HTTP/1.1\r\nHost: app.localhost:${proxy.port}\r\n\r\n`);
    const first = await conn.readResponse();
    assert.equal(first.kind, 'response');

    const started = Date.now();
    proxy.process.kill('SIGTERM');
    const code = await within(proxy.exited, 15_000);
    t.diagnostic(`exited ${Date.now() - started} ms after SIGTERM with an idle keep-alive connection open`);
    assert.equal(code, 0, `exit code ${String(code)}; stderr: ${proxy.stderr()}`);
  });
});

describe('SIGINT', () => {
  test('stops the proxy with exit code 0', async () => {
    const echo = await startEcho();
    const proxy = await setup(echo);
    const res = await request(proxy.url('app.localhost', '/'));
    assert.equal(res.status, 200);
    proxy.process.kill('SIGINT');
    const code = await within(proxy.exited, 10_000);
    assert.equal(code, 0, `exit code ${String(code)}; stderr: ${proxy.stderr()}`);
  });
});
