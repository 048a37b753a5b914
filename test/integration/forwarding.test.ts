// Forwarding basics through the real proxy to a real upstream: what the
// upstream receives (method, path, query, Host, forwarding headers, route
// header options) and what the client gets back (status, headers, body,
// security headers, response header rewrites), hop-by-hop headers excluded
// in both directions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { headerValue, headerValues, rawRequest, request } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';
import { startEcho, startFixed, type EchoReply, type Upstream } from '../helpers/upstreams.js';

let echo: Upstream;
let fixed: Upstream;
let proxy: Postern;

before(async () => {
  echo = await startEcho('echo');
  fixed = await startFixed((rec) => {
    if (rec.url === '/created') {
      return { status: 201, headers: [['X-Upstream', 'yes'], ['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']], body: 'created' };
    }
    if (rec.url === '/redirect') {
      return {
        status: 302,
        headers: [['Location', `${fixed.origin}/landing?x=1`], ['X-Frame-Options', 'DENY'], ['X-Route-Response', 'from-upstream']],
        body: '',
      };
    }
    if (rec.url === '/hop') {
      return {
        status: 200,
        headers: [['Connection', 'X-Up-Drop'], ['X-Up-Drop', 'dropped'], ['Keep-Alive', 'timeout=5'], ['Proxy-Connection', 'keep-alive'], ['X-Up-Keep', 'kept']],
        body: 'hop',
      };
    }
    return { status: 404, body: 'unknown fixture path' };
  });
  proxy = await startPostern(
    baseConfig([
      publicRoute('http://app.localhost', echo.origin),
      publicRoute('http://fixed.localhost', fixed.origin),
      publicRoute('http://preserve.localhost', echo.origin, { preserve_host_header: true }),
      publicRoute('http://rewrite.localhost', echo.origin, { host_rewrite: 'rewritten.internal' }),
      publicRoute('http://rewrite-header.localhost', echo.origin, { host_rewrite_header: 'x-target-host' }),
      publicRoute('http://prefix.localhost', echo.origin, { prefix: '/api', prefix_rewrite: '/v2' }),
      publicRoute('http://regex.localhost', echo.origin, {
        regex_rewrite_pattern: '^/service/([^/]+)(/.*)$',
        regex_rewrite_substitution: '\\2/instance/\\1',
      }),
      publicRoute('http://to-path.localhost', `${echo.origin}/base/`),
      publicRoute('http://to-prefix.localhost', `${echo.origin}/anything`),
      publicRoute('http://headers.localhost', echo.origin, {
        set_request_headers: { 'X-Set-By-Route': 'route-value' },
        remove_request_headers: ['X-Remove-Me'],
      }),
      publicRoute('http://response.localhost', fixed.origin, {
        set_response_headers: { 'X-Route-Response': 'from-route' },
        rewrite_response_headers: [{ header: 'Location', prefix: `${fixed.origin}/`, value: 'http://response.localhost/' }],
      }),
    ]),
  );
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
  await fixed?.close();
});

async function echoed(url: string, opts: Parameters<typeof request>[1] = {}): Promise<{ status: number; reply: EchoReply; headers: Record<string, unknown> }> {
  const res = await request(url, opts);
  assert.equal(res.status, 200, `expected 200 from the echo upstream, got ${res.status}: ${res.text()}`);
  return { status: res.status, reply: res.json<EchoReply>(), headers: res.headers };
}

describe('methods, paths and bodies', () => {
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    test(`${method} reaches the upstream with its method, path, query and body`, async () => {
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? `payload of ${method}` : undefined;
      const { reply } = await echoed(proxy.url('app.localhost', `/m/${method.toLowerCase()}?q=1&r=two`), {
        method,
        ...(body !== undefined ? { body, headers: { 'content-type': 'text/plain' } } : {}),
      });
      assert.equal(reply.method, method);
      assert.equal(reply.url, `/m/${method.toLowerCase()}?q=1&r=two`);
      assert.equal(reply.body, body ?? '');
    });
  }

  test("the upstream's status, headers (repeated ones too) and body come back to the client", async () => {
    const res = await request(proxy.url('fixed.localhost', '/created'));
    assert.equal(res.status, 201);
    assert.equal(res.headers['x-upstream'], 'yes');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.text(), 'created');
  });

  test('the path is normalised (dot segments, merged slashes, unreserved escapes) and the query is passed verbatim', async () => {
    const cases: [string, string][] = [
      ['/a/./b/../c//d', '/a/c/d'],
      ['/%7Euser/%41%42', '/~user/AB'],
      ['/keep%20space', '/keep%20space'],
      ['/q?x=%2F&y=a+b&z', '/q?x=%2F&y=a+b&z'],
    ];
    for (const [sent, expected] of cases) {
      const { reply } = await echoed(proxy.url('app.localhost', sent));
      assert.equal(reply.url, expected, `${sent} should reach the upstream as ${expected}`);
    }
  });
});

describe('request ids', () => {
  test('every response carries x-request-id and the upstream received the same id', async () => {
    const { reply, headers } = await echoed(proxy.url('app.localhost', '/id'));
    const id = headers['x-request-id'];
    assert.equal(typeof id, 'string');
    assert.ok((id as string).length > 0);
    assert.equal(reply.headers['x-request-id'], id);
  });

  test('a client-supplied x-request-id is replaced, not forwarded', async () => {
    const { reply, headers } = await echoed(proxy.url('app.localhost', '/id'), { headers: { 'x-request-id': 'client-chosen-id' } });
    assert.notEqual(headers['x-request-id'], 'client-chosen-id');
    assert.equal(reply.headers['x-request-id'], headers['x-request-id']);
    assert.ok(!reply.rawHeaders.includes('client-chosen-id'), 'the client id must not reach the upstream');
  });

  test('two requests get two different ids', async () => {
    const a = await echoed(proxy.url('app.localhost', '/id'));
    const b = await echoed(proxy.url('app.localhost', '/id'));
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });
});

describe('Host and X-Forwarded-*', () => {
  test('by default the upstream gets the `to` host as Host and the original Host in X-Forwarded-Host', async () => {
    const original = `app.localhost:${proxy.port}`;
    const { reply } = await echoed(proxy.url('app.localhost', '/host'));
    assert.equal(reply.headers['host'], echo.authority);
    assert.equal(reply.headers['x-forwarded-host'], original);
  });

  test('preserve_host_header keeps the client Host and adds no X-Forwarded-Host', async () => {
    const { reply } = await echoed(proxy.url('preserve.localhost', '/host'));
    assert.equal(reply.headers['host'], `preserve.localhost:${proxy.port}`);
    assert.equal(reply.headers['x-forwarded-host'], undefined);
  });

  test('host_rewrite sets a literal Host and appends the original to X-Forwarded-Host', async () => {
    const { reply } = await echoed(proxy.url('rewrite.localhost', '/host'));
    assert.equal(reply.headers['host'], 'rewritten.internal');
    assert.equal(reply.headers['x-forwarded-host'], `rewrite.localhost:${proxy.port}`);
  });

  test('host_rewrite_header takes Host from the named request header', async () => {
    const { reply } = await echoed(proxy.url('rewrite-header.localhost', '/host'), { headers: { 'x-target-host': 'from-header.internal' } });
    assert.equal(reply.headers['host'], 'from-header.internal');
    assert.equal(reply.headers['x-forwarded-host'], `rewrite-header.localhost:${proxy.port}`);
  });

  test('X-Forwarded-For gets the peer address appended', async () => {
    const plain = await echoed(proxy.url('app.localhost', '/xff'));
    assert.equal(plain.reply.headers['x-forwarded-for'], '127.0.0.1');
    const chained = await echoed(proxy.url('app.localhost', '/xff'), { headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal(chained.reply.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  });

  test('X-Forwarded-Proto is set from the listener (http), overriding a client value', async () => {
    const { reply } = await echoed(proxy.url('app.localhost', '/proto'), { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(reply.headers['x-forwarded-proto'], 'http');
  });
});

describe('path rewrites', () => {
  test('prefix_rewrite replaces the matched prefix', async () => {
    const { reply } = await echoed(proxy.url('prefix.localhost', '/api/users?id=7'));
    assert.equal(reply.url, '/v2/users?id=7');
  });

  test('a request outside the route prefix matches no route (404)', async () => {
    const res = await request(proxy.url('prefix.localhost', '/other'));
    assert.equal(res.status, 404);
  });

  test('regex_rewrite substitutes with back-references', async () => {
    const { reply } = await echoed(proxy.url('regex.localhost', '/service/foo/v1/api?x=1'));
    assert.equal(reply.url, '/v1/api/instance/foo?x=1');
  });

  test('a path in `to` replaces the leading "/" (Pomerium: /base/ + /foo = /base/foo)', async () => {
    const { reply } = await echoed(proxy.url('to-path.localhost', '/foo/bar?q=1'));
    assert.equal(reply.url, '/base/foo/bar?q=1');
  });

  test('a `to` path without trailing slash is a plain prefix (Pomerium: /anything + /foo = /anythingfoo)', async () => {
    const { reply } = await echoed(proxy.url('to-prefix.localhost', '/foo'));
    assert.equal(reply.url, '/anythingfoo');
  });
});

describe('route header options', () => {
  test('set_request_headers overwrites the client value and remove_request_headers drops the header', async () => {
    const { reply } = await echoed(proxy.url('headers.localhost', '/h'), {
      headers: { 'X-Set-By-Route': 'client-value', 'X-Remove-Me': 'secret', 'X-Other': 'kept' },
    });
    assert.equal(reply.headers['x-set-by-route'], 'route-value');
    assert.equal(reply.headers['x-remove-me'], undefined);
    assert.equal(reply.headers['x-other'], 'kept');
  });

  test('default security headers are on every proxied response, overwriting upstream values; no HSTS without TLS', async () => {
    const res = await request(proxy.url('fixed.localhost', '/redirect'));
    assert.equal(res.status, 302);
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(res.headers['x-xss-protection'], '1; mode=block');
    assert.equal(res.headers['strict-transport-security'], undefined);
  });

  test('route set_response_headers overwrite the upstream value and rewrite_response_headers replace a prefix', async () => {
    const res = await request(proxy.url('response.localhost', '/redirect'));
    assert.equal(res.status, 302);
    assert.equal(res.headers['x-route-response'], 'from-route');
    assert.equal(res.headers['location'], 'http://response.localhost/landing?x=1');
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN', 'route headers merge over the defaults');
  });
});

describe('hop-by-hop headers', () => {
  test('are not forwarded to the upstream, nor the headers the Connection header lists', async () => {
    const res = await rawRequest(
      proxy.port,
      `GET /hop HTTP/1.1\r\nHost: app.localhost:${proxy.port}\r\nConnection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\n` +
        'Keep-Alive: timeout=30\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-Checksum\r\nX-Stay: 1\r\n\r\n',
    );
    assert.equal(res.kind, 'response');
    if (res.kind !== 'response') return;
    assert.equal(res.status, 200);
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    for (const name of ['x-drop-me', 'keep-alive', 'proxy-connection', 'te', 'trailer']) {
      assert.equal(reply.headers[name], undefined, `${name} must not reach the upstream`);
    }
    assert.ok(!(String(reply.headers['connection'] ?? '')).toLowerCase().includes('x-drop-me'));
    assert.equal(reply.headers['x-stay'], '1');
  });

  test('are not returned to the client, nor the headers the upstream Connection header lists', async () => {
    const res = await rawRequest(proxy.port, `GET /hop HTTP/1.1\r\nHost: fixed.localhost:${proxy.port}\r\n\r\n`);
    assert.equal(res.kind, 'response');
    if (res.kind !== 'response') return;
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hop');
    assert.equal(headerValue(res.headers, 'x-up-drop'), undefined);
    assert.equal(headerValue(res.headers, 'keep-alive'), undefined);
    assert.equal(headerValue(res.headers, 'proxy-connection'), undefined);
    assert.ok(!headerValues(res.headers, 'connection').some((v) => v.toLowerCase().includes('x-up-drop')));
    assert.equal(headerValue(res.headers, 'x-up-keep'), 'kept');
    assert.equal(headerValues(res.headers, 'content-length').length, 1, 'exactly one Content-Length');
  });
});
