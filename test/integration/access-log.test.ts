// One access-log line per request on stdout, with Pomerium's field names
// and values: proxied requests, requests the proxy answers itself (404,
// /ping) and requests it refuses (400) are all accountable by request id.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { headerValue, RawConnection, rawRequest, request } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type LogLine, type Postern } from '../helpers/postern.js';
import { refusedPort, startEcho, type Upstream } from '../helpers/upstreams.js';

let echo: Upstream;
let proxy: Postern;

before(async () => {
  echo = await startEcho();
  const down = await refusedPort();
  proxy = await startPostern(
    baseConfig([publicRoute('http://app.localhost', echo.origin, { name: 'logged-app' }), publicRoute('http://down.localhost', `http://127.0.0.1:${down}`)]),
  );
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
});

function accessLine(requestId: string): Promise<LogLine> {
  return proxy.waitForLog((l) => l.msg === 'http-request' && l['request-id'] === requestId);
}

/** Every access-log line so far for this request id (there must be exactly one). */
function accessLines(requestId: string): LogLine[] {
  return proxy.logs.filter((l) => l.msg === 'http-request' && l['request-id'] === requestId);
}

describe('access log', () => {
  test('a proxied request logs one line with every Pomerium field', async () => {
    const res = await request(proxy.url('app.localhost', '/logged/path?x=1&y=2'), {
      headers: { 'user-agent': 'postern-test/1.0', referer: 'http://ref.example/page?secret=1', 'x-forwarded-for': '198.51.100.9' },
    });
    assert.equal(res.status, 200);
    const id = String(res.headers['x-request-id']);
    const line = await accessLine(id);
    assert.equal(line['method'], 'GET');
    assert.equal(line['authority'], `app.localhost:${proxy.port}`);
    assert.equal(line['path'], '/logged/path', 'Pomerium logs the path without the query');
    assert.equal(line['response-code'], 200);
    assert.equal(typeof line['duration'], 'number');
    assert.ok((line['duration'] as number) >= 0);
    assert.equal(line['size'], res.body.length);
    assert.equal(typeof line['upstream-cluster'], 'string');
    assert.ok(String(line['upstream-cluster']).startsWith('logged-app'), `upstream-cluster ${String(line['upstream-cluster'])}`);
    assert.equal(line['ip'], '127.0.0.1', 'without trusted hops the client ip is the peer');
    assert.equal(line['user-agent'], 'postern-test/1.0');
    assert.equal(line['referer'], 'http://ref.example/page', 'Pomerium logs the referer without its query');
    assert.ok(String(line['forwarded-for']).includes('198.51.100.9'), `forwarded-for ${String(line['forwarded-for'])}`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(accessLines(id).length, 1);
  });

  test('a request no route matches is logged with 404', async () => {
    const res = await request(proxy.url('nowhere.invalid', '/missing'));
    assert.equal(res.status, 404);
    const line = await accessLine(String(res.headers['x-request-id']));
    assert.equal(line['response-code'], 404);
    assert.equal(line['path'], '/missing');
    assert.equal(line['authority'], `nowhere.invalid:${proxy.port}`);
  });

  test('an upstream failure is logged with its status', async () => {
    const res = await request(proxy.url('down.localhost', '/down'));
    assert.equal(res.status, 502);
    const line = await accessLine(String(res.headers['x-request-id']));
    assert.equal(line['response-code'], 502);
  });

  test('a refused request (duplicate Host) is logged with 400', async () => {
    const out = await rawRequest(proxy.port, `GET /dup HTTP/1.1\r\nHost: app.localhost\r\nHost: app.localhost\r\n\r\n`);
    assert.equal(out.kind, 'response');
    if (out.kind !== 'response') return;
    assert.equal(out.status, 400);
    const line = await accessLine(String(headerValue(out.headers, 'x-request-id')));
    assert.equal(line['response-code'], 400);
    assert.equal(line['method'], 'GET');
  });

  test('/ping is logged like any other request', async () => {
    const res = await request(proxy.url('app.localhost', '/ping'));
    assert.equal(res.status, 200);
    const line = await accessLine(String(res.headers['x-request-id']));
    assert.equal(line['response-code'], 200);
    assert.equal(line['path'], '/ping');
  });

  test('each of several requests on one keep-alive connection gets its own id and line', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        conn.send(`GET /n/${i} HTTP/1.1\r\nHost: app.localhost:${proxy.port}\r\n\r\n`);
        const out = await conn.readResponse();
        assert.equal(out.kind, 'response');
        if (out.kind !== 'response') return;
        ids.push(String(headerValue(out.headers, 'x-request-id')));
      }
      assert.equal(new Set(ids).size, 3);
      for (const [i, id] of ids.entries()) assert.equal((await accessLine(id))['path'], `/n/${i}`);
    } finally {
      conn.close();
    }
  });
});
