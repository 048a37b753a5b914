// Our credentials never reach an upstream: the session cookie (every copy,
// default and custom name), Pomerium authorization headers, the
// pomerium_session query parameter and client-forged identity headers are
// removed, while everything else passes byte for byte.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest, request } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';
import { startEcho, type EchoReply, type Upstream } from '../helpers/upstreams.js';

const POMERIUM_VECTOR_IN = 'cookieA=aaa_pomerium=123; cookieb=bbb; _pomerium=ey;_pomerium_test1=stillhere ; _pomerium_test2=stillhere';
const POMERIUM_VECTOR_OUT = 'cookieA=aaa_pomerium=123; cookieb=bbb; _pomerium_test1=stillhere ; _pomerium_test2=stillhere';

let echo: Upstream;
let proxy: Postern;
let customCookieProxy: Postern;

before(async () => {
  echo = await startEcho();
  const routes = [publicRoute('http://app.localhost', echo.origin)];
  proxy = await startPostern(baseConfig(routes));
  customCookieProxy = await startPostern(baseConfig(routes, { cookie_name: '_mysession' }));
});

after(async () => {
  await proxy?.stop();
  await customCookieProxy?.stop();
  await echo?.close();
});

async function upstreamView(p: Postern, path: string, headers: Record<string, string>): Promise<EchoReply> {
  const res = await request(p.url('app.localhost', path), { headers });
  assert.equal(res.status, 200, res.text());
  return res.json<EchoReply>();
}

/** Sends the Cookie lines as separate headers (node:http would join them). */
async function upstreamViewRawCookies(p: Postern, cookieLines: readonly string[]): Promise<EchoReply> {
  const head = cookieLines.map((c) => `Cookie: ${c}\r\n`).join('');
  const res = await rawRequest(p.port, `GET /c HTTP/1.1\r\nHost: app.localhost:${p.port}\r\n${head}\r\n`);
  assert.equal(res.kind, 'response');
  if (res.kind !== 'response') throw new Error('unreachable');
  assert.equal(res.status, 200);
  return JSON.parse(res.body.toString()) as EchoReply;
}

describe('session cookie', () => {
  test("Pomerium's vector: only the exact `_pomerium` cookie is removed, the rest byte for byte", async () => {
    const reply = await upstreamView(proxy, '/c', { cookie: POMERIUM_VECTOR_IN });
    assert.equal(reply.headers['cookie'], POMERIUM_VECTOR_OUT);
  });

  test('every copy is removed, across several Cookie headers', async () => {
    const reply = await upstreamViewRawCookies(proxy, ['a=1; _pomerium=first', '_pomerium=second; b=2', '_pomerium=third']);
    const cookie = String(reply.headers['cookie'] ?? '');
    assert.ok(!/(^|[;\s])_pomerium=/.test(cookie), `a session cookie reached the upstream: ${cookie}`);
    assert.match(cookie, /(^|; )a=1(;|$)/);
    assert.match(cookie, /(^|; )b=2(;|$)/);
  });

  test('a Cookie header holding only the session cookie forwards no session value', async () => {
    const reply = await upstreamView(proxy, '/c', { cookie: '_pomerium=only' });
    assert.ok(!String(reply.headers['cookie'] ?? '').includes('_pomerium'), JSON.stringify(reply.headers['cookie']));
  });

  test('with a custom cookie_name, that name is removed and `_pomerium` is an ordinary cookie', async () => {
    const reply = await upstreamView(customCookieProxy, '/c', { cookie: 'keep=1; _mysession=secret; _pomerium=ordinary; _mysession_x=2' });
    assert.equal(reply.headers['cookie'], 'keep=1; _pomerium=ordinary; _mysession_x=2');
  });

  test('other cookies pass untouched when there is no session cookie', async () => {
    const cookie = 'a=1; b=two words; c="quoted"; _pomerium_csrf=x; d';
    const reply = await upstreamView(proxy, '/c', { cookie });
    assert.equal(reply.headers['cookie'], cookie);
  });
});

describe('authorization', () => {
  for (const value of ['Pomerium x', 'Bearer Pomerium-x']) {
    test(`Authorization: ${value} does not reach the upstream`, async () => {
      const reply = await upstreamView(proxy, '/a', { authorization: value });
      assert.equal(reply.headers['authorization'], undefined);
    });
  }

  test('X-Pomerium-Authorization does not reach the upstream', async () => {
    const reply = await upstreamView(proxy, '/a', { 'x-pomerium-authorization': 'eyJ.session' });
    assert.equal(reply.headers['x-pomerium-authorization'], undefined);
  });

  test('an ordinary Authorization: Bearer abc reaches the upstream', async () => {
    const reply = await upstreamView(proxy, '/a', { authorization: 'Bearer abc' });
    assert.equal(reply.headers['authorization'], 'Bearer abc');
  });

  test('Basic credentials reach the upstream', async () => {
    const reply = await upstreamView(proxy, '/a', { authorization: 'Basic dXNlcjpwYXNz' });
    assert.equal(reply.headers['authorization'], 'Basic dXNlcjpwYXNz');
  });
});

describe('query and forged identity', () => {
  test('the pomerium_session query parameter is removed, other parameters keep their order', async () => {
    const reply = await upstreamView(proxy, '/q?a=1&pomerium_session=eyJ.x&b=2', {});
    assert.equal(reply.url, '/q?a=1&b=2');
    const alone = await upstreamView(proxy, '/q?pomerium_session=eyJ.x', {});
    assert.ok(!alone.url.includes('pomerium_session'), alone.url);
    assert.ok(alone.url === '/q' || alone.url === '/q?', alone.url);
  });

  test('client X-Pomerium-Jwt-Assertion, -For and X-Pomerium-Claim-* never reach the upstream', async () => {
    const reply = await upstreamView(proxy, '/i', {
      'x-pomerium-jwt-assertion': 'forged.jwt.value',
      'x-pomerium-jwt-assertion-for': 'forged.chain',
      'x-pomerium-claim-email': 'admin@example.com',
      'X-Pomerium-Claim-Groups': 'admins',
      'x-innocent': 'stays',
    });
    for (const name of Object.keys(reply.headers)) {
      assert.ok(!name.startsWith('x-pomerium-'), `${name} reached the upstream`);
    }
    assert.equal(reply.headers['x-innocent'], 'stays');
  });
});
