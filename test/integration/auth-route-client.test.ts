// A route with its own idp_client_id/idp_client_secret signs in as that
// client at the provider, and its sessions are not valid on routes of the
// global client (nor the other way round): Pomerium's "these change the IdP
// ID, so the route needs its own session".
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { AUTH_HOST, freePort, startAuthProxy, type AuthProxy } from '../helpers/auth-proxy.js';
import { startTestIdp, TEST_USERS, type TestClient, type TestIdp } from '../helpers/idp.js';

const ALICE = TEST_USERS[0]!;
let idp: TestIdp;
let px: AuthProxy;

before(async () => {
  const port = await freePort();
  const client = (clientId: string): TestClient => ({
    clientId,
    clientSecret: randomBytes(24).toString('base64url'),
    redirectUris: [`http://${AUTH_HOST}:${port}/oauth2/callback`],
  });
  const global = client('postern');
  const own = client('postern-reports');
  idp = await startTestIdp({ clients: [global, own] });
  px = await startAuthProxy({
    port,
    provider: { issuer: idp.issuer, clientId: global.clientId, clientSecret: global.clientSecret },
    routes: [
      { from: 'http://app.localhost', allow_any_authenticated_user: true },
      { from: 'http://reports.localhost', allow_any_authenticated_user: true, idp_client_id: own.clientId, idp_client_secret: own.clientSecret },
    ],
  });
});

after(async () => {
  await px?.close();
  await idp?.close();
});

test('the route with its own client signs in as that client, and sessions do not cross between clients', async () => {
  const browser = new Browser();
  const app = await browser.signIn(px.app('/a'), ALICE);
  assert.equal(app.status, 200);
  const appCookie = browser.jar.get('_pomerium', px.app('/'))!.value;

  // The global client's session is no session on the route with its own client:
  // the browser is sent to sign in again, and the provider is asked for the route's client.
  const reports = new Browser();
  reports.jar.store(px.url('reports.localhost', '/'), `_pomerium=${appCookie}; Path=/; Secure; HttpOnly`);
  const refused = await reports.fetch(px.url('reports.localhost', '/r'));
  assert.equal(refused.status, 401);
  const toSignIn = await reports.navigate(px.url('reports.localhost', '/r'), { follow: false });
  assert.equal(toSignIn.status, 302);
  const first = await browser.navigate(toSignIn.headers.location!, { follow: false });
  assert.equal(first.status, 302);
  const authorize = new URL(first.headers.location!);
  assert.equal(authorize.origin, idp.issuer);
  assert.equal(authorize.searchParams.get('client_id'), 'postern-reports');

  // Signing in there (the provider remembers alice) gives a session that works on that route only.
  const signedIn = await browser.signIn(px.url('reports.localhost', '/r'), ALICE);
  assert.equal(signedIn.status, 200, signedIn.text().slice(0, 200));
  const reportsCookie = browser.jar.get('_pomerium', px.url('reports.localhost', '/'))!.value;
  assert.notEqual(reportsCookie, appCookie);
  const back = new Browser();
  back.jar.store(px.app('/'), `_pomerium=${reportsCookie}; Path=/; Secure; HttpOnly`);
  assert.equal((await back.fetch(px.app('/a'))).status, 401, 'the route client’s session is no session for the global client');
});
