// The whole sign-in against a real OpenID provider (the development IdP on
// oidc-provider): a browser without a session is sent to the authenticate
// host, on to the provider's sign-in form, back through /oauth2/callback and
// the route's /.pomerium/callback/, and lands on the exact URL it first
// asked for, with a small session cookie that never reaches the upstream.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Browser, parseSetCookie, type Hop } from '../helpers/browser.js';
import { APP_HOST, AUTH_HOST, assertNothingOfOursUpstream, SECOND_HOST, useDevIdpWithTwoRoutes } from '../helpers/auth-proxy.js';
import { TEST_USERS } from '../helpers/idp.js';
import type { EchoReply } from '../helpers/upstreams.js';

const ALICE = TEST_USERS[0]!;
const s = useDevIdpWithTwoRoutes();

function hopFor(hops: readonly Hop[], host: string, path: string): Hop {
  const hop = hops.find((h) => {
    const u = new URL(h.url);
    return u.host.startsWith(host) && u.pathname === path;
  });
  assert.ok(hop, `no hop to ${host}${path}; hops:\n${hops.map((h) => `${h.status} ${h.url}`).join('\n')}`);
  return hop;
}

function setCookie(hop: Hop, name: string): ReturnType<typeof parseSetCookie> & object {
  const found = hop.setCookies.map(parseSetCookie).find((c) => c?.name === name);
  assert.ok(found, `${hop.url} set no ${name} cookie: ${JSON.stringify(hop.setCookies)}`);
  return found;
}

async function signedIn(path = '/'): Promise<Browser> {
  const b = new Browser();
  const page = await b.signIn(s.px.app(path), ALICE);
  assert.equal(page.status, 200, `sign-in ended at ${page.url} with ${page.status}: ${page.text().slice(0, 300)}`);
  return b;
}

describe('sign-in through the provider', () => {
  test('a browser without a session signs in and comes back to the exact URL it first asked for', async () => {
    const original = s.px.app('/some/path?q=1&x=a%2Fb');
    const b = new Browser();
    const page = await b.signIn(original, ALICE);
    const hops = b.history;

    // 1. The route host sends the browser to the authenticate host with a signed URL.
    assert.equal(hops[0]!.status, 302);
    const signIn = new URL(hops[0]!.location!);
    assert.equal(`${signIn.origin}${signIn.pathname}`, s.px.auth('/.pomerium/sign_in'));
    assert.equal(signIn.searchParams.get('pomerium_redirect_uri'), original);
    assert.equal(signIn.searchParams.get('pomerium_callback_uri'), s.px.app('/.pomerium/callback/'));
    const issued = Number(signIn.searchParams.get('pomerium_issued'));
    assert.ok(Math.abs(issued - Date.now() / 1000) < 30, `pomerium_issued ${issued}`);
    assert.equal(Number(signIn.searchParams.get('pomerium_expiry')) - issued, 300);
    assert.match(signIn.searchParams.get('pomerium_signature') ?? '', /^[A-Za-z0-9_-]{43}$/);

    // 2. sign_in starts the code flow with state, nonce and PKCE S256, and binds the state to a cookie.
    const start = hopFor(hops, AUTH_HOST, '/.pomerium/sign_in');
    assert.equal(start.status, 302);
    const authorize = new URL(start.location!);
    assert.equal(authorize.origin, s.idp.issuer);
    const q = authorize.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), s.client.clientId);
    assert.equal(q.get('redirect_uri'), s.px.auth('/oauth2/callback'));
    assert.ok((q.get('state') ?? '').length >= 22, 'state');
    assert.ok((q.get('nonce') ?? '').length >= 22, 'nonce');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.ok((q.get('scope') ?? '').split(' ').includes('openid'));
    const csrf = setCookie(start, '_pomerium_csrf');
    assert.equal(csrf.attributes.get('path'), '/oauth2/callback');
    assert.ok(csrf.attributes.has('httponly') && csrf.attributes.has('secure'));

    // 3. The provider sends the code back; the authenticate host hands the session to the route host.
    const callback = hopFor(hops, AUTH_HOST, '/oauth2/callback');
    assert.equal(new URL(callback.url).searchParams.get('state'), q.get('state'));
    assert.ok(callback.sentCookies.includes('_pomerium_csrf='), 'the CSRF cookie came back with the code');
    assert.equal(callback.status, 302);
    const routeCallback = new URL(callback.location!);
    assert.equal(`${routeCallback.origin}${routeCallback.pathname}`, s.px.app('/.pomerium/callback/'));
    assert.ok(routeCallback.searchParams.get('pomerium_session_encrypted'));
    assert.equal(routeCallback.searchParams.get('pomerium_redirect_uri'), original);
    for (const p of ['pomerium_issued', 'pomerium_expiry', 'pomerium_signature']) assert.ok(routeCallback.searchParams.get(p), p);
    setCookie(callback, '_pomerium_authenticate');
    assert.equal(setCookie(callback, '_pomerium_csrf').attributes.get('max-age'), '0', 'the used CSRF cookie is cleared');

    // 4. The route callback sets the session cookie and returns to the original URL.
    const landing = hopFor(hops, APP_HOST, '/.pomerium/callback/');
    assert.equal(landing.status, 302);
    assert.equal(landing.location, original);
    const session = setCookie(landing, '_pomerium');
    assert.match(session.value, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.ok(session.value.length < 200, `cookie of ${session.value.length} bytes`);
    assert.ok(session.attributes.has('secure'), 'Secure');
    assert.ok(session.attributes.has('httponly'), 'HttpOnly');
    assert.equal(session.attributes.get('path'), '/');
    assert.equal(session.attributes.get('max-age'), String(14 * 3600));
    assert.equal(session.attributes.has('domain'), false, 'host-only without cookie_domain');
    assert.ok(!b.jar.scriptVisible(original).some((c) => c.name.startsWith('_pomerium')), 'no cookie of ours is visible to scripts');

    // 5. The upstream answers, and saw nothing of ours.
    assert.equal(page.status, 200);
    assert.equal(page.url, original);
    const echo = page.json<EchoReply>();
    assert.equal(echo.url, '/some/path?q=1&x=a%2Fb');
    assert.equal(echo.headers.cookie, undefined);
    const secrets = [session.value, setCookie(callback, '_pomerium_authenticate').value, csrf.value, q.get('state')!, q.get('nonce')!];
    assertNothingOfOursUpstream(s.px.upstream, secrets);
  });

  test('other cookies, _pomerium_* names included, reach the upstream; the session cookie does not', async () => {
    const b = await signedIn();
    b.jar.store(s.px.app('/'), '_pomerium_theme=dark; Path=/');
    b.jar.store(s.px.app('/'), 'theme=light; Path=/');
    const page = await b.navigate(s.px.app('/cookies'));
    assert.equal(page.status, 200);
    const cookie = String(page.json<EchoReply>().headers.cookie ?? '');
    assert.match(cookie, /(^|; )_pomerium_theme=dark(;|$)/);
    assert.match(cookie, /(^|; )theme=light(;|$)/);
    assert.doesNotMatch(cookie, /(^|;\s*)_pomerium=/);
    assertNothingOfOursUpstream(s.px.upstream, [b.jar.get('_pomerium', s.px.app('/'))!.value]);
  });

  test('/.pomerium/user names the user in JSON and shows no token', async () => {
    const b = await signedIn();
    const page = await b.fetch(s.px.app('/.pomerium/user'));
    assert.equal(page.status, 200);
    const user = page.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(user).sort(), ['email', 'groups', 'name', 'sid', 'sub', 'user']);
    assert.equal(user.sub, 'alice');
    assert.equal(user.user, 'alice');
    assert.equal(user.email, 'alice@example.com');
    assert.equal(user.name, 'Alice Example');
    assert.deepEqual(user.groups, ['admins', 'staff']);
    assert.equal(typeof user.sid, 'string');
    assert.doesNotMatch(page.text(), /eyJ|token/i, 'no JWT and no token field');
    assert.ok(!page.text().includes(b.jar.get('_pomerium', s.px.app('/'))!.value), 'not the cookie either');
  });

  test('/.pomerium/user without a session is 401', async () => {
    const page = await new Browser().fetch(s.px.app('/.pomerium/user'));
    assert.equal(page.status, 401);
  });

  test('/.pomerium/ is an HTML page naming the user, without a token', async () => {
    const b = await signedIn();
    const page = await b.navigate(s.px.app('/.pomerium/'));
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text(), /alice@example\.com/);
    assert.doesNotMatch(page.text(), /eyJ/, 'no JWT on the page');
    assert.ok(!page.text().includes(b.jar.get('_pomerium', s.px.app('/'))!.value), 'not the cookie either');
  });

  test('a second route host gets the session from the authenticate host without a new sign-in at the provider', async () => {
    const b = await signedIn();
    const before = b.history.length;
    const page = await b.navigate(s.px.url(SECOND_HOST, '/elsewhere'));
    const hops = b.history.slice(before);
    assert.equal(page.status, 200, hops.map((h) => `${h.status} ${h.url}`).join('\n'));
    assert.equal(page.url, s.px.url(SECOND_HOST, '/elsewhere'));
    assert.ok(!hops.some((h) => h.url.startsWith(s.idp.issuer)), 'the provider was not asked again');
    const cookie = b.jar.get('_pomerium', s.px.url(SECOND_HOST, '/'));
    assert.ok(cookie, 'the second host has its own cookie');
    assert.equal(cookie.hostOnly, true);
  });

  test('after sign-in the provider is remembered: a new proxy session needs no password (single sign-on)', async () => {
    const b = await signedIn();
    // Forget the proxy's cookies but keep the provider's.
    b.jar.delete('_pomerium');
    b.jar.delete('_pomerium_authenticate');
    const page = await b.navigate(s.px.app('/again'));
    assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
    assert.equal(page.url, s.px.app('/again'));
  });
});
