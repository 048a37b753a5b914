// The session cookie: a small signed handle that is no session unless it
// names a live session and carries our MAC. Tampered, truncated, foreign
// (another shared_secret), unknown and expired cookies send a browser to
// sign in (an API client gets 401) and are cleared; a cookie planted before
// login is never adopted; a stale copy does not hide a good one; the cookie
// stays tiny whatever the ID token holds; cookie_name renames every cookie.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AuthKeys } from '../../src/authenticate/keys.js';
import { SessionHandles } from '../../src/authenticate/session-handle.js';
import { Browser, parseSetCookie, type Page } from '../helpers/browser.js';
import { assertNothingOfOursUpstream, startWithDevIdp, startWithFakeIdp, type AuthProxy, type DevIdpSetup } from '../helpers/auth-proxy.js';
import { TEST_USERS, type TestUser } from '../helpers/idp.js';
import { sleep } from '../helpers/wait.js';
import type { EchoReply } from '../helpers/upstreams.js';

const ALICE = TEST_USERS[0]!;
const MANY_GROUPS: TestUser = {
  username: 'many',
  password: 'many-password',
  email: 'many@example.com',
  name: 'Member of Everything',
  groups: Array.from({ length: 600 }, (_, i) => `group-with-a-rather-long-name-${String(i).padStart(4, '0')}`),
};
let s: DevIdpSetup;

before(async () => {
  s = await startWithDevIdp({ idp: { users: [...TEST_USERS, MANY_GROUPS] } });
});

after(async () => {
  await s?.close();
});

/** Signs in and returns the browser and its session cookie's value. */
async function signIn(px: AuthProxy = s.px, user: TestUser = ALICE): Promise<{ browser: Browser; cookie: string }> {
  const browser = new Browser();
  const page = await browser.signIn(px.app('/start'), user);
  assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
  return { browser, cookie: browser.jar.get('_pomerium', px.app('/'))!.value };
}

function handleOf(value: string): { id: string; mac: string } {
  const m = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(value);
  assert.ok(m, `not a v1 handle: ${value}`);
  return { id: m[1]!, mac: m[2]! };
}

function clearsCookie(page: Page, name = '_pomerium'): boolean {
  return page.hops[0]!.setCookies.some((c) => {
    const p = parseSetCookie(c);
    return p?.name === name && p.value === '' && p.attributes.get('max-age') === '0';
  });
}

/** A browser that holds only `value` as its session cookie. */
function browserWith(value: string, px: AuthProxy = s.px): Browser {
  const b = new Browser();
  b.jar.store(px.app('/'), `_pomerium=${value}; Path=/; Secure; HttpOnly`);
  return b;
}

/** The cookie is no session: a navigation is sent to sign in, an API call gets 401, and both clear it. */
async function assertNoSessionAndCleared(value: string, px: AuthProxy = s.px): Promise<void> {
  const upstreamBefore = px.upstream.requests.length;
  const nav = await browserWith(value, px).navigate(px.app('/private'), { follow: false });
  assert.equal(nav.status, 302, `navigation: ${nav.status} ${nav.text().slice(0, 200)}`);
  assert.ok(nav.headers.location?.startsWith(px.auth('/.pomerium/sign_in')), `to sign in, not ${nav.headers.location}`);
  assert.ok(clearsCookie(nav), `the navigation answer clears the cookie: ${JSON.stringify(nav.hops[0]!.setCookies)}`);
  const api = await browserWith(value, px).fetch(px.app('/api'));
  assert.equal(api.status, 401);
  assert.ok(clearsCookie(api), `the API answer clears the cookie: ${JSON.stringify(api.hops[0]!.setCookies)}`);
  assert.equal(px.upstream.requests.length, upstreamBefore, 'nothing reached the upstream');
}

describe('cookies that are no session', () => {
  test('the real cookie works (the baseline)', async () => {
    const { cookie } = await signIn();
    const page = await browserWith(cookie).navigate(s.px.app('/private'));
    assert.equal(page.status, 200);
  });

  test('a cookie with a changed MAC', async () => {
    const { cookie } = await signIn();
    const last = cookie.at(-1) === 'A' ? 'B' : 'A';
    await assertNoSessionAndCleared(`${cookie.slice(0, -1)}${last}`);
  });

  test('a truncated cookie', async () => {
    const { cookie } = await signIn();
    await assertNoSessionAndCleared(cookie.slice(0, -4));
    await assertNoSessionAndCleared(cookie.slice(0, cookie.lastIndexOf('.')));
  });

  test('a cookie naming another session id under the same MAC', async () => {
    const { cookie } = await signIn();
    const { mac } = handleOf(cookie);
    await assertNoSessionAndCleared(`v1.${randomBytes(16).toString('base64url')}.${mac}`);
  });

  test('a cookie for a real session minted with another shared_secret', async () => {
    const { cookie } = await signIn();
    const foreignKeys = new AuthKeys(randomBytes(32), randomBytes(32));
    await assertNoSessionAndCleared(new SessionHandles(foreignKeys.sessionHandle).issue(handleOf(cookie).id));
  });

  test('a cookie with our own MAC for a session that does not exist', async () => {
    await assertNoSessionAndCleared(new SessionHandles(s.px.keys.sessionHandle).issue(randomBytes(16).toString('base64url')));
  });

  test('garbage, an empty value and a huge value', async () => {
    await assertNoSessionAndCleared('not-a-session');
    await assertNoSessionAndCleared('""');
    await assertNoSessionAndCleared('v1.' + 'A'.repeat(3000) + '.' + 'B'.repeat(22));
  });

  test('a stale parent-domain cookie does not hide a good host-only one', async () => {
    const { browser } = await signIn();
    // A leftover cookie for every *.localhost host travels with the host's own one; the good one must count.
    browser.jar.store(s.px.app('/'), '_pomerium=v1.stale.AAAAAAAAAAAAAAAAAAAAAA; Domain=localhost; Path=/; Secure');
    const sent = browser.jar.header(s.px.app('/'));
    assert.equal(sent.match(/_pomerium=/g)?.length, 2, sent);
    const page = await browser.navigate(s.px.app('/private'));
    assert.equal(page.status, 200);
  });
});

describe('session fixation', () => {
  test('a cookie planted before login, even one with our MAC, is replaced by a new session', async () => {
    const planted = new SessionHandles(s.px.keys.sessionHandle).issue(randomBytes(16).toString('base64url'));
    const b = new Browser();
    b.jar.store(s.px.app('/'), `_pomerium=${planted}; Path=/; Secure; HttpOnly`);
    b.jar.store(s.px.auth('/'), `_pomerium_authenticate=${planted}; Path=/; Secure; HttpOnly`);
    const page = await b.signIn(s.px.app('/start'), ALICE);
    assert.equal(page.status, 200);
    const cookie = b.jar.get('_pomerium', s.px.app('/'))!.value;
    assert.notEqual(cookie, planted);
    assert.notEqual(handleOf(cookie).id, handleOf(planted).id);
    const user = (await b.fetch(s.px.app('/.pomerium/user'))).json<{ sid: string }>();
    assert.equal(user.sid, handleOf(cookie).id);
    assert.notEqual(user.sid, handleOf(planted).id);
    // And the planted value names no session afterwards either.
    await assertNoSessionAndCleared(planted);
  });

  test('signing in again gives a new session id', async () => {
    const first = await signIn();
    const second = await signIn();
    assert.notEqual(handleOf(first.cookie).id, handleOf(second.cookie).id);
  });
});

describe('what the cookie holds', () => {
  test('600 groups in the ID token: the cookies stay far below 4 KiB and the groups are all known', async () => {
    const b = new Browser();
    const page = await b.signIn(s.px.app('/start'), MANY_GROUPS);
    assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
    const ours = b.history.filter((h) => !h.url.startsWith(s.idp.issuer)).flatMap((h) => h.setCookies);
    for (const c of ours) assert.ok(c.length < 4096, `a Set-Cookie of ${c.length} bytes: ${c.slice(0, 80)}…`);
    const cookie = b.jar.get('_pomerium', s.px.app('/'))!.value;
    assert.ok(cookie.length < 200, `session cookie of ${cookie.length} bytes`);
    const user = (await b.fetch(s.px.app('/.pomerium/user'))).json<{ groups: string[] }>();
    assert.equal(user.groups.length, 600);
  });

  test('the upstream never saw any of the session cookies above', () => {
    for (const rec of s.px.upstream.requests) assert.equal(rec.headers.cookie, undefined, `cookie reached ${rec.url}`);
    assertNothingOfOursUpstream(s.px.upstream, []);
  });
});

describe('an expired session', () => {
  test('after cookie_expire the cookie, replayed by hand, is no session and is cleared', async () => {
    const own = await startWithDevIdp({ extra: { cookie_expire: '2s' } });
    try {
      const { browser, cookie } = await signIn(own.px);
      const set = browser.history.flatMap((h) => h.setCookies.map(parseSetCookie)).find((c) => c?.name === '_pomerium');
      assert.equal(set?.attributes.get('max-age'), '2');
      assert.equal((await browserWith(cookie, own.px).navigate(own.px.app('/private'))).status, 200);
      await sleep(2_500);
      await assertNoSessionAndCleared(cookie, own.px);
    } finally {
      await own.close();
    }
  });
});

describe('cookie_name', () => {
  test('renames the session, authenticate and CSRF cookies; a client cookie called _pomerium is then not ours and passes', async () => {
    const own = await startWithFakeIdp({ extra: { cookie_name: 'sso' } });
    try {
      const b = new Browser();
      const page = await b.navigate(own.px.app('/start'));
      assert.equal(page.status, 200);
      const names = b.history.flatMap((h) => h.setCookies.map((c) => parseSetCookie(c)?.name));
      assert.ok(names.includes('sso'), JSON.stringify(names));
      assert.ok(names.includes('sso_csrf'), JSON.stringify(names));
      assert.ok(names.includes('sso_authenticate'), JSON.stringify(names));
      assert.ok(!names.some((n) => n?.startsWith('_pomerium')), JSON.stringify(names));
      b.jar.store(own.px.app('/'), '_pomerium=belongs-to-the-app; Path=/');
      const echo = (await b.navigate(own.px.app('/echo'))).json<EchoReply>();
      assert.equal(echo.headers.cookie, '_pomerium=belongs-to-the-app');
      assertNothingOfOursUpstream(own.px.upstream, [b.jar.get('sso', own.px.app('/'))!.value], 'sso');
    } finally {
      await own.close();
    }
  });
});
