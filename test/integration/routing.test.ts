// Host routing as Pomerium does it: exact hosts before wildcards whatever
// the file order, first match in config order within a host, a `from`
// without port matching any port, no fall-through from an exact host to a
// wildcard, 404 when nothing matches, /ping and /healthz on every host, and
// sign-in required (401 for API clients) for a route that is not public.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request, type Response } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';
import { startEcho, type EchoReply, type Upstream } from '../helpers/upstreams.js';

const NAMES = ['wild', 'exact', 'first', 'second', 'catchall', 'port', 'anyport', 'pathonly', 'wc1', 'wc2', 'wildsub', 'private'] as const;
type Name = (typeof NAMES)[number];

const up = {} as Record<Name, Upstream>;
let proxy: Postern;

before(async () => {
  for (const name of NAMES) up[name] = await startEcho(name);
  proxy = await startPostern(
    baseConfig([
      // The wildcard comes first in the file: exact hosts must still win.
      publicRoute('http://*.localhost', up.wild.origin),
      publicRoute('http://exact.localhost', up.exact.origin),
      publicRoute('http://order.internal', up.first.origin, { prefix: '/x' }),
      publicRoute('http://order.internal', up.second.origin, { prefix: '/x/y' }),
      publicRoute('http://order.internal', up.catchall.origin),
      publicRoute('http://port.internal:1234', up.port.origin),
      publicRoute('http://anyport.internal', up.anyport.origin),
      publicRoute('http://pathonly.localhost', up.pathonly.origin, { prefix: '/only' }),
      publicRoute('http://*.wc.example', up.wc1.origin),
      publicRoute('http://*.example', up.wc2.origin),
      publicRoute('http://*.wild.internal', up.wildsub.origin),
      { from: 'http://private.internal', to: up.private.origin, allow_any_authenticated_user: true },
    ], {
      // A provider nobody answers for: no request here gets as far as signing in.
      authenticate_service_url: 'https://authenticate.internal',
      idp_provider: 'oidc',
      idp_provider_url: 'http://127.0.0.1:9',
      idp_client_id: 'postern',
      idp_client_secret: 'unused',
    }),
  );
});

after(async () => {
  await proxy?.stop();
  for (const name of NAMES) await up[name]?.close();
});

/** Sends a request with this exact Host header and returns the response. */
function withHost(host: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return request(proxy.url('unused.invalid', path), { headers: { host, ...headers } });
}

async function routedTo(host: string, path = '/'): Promise<Name> {
  const res = await withHost(host, path);
  assert.equal(res.status, 200, `Host ${host} ${path}: ${res.status} ${res.text()}`);
  return res.json<EchoReply>().name as Name;
}

describe('host precedence', () => {
  test('an exact host beats a wildcard listed before it', async () => {
    assert.equal(await routedTo(`exact.localhost:${proxy.port}`), 'exact');
  });

  test('a host covered only by the wildcard goes to the wildcard', async () => {
    assert.equal(await routedTo(`other.localhost:${proxy.port}`), 'wild');
  });

  test('host matching ignores case and a trailing dot', async () => {
    assert.equal(await routedTo(`EXACT.Localhost:${proxy.port}`), 'exact');
    assert.equal(await routedTo(`exact.localhost.:${proxy.port}`), 'exact');
  });

  test('among wildcards the first in config order wins', async () => {
    assert.equal(await routedTo(`a.wc.example:${proxy.port}`), 'wc1');
    assert.equal(await routedTo(`b.example:${proxy.port}`), 'wc2');
  });

  test('a wildcard does not match the bare domain', async () => {
    assert.equal((await withHost(`wild.internal:${proxy.port}`, '/')).status, 404);
    assert.equal(await routedTo(`x.wild.internal:${proxy.port}`), 'wildsub');
  });
});

describe('config order within a host', () => {
  test('the first matching route wins, even when a later one is more specific', async () => {
    assert.equal(await routedTo(`order.internal:${proxy.port}`, '/x/y/z'), 'first');
    assert.equal(await routedTo(`order.internal:${proxy.port}`, '/x'), 'first');
  });

  test('a prefix is a string prefix (/x also matches /xylophone)', async () => {
    assert.equal(await routedTo(`order.internal:${proxy.port}`, '/xylophone'), 'first');
  });

  test('paths no earlier route matches fall to the host catch-all', async () => {
    assert.equal(await routedTo(`order.internal:${proxy.port}`, '/other'), 'catchall');
  });

  test('an exact host whose routes do not match the path is a 404, not a fall-through to the wildcard', async () => {
    assert.equal(await routedTo(`pathonly.localhost:${proxy.port}`, '/only/here'), 'pathonly');
    const res = await withHost(`pathonly.localhost:${proxy.port}`, '/elsewhere');
    assert.equal(res.status, 404);
    assert.equal(up.wild.requests.filter((r) => r.url === '/elsewhere').length, 0);
  });
});

describe('ports', () => {
  test('a `from` with a port matches only a Host with that port', async () => {
    assert.equal(await routedTo('port.internal:1234'), 'port');
    assert.equal((await withHost(`port.internal:${proxy.port}`, '/')).status, 404);
    assert.equal((await withHost('port.internal', '/')).status, 404);
  });

  test('a `from` without a port matches any port, and no port', async () => {
    assert.equal(await routedTo(`anyport.internal:${proxy.port}`), 'anyport');
    assert.equal(await routedTo('anyport.internal:9999'), 'anyport');
    assert.equal(await routedTo('anyport.internal'), 'anyport');
  });
});

describe('no route, internal endpoints, access', () => {
  test('a host no route matches is a 404, as JSON with the request id when asked', async () => {
    const res = await withHost('nowhere.invalid', '/', { accept: 'application/json' });
    assert.equal(res.status, 404);
    assert.equal(res.headers['x-pomerium-intercepted-response'], 'true');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.json<Record<string, unknown>>()['request_id'], res.headers['x-request-id']);
  });

  for (const path of ['/ping', '/healthz']) {
    test(`${path} answers 200 OK on a routed host, an unknown host and a private host, without reaching an upstream`, async () => {
      for (const host of [`exact.localhost:${proxy.port}`, 'nowhere.invalid', `private.internal:${proxy.port}`]) {
        const res = await withHost(host, path);
        assert.equal(res.status, 200, `${host}${path}`);
        assert.equal(res.text().trim(), 'OK');
      }
      assert.equal(up.exact.requests.filter((r) => r.url === path).length, 0);
      assert.equal(up.private.requests.length, 0);
    });
  }

  test('a route without allow_public_unauthenticated_access answers 401 to an API client without a session, and the upstream sees nothing', async () => {
    const res = await withHost(`private.internal:${proxy.port}`, '/secret', { accept: 'application/json' });
    assert.equal(res.status, 401);
    assert.equal(res.headers['x-pomerium-intercepted-response'], 'true');
    assert.equal(res.json<Record<string, unknown>>()['request_id'], res.headers['x-request-id']);
    assert.equal(up.private.requests.length, 0);
  });
});

// Last in the file, so that a crash of the proxy here cannot hide the results above.
describe('internal endpoint methods', () => {
  test('POST /ping is 405 (Pomerium: GET and HEAD only)', async () => {
    const post = await request(proxy.url('exact.localhost', '/ping'), { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
  });

  test('HEAD /ping is 200 without a body', async () => {
    const head = await request(proxy.url('exact.localhost', '/ping'), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });
});
