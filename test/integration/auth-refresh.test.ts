// Access tokens are refreshed before they expire, one refresh per session at
// a time, and a refresh the provider refuses ends the session. The access
// tokens here live 62 s: the proxy refreshes 60 s before expiry, so a
// refresh is due at once and the refresher (a scan every 5 s, never twice
// within 10 s) does it within seconds. Two providers run side by side: the
// fake one counts grants and checks refresh-token rotation; the
// development IdP revokes the user's grants as an administrator would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { assertNothingOfOursUpstream, startWithDevIdp, startWithFakeIdp, type AuthProxy, type DevIdpSetup, type FakeIdpSetup } from '../helpers/auth-proxy.js';
import { TEST_USERS } from '../helpers/idp.js';
import { waitUntil } from '../helpers/wait.js';

const TTL_SECONDS = 62;
let fake: FakeIdpSetup;
let dev: DevIdpSetup;

before(async () => {
  [fake, dev] = await Promise.all([
    startWithFakeIdp({ idp: { knobs: { accessTokenTtlSeconds: TTL_SECONDS } } }),
    startWithDevIdp({ idp: { accessTokenTtlSeconds: TTL_SECONDS } }),
  ]);
});

after(async () => {
  await Promise.all([fake?.close(), dev?.close()]);
});

/** The status of a request with only this session cookie: `fetch` for an API call, else a navigation. */
async function statusWith(px: AuthProxy, cookie: string, mode: 'navigate' | 'fetch' = 'fetch'): Promise<number> {
  const b = new Browser();
  b.jar.store(px.app('/'), `_pomerium=${cookie}; Path=/; Secure; HttpOnly`);
  return (await b.request(px.app('/api'), { mode, follow: false })).status;
}

describe('refresh', { concurrency: true }, () => {
  test('tokens are refreshed with the rotated refresh token, the session keeps working, and a refused refresh ends it', async () => {
    const { idp, px } = fake;
    const b = new Browser();
    assert.equal((await b.navigate(px.app('/start'))).status, 200);
    const cookie = b.jar.get('_pomerium', px.app('/'))!.value;

    assert.ok(await waitUntil(() => idp.log.refreshGrants >= 2, 35_000), `refresh grants: ${idp.log.refreshGrants}`);
    assert.equal(idp.log.refusedRefreshes, 0, 'every refresh used the current refresh token');
    assert.equal(idp.log.refreshTokenReuse, 0, 'no refresh token was used twice');
    const grants = idp.log.token.filter((t) => t.get('grant_type') === 'refresh_token');
    assert.equal(new Set(grants.map((g) => g.get('refresh_token'))).size, grants.length);
    assert.equal(await statusWith(px, cookie), 200, 'the session still works after two refreshes');

    idp.knobs.refresh = 'invalid_grant';
    assert.ok(await waitUntil(() => idp.log.refusedRefreshes >= 1, 20_000), 'the refresher tried again and was refused');
    assert.ok(await waitUntil(async () => (await statusWith(px, cookie)) === 401, 2_000), 'the session ended with the refused refresh');
    assert.equal(await statusWith(px, cookie, 'navigate'), 302);

    assertNothingOfOursUpstream(px.upstream, [cookie, ...idp.log.issued]);
  });

  test("a provider that revokes the user's grants ends the session at the next refresh", async () => {
    const { idp, px } = dev;
    const b = new Browser();
    assert.equal((await b.signIn(px.app('/start'), TEST_USERS[0]!)).status, 200);
    const cookie = b.jar.get('_pomerium', px.app('/'))!.value;
    assert.equal(await statusWith(px, cookie), 200);
    assert.ok(idp.revokeGrants('alice') > 0, 'alice had grants to revoke');
    assert.ok(await waitUntil(async () => (await statusWith(px, cookie)) === 401, 20_000), 'the session ended');
    assert.equal(await statusWith(px, cookie, 'navigate'), 302);
  });
});
