// An upstream's failure is a 502/504 answered promptly, never a hang or a
// crash: refused connections, hang-ups, garbage, a silent upstream past the
// route timeout, and an upstream dying mid-response (the client sees the
// response cut short). Error bodies are JSON or HTML by Accept, marked as
// intercepted and carrying the request id.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request, type Response } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';
import { refusedPort, startDying, startEcho, startSlow, startTcpUpstream, type Upstream } from '../helpers/upstreams.js';

let proxy: Postern;
let silent: Upstream & { readonly connections: number };
const upstreams: Upstream[] = [];

before(async () => {
  const refused = await refusedPort();
  silent = await startTcpUpstream('silent');
  const hangup = await startTcpUpstream('hangup');
  const garbage = await startTcpUpstream('garbage');
  const dying = await startDying({ sendBytes: 100_000, contentLength: 1_000_000 });
  const dyingChunked = await startDying({ sendBytes: 100_000, chunked: true });
  const slowBody = await startSlow({ bodyDelayMs: 4_000 });
  const echo = await startEcho();
  upstreams.push(silent, hangup, garbage, dying, dyingChunked, slowBody, echo);
  proxy = await startPostern(
    baseConfig([
      publicRoute('http://refused.localhost', `http://127.0.0.1:${refused}`),
      publicRoute('http://silent.localhost', silent.origin, { timeout: '1s' }),
      publicRoute('http://hangup.localhost', hangup.origin),
      publicRoute('http://garbage.localhost', garbage.origin),
      publicRoute('http://dying.localhost', dying.origin),
      publicRoute('http://dying-chunked.localhost', dyingChunked.origin),
      publicRoute('http://slow-body.localhost', slowBody.origin, { timeout: '1s' }),
      publicRoute('http://echo.localhost', echo.origin),
    ]),
  );
});

after(async () => {
  await proxy?.stop();
  for (const u of upstreams) await u.close();
});

function assertIntercepted(res: Response): void {
  assert.equal(res.headers['x-pomerium-intercepted-response'], 'true');
  const id = res.headers['x-request-id'];
  assert.ok(typeof id === 'string' && id.length > 0, 'an error response carries x-request-id');
}

describe('status codes', () => {
  test('a refused upstream connection is a 502, answered at once', async () => {
    const res = await request(proxy.url('refused.localhost', '/'));
    assert.equal(res.status, 502);
    assertIntercepted(res);
    assert.ok(res.ms < 2_000, `took ${res.ms} ms`);
  });

  test('an upstream that hangs up without answering is a 502', async () => {
    const res = await request(proxy.url('hangup.localhost', '/'));
    assert.equal(res.status, 502);
    assertIntercepted(res);
  });

  test('an upstream that answers with something other than HTTP is a 502', async () => {
    const res = await request(proxy.url('garbage.localhost', '/'));
    assert.equal(res.status, 502);
    assertIntercepted(res);
  });

  test('an upstream that accepts and never answers is a 504 once the route timeout (1s) passes', async () => {
    const before = silent.connections;
    const res = await request(proxy.url('silent.localhost', '/'), { timeoutMs: 10_000 });
    assert.equal(res.status, 504);
    assertIntercepted(res);
    assert.ok(silent.connections > before, 'the request reached the silent upstream');
    assert.ok(res.ms >= 900 && res.ms <= 3_000, `504 after ${res.ms} ms, expected about 1 s`);
  });

  test('the proxy still serves other routes after upstream failures', async () => {
    const res = await request(proxy.url('echo.localhost', '/still-alive'));
    assert.equal(res.status, 200);
  });
});

describe('upstream dying mid-response', () => {
  test('a known-length response cut short reaches the client as an incomplete response, not a hang', async () => {
    const res = await request(proxy.url('dying.localhost', '/'), { timeoutMs: 8_000 });
    assert.equal(res.status, 200, 'the headers were already sent');
    assert.equal(res.complete, false, 'the client must be able to tell the body is incomplete');
    assert.ok(res.body.length < 1_000_000, `received ${res.body.length} bytes`);
    assert.ok(res.ms < 5_000, `took ${res.ms} ms`);
  });

  test('a chunked response cut short is not terminated with a final chunk', async () => {
    const res = await request(proxy.url('dying-chunked.localhost', '/'), { timeoutMs: 8_000 });
    assert.equal(res.status, 200);
    assert.equal(res.complete, false, 'a cut chunked body must not look complete');
    assert.ok(res.ms < 5_000, `took ${res.ms} ms`);
  });
});

describe('route timeout after the headers', () => {
  test('a body still missing when the route timeout (1s) passes ends the exchange at the deadline, never as a complete response', async (t) => {
    const started = Date.now();
    let outcome: string;
    try {
      const res = await request(proxy.url('slow-body.localhost', '/'), { timeoutMs: 10_000 });
      assert.equal(res.status, 200, 'once the headers went out, the status is the upstream one');
      assert.equal(res.complete, false, 'the body was cut at the deadline');
      outcome = `status ${res.status}, incomplete body of ${res.body.length} bytes`;
    } catch (err) {
      // Acceptable only if the upstream headers had not reached the client yet.
      outcome = `no response: ${(err as Error).message}`;
    }
    const ms = Date.now() - started;
    t.diagnostic(`${outcome} after ${ms} ms`);
    assert.ok(ms >= 900 && ms <= 3_000, `ended after ${ms} ms, expected about 1 s`);
  });
});

describe('error bodies', () => {
  test('Accept: application/json gets a JSON body whose request_id is the x-request-id', async () => {
    const res = await request(proxy.url('refused.localhost', '/'), { headers: { accept: 'application/json' } });
    assert.equal(res.status, 502);
    assertIntercepted(res);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json<Record<string, unknown>>();
    assert.equal(body['request_id'], res.headers['x-request-id']);
  });

  test('Accept: text/html gets an HTML page that names the request id', async () => {
    const res = await request(proxy.url('refused.localhost', '/'), { headers: { accept: 'text/html' } });
    assert.equal(res.status, 502);
    assertIntercepted(res);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.ok(res.text().includes(String(res.headers['x-request-id'])), 'the page shows the request id');
  });

  test('no Accept header gets HTML (the default format)', async () => {
    const res = await request(proxy.url('refused.localhost', '/'));
    assert.match(String(res.headers['content-type']), /^text\/html/);
  });

  test('q-values decide: application/json;q=0.9 beats text/html;q=0.1', async () => {
    const res = await request(proxy.url('refused.localhost', '/'), { headers: { accept: 'text/html;q=0.1, application/json;q=0.9' } });
    assert.match(String(res.headers['content-type']), /^application\/json/);
  });

  test('the 504 body follows Accept too', async () => {
    const res = await request(proxy.url('silent.localhost', '/'), { headers: { accept: 'application/json' }, timeoutMs: 10_000 });
    assert.equal(res.status, 504);
    assert.equal(res.json<Record<string, unknown>>()['request_id'], res.headers['x-request-id']);
  });

  test('error responses carry the default security headers (Pomerium applies them to local replies)', async () => {
    const res = await request(proxy.url('refused.localhost', '/'));
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(res.headers['x-xss-protection'], '1; mode=block');
  });
});
