// Open-redirect payloads never escape. An attacker cannot sign URLs, so the
// places a payload can be put are the programmatic login endpoint (every
// payload → 400) and, should a signed URL ever carry one, the sign-in
// continuation: a payload as the callback is refused (400), a payload as the
// return URL falls back to the route host's own front page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signUrl } from '../../src/authenticate/signed-url.js';
import { request } from '../helpers/client.js';
import { Browser } from '../helpers/browser.js';
import { startWithDevIdp, type DevIdpSetup } from '../helpers/auth-proxy.js';
import { TEST_USERS } from '../helpers/idp.js';

const ALICE = TEST_USERS[0]!;
let s: DevIdpSetup;
let signedIn: Browser;

/** Targets that must never be redirected to. Loopback hosts appear in some: the trick, not the host, is what is refused. */
const PAYLOADS: readonly string[] = [
  '//evil.example',
  '//evil.example/path',
  '///evil.example',
  '/\\evil.example',
  '\\/evil.example',
  '/\\/evil.example',
  '\\\\evil.example',
  'https:evil.example',
  'https:/evil.example',
  'https:///evil.example',
  'http:\\\\evil.example',
  'http://evil.example',
  'https://evil.example/',
  'javascript:alert(1)',
  'JavaScript:alert(1)//http://127.0.0.1/',
  'java\nscript:alert(1)',
  'javascript://127.0.0.1/%0aalert(1)',
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox(1)',
  'ftp://127.0.0.1/',
  'http://127.0.0.1@evil.example/',
  'http://localhost:1234@evil.example/',
  'http://evil.example@127.0.0.1/',
  'http://evil.example:80@127.0.0.1/',
  'http://evil.example\\@127.0.0.1/',
  'http://127.0.0.1\\@evil.example/',
  'http://evil.example#@127.0.0.1/',
  'http://evil.example?@127.0.0.1/',
  'http://127.0.0.1%2eevil.example/',
  'http://127.0.0.1%252eevil.example/',
  'http://127.0.0.1.evil.example/',
  'http://localhost.evil.example/',
  '%2F%2Fevil.example',
  '%2f%2fevil.example',
  '%5C%5Cevil.example',
  'https%3A%2F%2Fevil.example',
  ' http://evil.example',
  '\thttp://evil.example',
  'http://evil.example%09/',
  'http://evil.example /',
  'http:// evil.example',
  'http://evil\u3002example/',
  'http://\uff45\uff56\uff49\uff4c.example/',
  'http://0x7f.1/',
  'http://2130706433/',
  'http://0177.0.0.1/',
  'http:127.0.0.1/',
  '//127.0.0.1/',
  'http://127.0.0.1:99999/',
  '',
];

before(async () => {
  s = await startWithDevIdp();
  signedIn = new Browser();
  const page = await signedIn.signIn(s.px.app('/start'), ALICE);
  assert.equal(page.status, 200);
});

after(async () => {
  await s?.close();
});

describe('the programmatic login endpoint', () => {
  test('a loopback redirect is accepted (the control)', async () => {
    const res = await request(s.px.app(`/.pomerium/api/v1/login?pomerium_redirect_uri=${encodeURIComponent('http://127.0.0.1:8000/')}`));
    assert.equal(res.status, 200);
  });

  for (const payload of PAYLOADS) {
    test(`refuses ${JSON.stringify(payload)} with 400`, async () => {
      const res = await request(s.px.app(`/.pomerium/api/v1/login?pomerium_redirect_uri=${encodeURIComponent(payload)}`));
      assert.equal(res.status, 400, `${res.status} ${res.text().slice(0, 200)}`);
      assert.equal(res.headers.location, undefined);
      assert.ok(!res.text().includes('sign_in'), 'no sign-in URL in the answer');
    });
  }
});

/** A sign-in URL signed with the proxy's own key: what a bug elsewhere in the proxy could produce. */
function signedSignIn(params: Record<string, string>): string {
  const url = new URL(s.px.auth('/.pomerium/sign_in'));
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return signUrl(url, s.px.keys.urlSigning, Date.now()).href;
}

describe('even in a correctly signed sign-in URL', () => {
  test('each payload as the callback is refused with 400', async () => {
    for (const payload of PAYLOADS) {
      const page = await signedIn.navigate(signedSignIn({ pomerium_redirect_uri: s.px.app('/'), pomerium_callback_uri: payload }), { follow: false });
      assert.equal(page.status, 400, `${JSON.stringify(payload)}: ${page.status} → ${page.headers.location}`);
    }
  });

  test('each payload as the return URL ends on the route host, never elsewhere', async () => {
    for (const payload of PAYLOADS) {
      const page = await signedIn.navigate(signedSignIn({ pomerium_redirect_uri: payload, pomerium_callback_uri: s.px.app('/.pomerium/callback/') }));
      const where = `${JSON.stringify(payload)}: ${page.hops.map((h) => `${h.status} ${h.url} → ${h.location}`).join('\n')}`;
      assert.equal(page.leftLoopback, null, where);
      for (const hop of page.hops) {
        if (hop.location === null) continue;
        const target = new URL(hop.location, hop.url);
        assert.ok(target.protocol === 'http:' || target.protocol === 'https:', where);
        assert.ok(target.hostname.endsWith('.localhost') || target.hostname === '127.0.0.1', where);
      }
      assert.equal(new URL(page.url).host, `app.localhost:${s.px.port}`, where);
      assert.equal(page.status, 200, where);
    }
  });
});
