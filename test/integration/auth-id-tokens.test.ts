// ID tokens that must be refused: wrong issuer, audience or nonce, no nonce,
// expired or issued in the future, `alg: none`, HMAC keyed with the client
// secret or with the provider's public key, signed by a key outside the
// JWKS. Each is tried against the development IdP (oidc-provider, its token
// responses rewritten) and against the fake provider, which also advertises
// `none` and `HS256` in its discovery document to tempt the proxy. Every
// bad token ends the login with 400, no session cookie, nothing upstream;
// a good token afterwards still signs in (the setup itself is sound).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JWTPayload } from 'jose';
import { Browser, type Page } from '../helpers/browser.js';
import { startWithDevIdp, startWithFakeIdp, type AuthProxy, type DevIdpSetup, type FakeIdpSetup } from '../helpers/auth-proxy.js';
import type { IdTokenFault } from '../helpers/fake-idp.js';
import { TEST_USERS, type IdTokenForgery } from '../helpers/idp.js';

const ALICE = TEST_USERS[0]!;
const now = (): number => Math.floor(Date.now() / 1000);

let dev: DevIdpSetup;
let fake: FakeIdpSetup;

before(async () => {
  [dev, fake] = await Promise.all([
    startWithDevIdp(),
    startWithFakeIdp({ idp: { knobs: { advertisedAlgorithms: ['none', 'HS256', 'RS256'] } } }),
  ]);
});

after(async () => {
  await Promise.all([dev?.close(), fake?.close()]);
});

function assertRefusedLogin(page: Page, b: Browser, px: AuthProxy, upstreamBefore: number): void {
  assert.equal(page.status, 400, `${page.url}: ${page.status} ${page.text().slice(0, 300)}`);
  assert.equal(new URL(page.url).pathname, '/oauth2/callback', 'refused where the token is checked');
  assert.equal(b.jar.get('_pomerium', px.app('/')), undefined, 'no session cookie on the route host');
  assert.equal(b.jar.get('_pomerium_authenticate', px.auth('/')), undefined, 'no session cookie on the authenticate host');
  assert.equal(px.upstream.requests.length, upstreamBefore, 'nothing reached the upstream');
}

const DEV_FORGERIES: readonly { readonly name: string; readonly forgery: IdTokenForgery }[] = [
  { name: 'a wrong issuer', forgery: { claims: (c) => ({ ...c, iss: `${c.iss}/other` }) } },
  { name: 'a wrong audience', forgery: { claims: (c) => ({ ...c, aud: 'someone-else' }) } },
  { name: 'an extra audience without azp', forgery: { claims: (c) => ({ ...c, aud: [String(c.aud), 'someone-else'] }) } },
  { name: 'a wrong nonce', forgery: { claims: (c) => ({ ...c, nonce: 'not-the-nonce-sent' }) } },
  { name: 'no nonce', forgery: { claims: ({ nonce: _n, ...c }: JWTPayload) => c } },
  { name: 'an expiry in the past', forgery: { claims: (c) => ({ ...c, iat: now() - 7200, exp: now() - 3600 }) } },
  { name: 'an issue time a day ahead', forgery: { claims: (c) => ({ ...c, iat: now() + 86_400, exp: now() + 90_000 }) } },
  { name: 'alg none', forgery: { signing: { with: 'none' } } },
  { name: 'HS256 keyed with the client secret', forgery: { signing: { with: 'hmac-client-secret' } } },
  { name: 'HS256 keyed with the provider public key', forgery: { signing: { with: 'hmac-public-key' } } },
  { name: 'a key that is not in the JWKS', forgery: { signing: { with: 'foreign-key' } } },
];

describe('the development IdP issuing bad ID tokens', () => {
  for (const { name, forgery } of DEV_FORGERIES) {
    test(`an ID token with ${name} is refused`, async (t) => {
      dev.idp.forgeIdTokens(forgery);
      t.after(() => dev.idp.forgeIdTokens(null));
      const b = new Browser();
      const upstreamBefore = dev.px.upstream.requests.length;
      const page = await b.signIn(dev.px.app('/start'), ALICE);
      assertRefusedLogin(page, b, dev.px, upstreamBefore);
    });
  }

  test('an untouched ID token re-signed by the provider key is accepted (the forging itself is sound)', async (t) => {
    dev.idp.forgeIdTokens({ claims: (c) => c });
    t.after(() => dev.idp.forgeIdTokens(null));
    const b = new Browser();
    const page = await b.signIn(dev.px.app('/start'), ALICE);
    assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
  });
});

const FAKE_FAULTS: readonly Exclude<IdTokenFault, 'none'>[] = [
  'wrong-iss',
  'wrong-aud',
  'missing-nonce',
  'wrong-nonce',
  'alg-none',
  'hs256-client-secret',
  'foreign-key',
  'unknown-kid',
  'expired',
  'iat-future',
];

describe('a provider that advertises none and HS256, issuing bad ID tokens', () => {
  for (const fault of FAKE_FAULTS) {
    test(`an ID token with fault ${fault} is refused`, async (t) => {
      fake.idp.knobs.idTokenFault = fault;
      t.after(() => {
        fake.idp.knobs.idTokenFault = 'none';
      });
      const b = new Browser();
      const upstreamBefore = fake.px.upstream.requests.length;
      const page = await b.navigate(fake.px.app('/start'));
      assertRefusedLogin(page, b, fake.px, upstreamBefore);
    });
  }

  test('a correct RS256 ID token is accepted', async () => {
    const b = new Browser();
    const page = await b.navigate(fake.px.app('/start'));
    assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
  });
});

describe('a provider offering only symmetric or no signatures', () => {
  for (const algs of [['HS256'], ['none'], ['none', 'HS256', 'HS512']]) {
    test(`is refused at sign-in when it lists only ${algs.join(', ')}`, async () => {
      const own = await startWithFakeIdp({ idp: { knobs: { advertisedAlgorithms: algs } } });
      try {
        const b = new Browser();
        const page = await b.navigate(own.px.app('/start'));
        assert.ok(page.status === 400 || page.status === 503, `${page.url}: ${page.status}`);
        assert.equal(own.idp.log.authorize.length, 0, 'the browser was never sent to such a provider');
        assert.equal(b.jar.get('_pomerium', own.px.app('/')), undefined);
        assert.equal(own.px.upstream.requests.length, 0);
      } finally {
        await own.close();
      }
    });
  }
});
