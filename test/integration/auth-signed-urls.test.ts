// The URLs that carry a login between the route host and the authenticate
// host are signed, short-lived and (the callback) usable once: a changed
// parameter, a pushed-out expiry, an expired signature, a replay, another
// host, or a callback on a host that is no route all end in 400, with no
// session cookie set and nothing sent upstream.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signUrl } from '../../src/authenticate/signed-url.js';
import { Browser, type Page } from '../helpers/browser.js';
import { APP_HOST, assertNothingOfOursUpstream, SECOND_HOST, useDevIdpWithTwoRoutes } from '../helpers/auth-proxy.js';
import { TEST_USERS } from '../helpers/idp.js';

const ALICE = TEST_USERS[0]!;
const s = useDevIdpWithTwoRoutes();

/** The signed sign-in URL the route host hands out for `path`. */
async function signInUrl(path = '/start'): Promise<URL> {
  const page = await new Browser().navigate(s.px.app(path), { follow: false });
  assert.equal(page.status, 302);
  return new URL(page.headers.location!);
}

/** Signs in at the provider and stops before the route callback: its signed URL and the browser. */
async function routeCallbackUrl(path = '/start'): Promise<{ url: URL; browser: Browser }> {
  const browser = new Browser();
  const page = await browser.signIn(s.px.app(path), ALICE, { stopBefore: (u) => u.pathname === '/.pomerium/callback/' });
  assert.ok(page.stoppedBefore, `the journey did not reach the route callback: ${page.status} ${page.url}`);
  return { url: new URL(page.stoppedBefore), browser };
}

/** `url` re-signed with the proxy's own key as if at `nowMs` (what only the proxy can do). */
function resign(url: URL, nowMs: number): URL {
  const copy = new URL(url.href);
  for (const p of ['pomerium_issued', 'pomerium_expiry', 'pomerium_signature']) copy.searchParams.delete(p);
  return signUrl(copy, s.px.keys.urlSigning, nowMs);
}

function assertRefused(page: Page, status = 400): void {
  assert.equal(page.status, status, `${page.url}: ${page.status} ${page.text().slice(0, 200)}`);
  const cookies = page.hops.flatMap((h) => h.setCookies).filter((c) => /^_pomerium(_authenticate)?=[^;]/.test(c));
  assert.deepEqual(cookies, [], 'no session cookie is set');
}

describe('the sign-in URL', () => {
  test('as issued, it starts the login at the provider', async () => {
    const page = await new Browser().navigate((await signInUrl()).href, { follow: false });
    assert.equal(page.status, 302);
    assert.ok(page.headers.location?.startsWith(s.idp.issuer));
  });

  test('with a changed redirect URI it is refused', async () => {
    const url = await signInUrl();
    url.searchParams.set('pomerium_redirect_uri', s.px.app('/somewhere-else'));
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
  });

  test('with its expiry pushed out it is refused', async () => {
    const url = await signInUrl();
    url.searchParams.set('pomerium_expiry', String(Number(url.searchParams.get('pomerium_expiry')) + 3600));
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
  });

  test('signed correctly ten minutes ago, it has expired', async () => {
    const url = resign(await signInUrl(), Date.now() - 10 * 60_000);
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
  });

  test('issued more than a minute in the future, it is refused', async () => {
    const url = resign(await signInUrl(), Date.now() + 5 * 60_000);
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
  });

  test('without a signature it is refused', async () => {
    const url = await signInUrl();
    url.searchParams.delete('pomerium_signature');
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
  });

  test('with a callback on a host that is no route it is refused, unsigned or even signed with our key', async () => {
    const url = await signInUrl();
    url.searchParams.set('pomerium_callback_uri', `http://evil.localhost:${s.px.port}/.pomerium/callback/`);
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
    assertRefused(await new Browser().navigate(resign(url, Date.now()).href, { follow: false }));
    url.searchParams.set('pomerium_callback_uri', `http://${APP_HOST}:${s.px.port}/not-the-callback`);
    assertRefused(await new Browser().navigate(resign(url, Date.now()).href, { follow: false }));
  });
});

describe('the route callback URL', () => {
  test('as issued, it sets the session cookie and returns to the original URL', async () => {
    const { url, browser } = await routeCallbackUrl('/first?x=1');
    const page = await browser.navigate(url.href);
    assert.equal(page.status, 200);
    assert.equal(page.url, s.px.app('/first?x=1'));
    assert.ok(browser.jar.get('_pomerium', s.px.app('/')));
  });

  test('replayed, it is refused (one use only), also in another browser', async () => {
    const { url, browser } = await routeCallbackUrl();
    assert.equal((await browser.navigate(url.href, { follow: false })).status, 302);
    assertRefused(await browser.navigate(url.href, { follow: false }));
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
  });

  test('with a changed redirect URI it is refused', async () => {
    const { url } = await routeCallbackUrl();
    url.searchParams.set('pomerium_redirect_uri', s.px.app('/admin'));
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
  });

  test('with a changed session it is refused', async () => {
    const { url } = await routeCallbackUrl();
    const sealed = url.searchParams.get('pomerium_session_encrypted')!;
    url.searchParams.set('pomerium_session_encrypted', `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'AB' : 'AA'}`);
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
    // Even re-signed by the proxy's key: the sealed session itself does not open.
    assertRefused(await new Browser().navigate(resign(url, Date.now()).href, { follow: false }));
  });

  test('with its expiry pushed out it is refused', async () => {
    const { url } = await routeCallbackUrl();
    url.searchParams.set('pomerium_expiry', String(Number(url.searchParams.get('pomerium_expiry')) + 3600));
    assertRefused(await new Browser().navigate(url.href, { follow: false }));
  });

  test('signed correctly ten minutes ago, it has expired', async () => {
    const { url } = await routeCallbackUrl();
    assertRefused(await new Browser().navigate(resign(url, Date.now() - 10 * 60_000).href, { follow: false }));
  });

  test('taken to another route host it is refused, even re-signed for that host (the session is sealed to its host)', async () => {
    const { url } = await routeCallbackUrl();
    const moved = new URL(url.href);
    moved.hostname = SECOND_HOST;
    assertRefused(await new Browser().navigate(moved.href, { follow: false }));
    assertRefused(await new Browser().navigate(resign(moved, Date.now()).href, { follow: false }));
  });

  test('none of the refused URLs let anything through to the upstream', () => {
    // Only the journeys that completed reached it, and without our cookies.
    for (const rec of s.px.upstream.requests) assert.ok(['/first?x=1'].includes(rec.url), `unexpected upstream request ${rec.url}`);
    assertNothingOfOursUpstream(s.px.upstream, []);
  });
});
