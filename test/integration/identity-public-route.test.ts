// A public route that passes identity upstream names a signed-in user (as
// Pomerium does: the session is looked up even though the policy does not
// need it) and sends an anonymous assertion for everyone else.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { APP_HOST, startWithDevIdp, type DevIdpSetup } from '../helpers/auth-proxy.js';
import { TEST_USERS } from '../helpers/idp.js';
import type { EchoReply } from '../helpers/upstreams.js';

let s: DevIdpSetup;

before(async () => {
  s = await startWithDevIdp({
    routes: [
      { from: `http://${APP_HOST}`, prefix: '/public', allow_public_unauthenticated_access: true, pass_identity_headers: true },
      { from: `http://${APP_HOST}`, allow_any_authenticated_user: true },
    ],
  });
});

after(async () => {
  await s?.close();
});

function claims(reply: EchoReply): Record<string, unknown> {
  const jwt = reply.headers['x-pomerium-jwt-assertion'];
  assert.equal(typeof jwt, 'string', 'the upstream received an assertion');
  return JSON.parse(Buffer.from((jwt as string).split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

test('a signed-in user is named on a public route; an anonymous visitor gets an anonymous assertion', async () => {
  const anonymous = await new Browser().fetch(s.px.app('/public/page'));
  assert.equal(anonymous.status, 200);
  assert.equal(claims(anonymous.json<EchoReply>()).email, '');

  const browser = new Browser();
  const signedIn = await browser.signIn(s.px.app('/private'), TEST_USERS[0]!);
  assert.equal(signedIn.status, 200);
  const named = await browser.fetch(s.px.app('/public/page'));
  assert.equal(named.status, 200);
  const c = claims(named.json<EchoReply>());
  assert.equal(c.email, 'alice@example.com');
  assert.deepEqual(c.groups, ['admins', 'staff']);
});
