// Sign-out (GET and POST /.pomerium/sign_out on a route host): the session
// record goes, the cookie is cleared, the authenticate host ends the
// provider's session (end_session_endpoint with id_token_hint) and the
// browser lands on signout_redirect_url or the signed-out page. The old
// cookie is then worthless on every host, even replayed by hand, and the
// next visit asks for the password again.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { describe, test } from 'node:test';
import { Browser, parseSetCookie, type Page } from '../helpers/browser.js';
import { APP_HOST, AUTH_HOST, assertNothingOfOursUpstream, startWithFakeIdp, SECOND_HOST, startWithDevIdp, useDevIdpWithTwoRoutes } from '../helpers/auth-proxy.js';
import { TEST_USERS } from '../helpers/idp.js';

const ALICE = TEST_USERS[0]!;
const s = useDevIdpWithTwoRoutes();

async function signedIn(): Promise<{ browser: Browser; cookie: string; authCookie: string }> {
  const browser = new Browser();
  const page = await browser.signIn(s.px.app('/start'), ALICE);
  assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
  return {
    browser,
    cookie: browser.jar.get('_pomerium', s.px.app('/'))!.value,
    authCookie: browser.jar.get('_pomerium_authenticate', s.px.auth('/'))!.value,
  };
}

function clears(setCookies: readonly string[], name: string): boolean {
  return setCookies.some((c) => {
    const p = parseSetCookie(c);
    return p?.name === name && p.value === '' && p.attributes.get('max-age') === '0';
  });
}

/** Confirms the sign-out on the provider's page (its script would click the button) and follows on. */
async function confirmAtProvider(browser: Browser, page: Page): Promise<Page> {
  assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
  assert.ok(page.url.startsWith(s.idp.issuer), `at the provider, not ${page.url}`);
  return browser.submitForm(page, { logout: 'yes' }, { formId: 'op.logoutForm' });
}

/** The old cookie is no session on `host`: sent to sign in, 401 for API calls, cleared. */
async function assertWorthless(cookie: string, host: string): Promise<void> {
  const b = new Browser();
  b.jar.store(s.px.url(host, '/'), `_pomerium=${cookie}; Path=/; Secure; HttpOnly`);
  const nav = await b.navigate(s.px.url(host, '/private'), { follow: false });
  assert.equal(nav.status, 302, `${host}: ${nav.status}`);
  assert.ok(nav.headers.location?.startsWith(s.px.auth('/.pomerium/sign_in')));
  assert.ok(clears(nav.hops[0]!.setCookies, '_pomerium'), 'the stale cookie is cleared');
  const c = new Browser();
  c.jar.store(s.px.url(host, '/'), `_pomerium=${cookie}; Path=/; Secure; HttpOnly`);
  assert.equal((await c.fetch(s.px.url(host, '/api'))).status, 401);
}

describe('sign-out', () => {
  test('GET: clears the cookie, ends the provider session with id_token_hint, lands on the signed-out page', async () => {
    const { browser, cookie } = await signedIn();
    const before = browser.history.length;
    const atProvider = await browser.navigate(s.px.app('/.pomerium/sign_out'));
    const hops = browser.history.slice(before);

    const [routeHop, authHop] = hops;
    assert.equal(routeHop!.status, 302);
    assert.ok(clears(routeHop!.setCookies, '_pomerium'), JSON.stringify(routeHop!.setCookies));
    const signOut = new URL(routeHop!.location!);
    assert.equal(`${signOut.origin}${signOut.pathname}`, s.px.auth('/.pomerium/sign_out'));
    for (const p of ['pomerium_issued', 'pomerium_expiry', 'pomerium_signature']) assert.ok(signOut.searchParams.get(p), p);

    assert.equal(authHop!.status, 302);
    assert.ok(clears(authHop!.setCookies, '_pomerium_authenticate'), JSON.stringify(authHop!.setCookies));
    const endSession = new URL(authHop!.location!);
    assert.equal(endSession.origin, s.idp.issuer);
    const hint = endSession.searchParams.get('id_token_hint');
    assert.ok(hint, 'id_token_hint');
    const claims = decodeJwt(hint);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, s.client.clientId);
    assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), s.px.auth('/.pomerium/signed_out'));

    const done = await confirmAtProvider(browser, atProvider);
    assert.equal(done.status, 200);
    assert.equal(new URL(done.url).host, `${AUTH_HOST}:${s.px.port}`);
    assert.equal(new URL(done.url).pathname, '/.pomerium/signed_out');

    assert.equal(browser.jar.get('_pomerium', s.px.app('/')), undefined);
    assert.equal(browser.jar.get('_pomerium_authenticate', s.px.auth('/')), undefined);
    await assertWorthless(cookie, APP_HOST);
    await assertWorthless(cookie, SECOND_HOST);

    // The provider's session is over too: the next visit shows the password form.
    const again = await browser.navigate(s.px.app('/again'));
    assert.ok(again.url.startsWith(s.idp.issuer), `asked to sign in at the provider, not at ${again.url}`);
    assert.ok(again.forms().some((f) => f.passwordField !== null), 'the password form');
  });

  test('POST works the same way', async () => {
    const { browser, cookie } = await signedIn();
    const page = await browser.navigate(s.px.app('/.pomerium/sign_out'), {
      method: 'POST',
      body: '',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      initiator: s.px.app('/start'),
    });
    assert.ok(page.url.startsWith(s.idp.issuer), `at the provider's end-session page, not ${page.url}`);
    assert.equal(browser.jar.get('_pomerium', s.px.app('/')), undefined);
    await assertWorthless(cookie, APP_HOST);
  });

  test('signing out on one route host ends the session on every other', async () => {
    const { browser } = await signedIn();
    assert.equal((await browser.navigate(s.px.url(SECOND_HOST, '/x'))).status, 200);
    const secondCookie = browser.jar.get('_pomerium', s.px.url(SECOND_HOST, '/'))!.value;
    await browser.navigate(s.px.app('/.pomerium/sign_out'));
    // The browser still holds the second host's cookie: it must be worthless now.
    assert.ok(browser.jar.get('_pomerium', s.px.url(SECOND_HOST, '/')));
    const page = await browser.navigate(s.px.url(SECOND_HOST, '/x'), { follow: false });
    assert.equal(page.status, 302);
    assert.ok(clears(page.hops[0]!.setCookies, '_pomerium'));
    await assertWorthless(secondCookie, SECOND_HOST);
  });

  test("the old authenticate-host cookie no longer skips the provider's sign-in", async () => {
    const { browser, authCookie } = await signedIn();
    await browser.navigate(s.px.app('/.pomerium/sign_out'));
    const b = new Browser();
    b.jar.store(s.px.auth('/'), `_pomerium_authenticate=${authCookie}; Path=/; Secure; HttpOnly`);
    const page = await b.navigate(s.px.app('/private'), { stopBefore: (u) => u.origin === s.idp.issuer });
    assert.ok(page.stoppedBefore, `the login went to the provider; it ended at ${page.status} ${page.url}`);
  });

  test('without a session it still clears the cookie and ends on the signed-out page (no provider to tell)', async () => {
    const b = new Browser();
    const page = await b.navigate(s.px.app('/.pomerium/sign_out'));
    assert.equal(page.status, 200);
    assert.equal(page.url, s.px.auth('/.pomerium/signed_out'));
    assert.ok(clears(page.hops[0]!.setCookies, '_pomerium'));
    assert.ok(!page.hops.some((h) => h.url.startsWith(s.idp.issuer)));
  });

  test('an unsigned sign-out link on the authenticate host only asks for confirmation', async () => {
    const { browser } = await signedIn();
    const page = await browser.navigate(s.px.auth('/.pomerium/sign_out'), { initiator: 'http://evil.localhost/' });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.hops.length, 1, 'no redirect to the provider');
    assert.equal(page.hops[0]!.setCookies.length, 0, 'no cookie cleared');
    assert.equal((await browser.navigate(s.px.app('/still-in'))).status, 200, 'still signed in');
  });

  test('nothing of ours reached the upstream', () => {
    assertNothingOfOursUpstream(s.px.upstream, []);
    for (const rec of s.px.upstream.requests) assert.equal(rec.headers.cookie, undefined);
  });
});

describe('signout_redirect_url', () => {
  test('is where the provider sends the browser after sign-out', async () => {
    const target = 'http://goodbye.localhost/signed-out';
    const own = await startWithDevIdp({ extra: { signout_redirect_url: target }, postLogoutRedirectUris: [target] });
    try {
      const browser = new Browser();
      assert.equal((await browser.signIn(own.px.app('/start'), ALICE)).status, 200);
      const before = browser.history.length;
      const atProvider = await browser.navigate(own.px.app('/.pomerium/sign_out'));
      const endSession = new URL(browser.history.slice(before).find((h) => h.location?.startsWith(own.idp.issuer))!.location!);
      assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), target);
      const done = await browser.submitForm(atProvider, { logout: 'yes' }, { formId: 'op.logoutForm', stopBefore: (u) => u.hostname === 'goodbye.localhost' });
      assert.ok(done.stoppedBefore, `the provider sent the browser to ${done.url} instead`);
      const landed = new URL(done.stoppedBefore);
      assert.equal(`${landed.origin}${landed.pathname}`, target);
    } finally {
      await own.close();
    }
  });
});

describe('sign-out against the fake provider', () => {
  test('the id_token_hint is exactly the ID token the provider issued for this session', async () => {
    const own = await startWithFakeIdp();
    try {
      const browser = new Browser();
      assert.equal((await browser.navigate(own.px.app('/start'))).status, 200);
      const idToken = own.idp.log.issued.find((t) => t.split('.').length === 3)!;
      const page = await browser.navigate(own.px.app('/.pomerium/sign_out'));
      assert.equal(page.url, own.px.auth('/.pomerium/signed_out'));
      const [endSession] = own.idp.log.endSession;
      assert.ok(endSession, 'the provider was told');
      assert.equal(endSession.get('id_token_hint'), idToken);
      assert.equal(endSession.get('post_logout_redirect_uri'), own.px.auth('/.pomerium/signed_out'));
      assert.equal(endSession.get('client_id'), own.idp.clientId);
    } finally {
      await own.close();
    }
  });
});
