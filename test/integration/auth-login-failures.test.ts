// Logins that must not complete: a state that does not match the CSRF
// cookie, a missing or foreign CSRF cookie, a code from another login (PKCE),
// a replayed or incomplete provider callback, the provider refusing, and the
// provider unreachable. Each ends without a session cookie and without
// reaching the upstream; a refusal at the provider is 401, an unreachable
// provider 503, everything else 400.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Browser, type Page } from '../helpers/browser.js';
import { freePort, startAuthProxy, startWithFakeIdp, type FakeIdpSetup } from '../helpers/auth-proxy.js';

let s: FakeIdpSetup;

before(async () => {
  s = await startWithFakeIdp();
});

after(async () => {
  await s?.close();
});

const atProviderCallback = (u: URL): boolean => u.pathname === '/oauth2/callback';

/** Starts a login and stops where the provider sends the browser back: that URL and the browser. */
async function providerCallback(browser = new Browser()): Promise<{ url: URL; browser: Browser }> {
  const page = await browser.navigate(s.px.app('/start'), { stopBefore: atProviderCallback });
  assert.ok(page.stoppedBefore, `stopped at ${page.status} ${page.url}`);
  return { url: new URL(page.stoppedBefore), browser };
}

function assertNoSession(page: Page, status: number, browser: Browser): void {
  assert.equal(page.status, status, `${page.url}: ${page.status} ${page.text().slice(0, 300)}`);
  assert.equal(browser.jar.get('_pomerium', s.px.app('/')), undefined, 'no session cookie on the route host');
  assert.equal(browser.jar.get('_pomerium_authenticate', s.px.auth('/')), undefined, 'no session cookie on the authenticate host');
}

describe('state, CSRF cookie and PKCE', () => {
  test('the token request carries the PKCE verifier of the challenge sent, and the provider is asked for a nonce', async () => {
    const b = new Browser();
    const page = await b.navigate(s.px.app('/pkce'));
    assert.equal(page.status, 200);
    const authorize = s.idp.log.authorize.at(-1)!;
    const token = s.idp.log.token.at(-1)!;
    const verifier = token.get('code_verifier') ?? '';
    assert.match(verifier, /^[A-Za-z0-9._~-]{43,128}$/);
    assert.equal(createHash('sha256').update(verifier).digest('base64url'), authorize.get('code_challenge'));
    assert.ok((authorize.get('nonce') ?? '').length >= 22);
  });

  test('a state that does not match the CSRF cookie is refused', async (t) => {
    s.idp.knobs.stateOverride = 'a-state-the-proxy-never-issued';
    t.after(() => {
      s.idp.knobs.stateOverride = null;
    });
    const b = new Browser();
    assertNoSession(await b.navigate(s.px.app('/start')), 400, b);
  });

  test('without the CSRF cookie the provider callback is refused', async () => {
    const { url, browser } = await providerCallback();
    browser.jar.delete('_pomerium_csrf');
    assertNoSession(await browser.navigate(url.href), 400, browser);
  });

  test("with another login's CSRF cookie the provider callback is refused", async () => {
    const victim = await providerCallback();
    const attacker = await providerCallback();
    const attackerCsrf = attacker.browser.jar.all().find((c) => c.name === '_pomerium_csrf')!;
    victim.browser.jar.delete('_pomerium_csrf');
    victim.browser.jar.store(s.px.auth('/oauth2/callback'), `_pomerium_csrf=${attackerCsrf.value}; Path=/oauth2/callback; Secure; HttpOnly`);
    assertNoSession(await victim.browser.navigate(victim.url.href), 400, victim.browser);
  });

  test("a code from another login, under the victim's own state, is refused (PKCE)", async () => {
    const victim = await providerCallback();
    const attacker = await providerCallback();
    const injected = new URL(victim.url.href);
    injected.searchParams.set('code', attacker.url.searchParams.get('code')!);
    assertNoSession(await victim.browser.navigate(injected.href), 400, victim.browser);
  });

  test('the provider callback used twice is refused the second time', async () => {
    const { url, browser } = await providerCallback();
    const first = await browser.navigate(url.href);
    assert.equal(first.status, 200);
    const again = new Browser();
    const page = await again.navigate(url.href);
    assertNoSession(page, 400, again);
    // The browser that completed it cannot run it again either (its CSRF cookie is spent).
    const replay = await browser.navigate(url.href, { follow: false });
    assert.equal(replay.status, 400);
  });

  test('a provider callback without a code is refused', async () => {
    const { url, browser } = await providerCallback();
    url.searchParams.delete('code');
    assertNoSession(await browser.navigate(url.href), 400, browser);
  });
});

describe('the provider says no', () => {
  test('error=access_denied ends in 401', async (t) => {
    s.idp.knobs.authorizeError = 'access_denied';
    t.after(() => {
      s.idp.knobs.authorizeError = null;
    });
    const b = new Browser();
    assertNoSession(await b.navigate(s.px.app('/start')), 401, b);
  });

  test('error=server_error ends in 400', async (t) => {
    s.idp.knobs.authorizeError = 'server_error';
    t.after(() => {
      s.idp.knobs.authorizeError = null;
    });
    const b = new Browser();
    assertNoSession(await b.navigate(s.px.app('/start')), 400, b);
  });

  test('none of the failed logins reached the upstream', () => {
    assert.deepEqual(
      s.px.upstream.requests.map((r) => r.url),
      ['/pkce', '/start'],
      'only the two logins that completed',
    );
  });
});

describe('the provider cannot be reached', () => {
  test('a provider that never answers makes sign-in 503', async () => {
    const deadPort = await freePort();
    const px = await startAuthProxy({ provider: { issuer: `http://127.0.0.1:${deadPort}`, clientId: 'postern', clientSecret: 'unused-secret' } });
    try {
      const b = new Browser();
      const page = await b.navigate(px.app('/start'));
      assert.equal(page.status, 503, `${page.url}: ${page.text().slice(0, 200)}`);
      assert.equal(new URL(page.url).pathname, '/.pomerium/sign_in');
      assert.equal(px.upstream.requests.length, 0);
    } finally {
      await px.close();
    }
  });

  test('a provider that goes away during the login makes the callback 503', async () => {
    const own = await startWithFakeIdp();
    try {
      const b = new Browser();
      const page = await b.navigate(own.px.app('/start'), { stopBefore: atProviderCallback });
      assert.ok(page.stoppedBefore);
      await own.idp.close();
      const done = await b.navigate(page.stoppedBefore);
      assert.equal(done.status, 503, `${done.url}: ${done.text().slice(0, 200)}`);
      assert.equal(b.jar.get('_pomerium', own.px.app('/')), undefined);
      assert.equal(own.px.upstream.requests.length, 0);
    } finally {
      await own.px.close();
    }
  });
});
