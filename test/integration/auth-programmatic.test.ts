// Programmatic login as pomerium-cli does it (reference §5.7): a local
// listener on 127.0.0.1, GET /.pomerium/api/v1/login?pomerium_redirect_uri=
// → a signed sign-in URL as text/plain, the browser signs in and ends at the
// listener with ?pomerium_jwt=…, and the program then sends the JWT in one
// of the three Pomerium header forms. The upstream never sees the JWT; it
// is refused on another route host, after sign-out, and when tampered with;
// a redirect outside programmatic_redirect_domain_whitelist is refused.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/client.js';
import { Browser } from '../helpers/browser.js';
import { APP_HOST, assertNothingOfOursUpstream, startWithFakeIdp, SECOND_HOST, useDevIdpWithTwoRoutes } from '../helpers/auth-proxy.js';
import { TEST_USERS } from '../helpers/idp.js';
import type { EchoReply } from '../helpers/upstreams.js';

const ALICE = TEST_USERS[0]!;
const s = useDevIdpWithTwoRoutes();
let listener: Server;
let listenerUrl: string;
const received: string[] = [];

before(async () => {
  // pomerium-cli's local listener.
  listener = createServer((req: IncomingMessage, res) => {
    received.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 25 });
    res.end('login complete, close me\n');
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/`;
});

after(async () => {
  if (listener) {
    listener.closeAllConnections();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
});

function loginEndpoint(redirect: string, host = APP_HOST): string {
  return s.px.url(host, `/.pomerium/api/v1/login?pomerium_redirect_uri=${encodeURIComponent(redirect)}`);
}

/** What pomerium-cli does: ask for the URL, let the user's browser sign in, read the JWT at the listener. */
async function cliLogin(browser = new Browser()): Promise<{ jwt: string; browser: Browser }> {
  const res = await request(loginEndpoint(listenerUrl));
  assert.equal(res.status, 200, res.text());
  const page = await browser.signIn(res.text().trim(), ALICE);
  assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
  const landed = new URL(page.url);
  assert.equal(`${landed.origin}/`, listenerUrl, `ended at ${page.url}`);
  const jwt = landed.searchParams.get('pomerium_jwt');
  assert.ok(jwt, 'pomerium_jwt');
  return { jwt, browser };
}

function withJwt(form: 'pomerium' | 'bearer' | 'x-header', jwt: string): Record<string, string> {
  switch (form) {
    case 'pomerium':
      return { authorization: `Pomerium ${jwt}` };
    case 'bearer':
      return { authorization: `Bearer Pomerium-${jwt}` };
    case 'x-header':
      return { 'x-pomerium-authorization': jwt };
  }
}

describe('programmatic login', () => {
  test('the login endpoint answers with a signed sign-in URL as text/plain', async () => {
    const res = await request(loginEndpoint(listenerUrl));
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const url = new URL(res.text().trim());
    assert.equal(`${url.origin}${url.pathname}`, s.px.auth('/.pomerium/sign_in'));
    assert.equal(url.searchParams.get('pomerium_redirect_uri'), listenerUrl);
    assert.equal(url.searchParams.get('pomerium_callback_uri'), s.px.app('/.pomerium/callback/'));
    assert.equal(url.searchParams.get('pomerium_programmatic'), 'true');
    for (const p of ['pomerium_issued', 'pomerium_expiry', 'pomerium_signature']) assert.ok(url.searchParams.get(p), p);
  });

  test('the browser signs in and ends at the local listener with pomerium_jwt, and no cookie on the route host', async () => {
    const { jwt, browser } = await cliLogin();
    assert.equal(jwt.split('.').length, 3);
    assert.ok(received.some((u) => u.includes(`pomerium_jwt=${jwt}`)));
    assert.equal(browser.jar.get('_pomerium', s.px.app('/')), undefined);
  });

  for (const form of ['pomerium', 'bearer', 'x-header'] as const) {
    test(`the JWT in the ${form} form reaches the upstream, which never sees it`, async () => {
      const { jwt } = await cliLogin();
      const res = await request(s.px.app(`/api/${form}`), { headers: { accept: 'application/json', ...withJwt(form, jwt) } });
      assert.equal(res.status, 200, res.text());
      const echo = res.json<EchoReply>();
      assert.equal(echo.url, `/api/${form}`);
      assert.equal(echo.headers.authorization, undefined);
      assert.equal(echo.headers['x-pomerium-authorization'], undefined);
      assertNothingOfOursUpstream(s.px.upstream, [jwt, jwt.split('.')[2]!]);
    });
  }

  test('an unrelated Authorization header still reaches the upstream next to the JWT header', async () => {
    const { jwt } = await cliLogin();
    const res = await request(s.px.app('/api/both'), { headers: { 'x-pomerium-authorization': jwt, authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(res.status, 200, res.text());
    assert.equal(res.json<EchoReply>().headers.authorization, 'Basic dXNlcjpwYXNz');
  });

  test('the JWT is refused on another route host (it names its audience), with 401 rather than a redirect', async () => {
    const { jwt } = await cliLogin();
    for (const form of ['pomerium', 'bearer', 'x-header'] as const) {
      const res = await request(s.px.url(SECOND_HOST, '/api'), { headers: withJwt(form, jwt) });
      assert.equal(res.status, 401, `${form}: ${res.status}`);
    }
  });

  test('a tampered JWT is refused', async () => {
    const { jwt } = await cliLogin();
    const [h, p, sig] = jwt.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url')}.${sig}`;
    assert.equal((await request(s.px.app('/api'), { headers: withJwt('pomerium', forged) })).status, 401);
    assert.equal((await request(s.px.app('/api'), { headers: withJwt('pomerium', `${h}.${p}.${sig.slice(0, -2)}`) })).status, 401);
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    assert.equal((await request(s.px.app('/api'), { headers: withJwt('pomerium', none) })).status, 401);
  });

  test('the JWT is refused once its session is signed out', async () => {
    const { jwt, browser } = await cliLogin();
    assert.equal((await request(s.px.app('/api'), { headers: withJwt('pomerium', jwt) })).status, 200);
    // The same browser visits the route (the authenticate host knows it) and signs out there: the session ends.
    assert.equal((await browser.navigate(s.px.app('/visit'))).status, 200);
    await browser.navigate(s.px.app('/.pomerium/sign_out'));
    for (const form of ['pomerium', 'bearer', 'x-header'] as const) {
      assert.equal((await request(s.px.app('/api'), { headers: withJwt(form, jwt) })).status, 401, form);
    }
  });

  test('a redirect to a host outside the whitelist (loopback only by default) is refused', async () => {
    for (const target of ['http://example.com/', 'https://evil.example/callback', `http://${APP_HOST}.evil.example/`]) {
      const res = await request(loginEndpoint(target));
      assert.equal(res.status, 400, `${target}: ${res.status} ${res.text()}`);
    }
  });

  test('the sign-in URL cannot be redirected elsewhere or turned into a cookie login', async () => {
    const res = await request(loginEndpoint(listenerUrl));
    const url = new URL(res.text().trim());
    const moved = new URL(url.href);
    moved.searchParams.set('pomerium_redirect_uri', 'http://127.0.0.1:1/steal');
    assert.equal((await new Browser().navigate(moved.href, { follow: false })).status, 400);
    const cookieLogin = new URL(url.href);
    cookieLogin.searchParams.delete('pomerium_programmatic');
    assert.equal((await new Browser().navigate(cookieLogin.href, { follow: false })).status, 400);
  });

  test('without pomerium_redirect_uri, or with POST, the endpoint refuses', async () => {
    const bare = await request(s.px.app('/.pomerium/api/v1/login'));
    assert.ok(bare.status === 400 || bare.status === 404, `no redirect: ${bare.status}`);
    assert.equal((await request(loginEndpoint(listenerUrl), { method: 'POST' })).status, 405);
  });

  test('no JWT and no cookie of ours reached the upstream', () => {
    assertNothingOfOursUpstream(s.px.upstream, []);
  });
});

describe('programmatic_redirect_domain_whitelist', () => {
  test('allows the hosts it names and nothing else', async () => {
    const own = await startWithFakeIdp({ extra: { programmatic_redirect_domain_whitelist: ['cli.example'] } });
    try {
      const ask = (target: string): ReturnType<typeof request> =>
        request(own.px.app(`/.pomerium/api/v1/login?pomerium_redirect_uri=${encodeURIComponent(target)}`));
      const ok = await ask('http://cli.example:8000/done');
      assert.equal(ok.status, 200, ok.text());
      // The browser completes the login; the JWT goes to cli.example (which it does not visit: not loopback).
      const page = await new Browser().navigate(ok.text().trim());
      assert.ok(page.leftLoopback, `ended at ${page.status} ${page.url}`);
      const landed = new URL(page.leftLoopback);
      assert.equal(landed.host, 'cli.example:8000');
      assert.ok(landed.searchParams.get('pomerium_jwt'));
      assert.equal((await ask('http://sub.cli.example/done')).status, 400);
      assert.equal((await ask('http://cli.example.evil.example/done')).status, 400);
      assert.equal((await ask('http://evil.example/done')).status, 400);
    } finally {
      await own.close();
    }
  });
});
