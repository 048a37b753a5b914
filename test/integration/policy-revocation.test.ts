// Revocation takes effect at once: the decision is made on every request,
// keep-alive or not, so a session ended by a sign-out (on another route
// host, or on this one) or a revoked service account is refused on the very
// next request, on the same connection that was let through a moment
// before. No decision outlives the session or account it was made for.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { assertNothingOfOursUpstream, startWithDevIdp, type DevIdpSetup } from '../helpers/auth-proxy.js';
import { retryOnListenFailure } from '../helpers/listen-retry.js';
import { TEST_USERS } from '../helpers/idp.js';
import { KeepAliveClient, type KeepAliveAnswer } from '../helpers/keep-alive.js';
import { runCli, type CliResult } from '../helpers/postern.js';

const ALICE = TEST_USERS[0]!;
const APP = 'app.localhost';
const SECOND = 'second.localhost';
const BOTS = 'bots.localhost';
const EXAMPLE_COM = { allow: { and: [{ domain: { is: 'example.com' } }] } };

let s: DevIdpSetup;
const secrets: string[] = [];

before(async () => {
  s = await retryOnListenFailure(() =>
    startWithDevIdp({
      routes: [
        { name: 'app', from: `http://${APP}`, policy: EXAMPLE_COM },
        { name: 'second', from: `http://${SECOND}`, policy: EXAMPLE_COM },
        { name: 'bots', from: `http://${BOTS}`, policy: { allow: { or: [{ user: { is: 'sa:ci-bot' } }] } } },
      ],
    }),
  );
});

after(async () => {
  await s?.close();
});

/** Alice signed in, with a session cookie on both route hosts. */
async function signedIn(): Promise<{ browser: Browser; cookie: (host: string) => string }> {
  const browser = new Browser();
  for (const host of [APP, SECOND]) {
    const page = await browser.signIn(s.px.url(host, '/'), ALICE);
    assert.equal(page.status, 200, `${host}: ${page.status} at ${page.url}`);
  }
  const cookie = (host: string): string => `_pomerium=${browser.jar.get('_pomerium', s.px.url(host, '/'))!.value}`;
  secrets.push(cookie(APP).slice('_pomerium='.length), cookie(SECOND).slice('_pomerium='.length));
  return { browser, cookie };
}

/** Two allowed requests on one connection; the second proves the socket is being reused. */
async function allowedTwice(client: KeepAliveClient, host: string, headers: Record<string, string>): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const res = await client.request(host, `/before/${i}`, { accept: 'application/json', ...headers });
    assert.equal(res.status, 200, `request ${i}: ${res.status} ${res.body.slice(0, 200)}`);
    if (i > 0) assert.ok(res.reusedSocket);
  }
}

async function assertUnauthenticatedLine(res: KeepAliveAnswer): Promise<void> {
  const id = res.headers['x-request-id'];
  const line = await s.px.proxy.waitForLog((l) => l.msg === 'authorize check' && l['request-id'] === id, 3_000);
  assert.equal(line['session-id'], '');
  assert.equal(line.allow, false);
  assert.deepEqual(line['allow-why-false'], ['user-unauthenticated']);
}

function serviceAccount(...args: string[]): Promise<CliResult> {
  return runCli(['service-account', ...args, '--config', s.px.proxy.configFile], 15_000);
}

/** Creates a service account; its token (printed once) and id. */
async function createServiceAccount(name: string): Promise<{ token: string; id: string }> {
  const r = await serviceAccount('create', '--name', name, '--expires', '1h');
  const token = r.stdout.split('\n').find((l) => l.includes('pst_sa_'))?.trim();
  const id = /\bid ([^,\s)]+)/.exec(r.stderr)?.[1];
  assert.ok(r.code === 0 && token !== undefined && id !== undefined, `service-account create: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  secrets.push(token, token.slice(token.lastIndexOf('_') + 1));
  return { token, id };
}

describe('revocation takes effect on the next request', () => {
  test('signing out on another route host refuses the old cookie on the same keep-alive connection', async () => {
    const { browser, cookie } = await signedIn();
    const client = new KeepAliveClient(s.px.port);
    try {
      await allowedTwice(client, APP, { cookie: cookie(APP) });
      const before = s.px.upstream.requests.length;
      const out = await browser.navigate(s.px.url(SECOND, '/.pomerium/sign_out'), { follow: false });
      assert.equal(out.status, 302, `sign-out on ${SECOND}`);

      const api = await client.request(APP, '/after', { cookie: cookie(APP), accept: 'application/json' });
      assert.ok(api.reusedSocket, 'still the same connection');
      assert.equal(api.status, 401, api.body.slice(0, 200));
      await assertUnauthenticatedLine(api);
      const page = await client.request(APP, '/after', { cookie: cookie(APP), accept: 'text/html' });
      assert.equal(page.status, 302);
      assert.ok(page.headers.location?.startsWith(s.px.auth('/.pomerium/sign_in')), page.headers.location);
      assert.equal(s.px.upstream.requests.length, before, 'nothing reached the upstream after the sign-out');
    } finally {
      client.close();
    }
  });

  test("signing out with the route host's own /.pomerium/sign_out, on that very connection", async () => {
    const { cookie } = await signedIn();
    const client = new KeepAliveClient(s.px.port);
    try {
      await allowedTwice(client, APP, { cookie: cookie(APP) });
      const out = await client.request(APP, '/.pomerium/sign_out', { cookie: cookie(APP) });
      assert.equal(out.status, 302);
      const next = await client.request(APP, '/after', { cookie: cookie(APP), accept: 'application/json' });
      assert.equal(next.status, 401);
      await assertUnauthenticatedLine(next);
      // The other host's cookie named the same session: worthless too.
      const other = await client.request(SECOND, '/after', { cookie: cookie(SECOND), accept: 'application/json' });
      assert.equal(other.status, 401);
    } finally {
      client.close();
    }
  });

  test('signing in again makes a new session; the old cookie stays refused', async () => {
    const first = await signedIn();
    const old = first.cookie(APP);
    assert.equal((await first.browser.navigate(s.px.url(APP, '/.pomerium/sign_out'), { follow: false })).status, 302);
    const second = await signedIn();
    assert.notEqual(second.cookie(APP), old);
    const client = new KeepAliveClient(s.px.port);
    try {
      assert.equal((await client.request(APP, '/x', { cookie: second.cookie(APP), accept: 'application/json' })).status, 200);
      assert.equal((await client.request(APP, '/x', { cookie: old, accept: 'application/json' })).status, 401);
    } finally {
      client.close();
    }
  });

  test('a revoked service account is refused on the next request', async () => {
    const { token, id } = await createServiceAccount('ci-bot');
    const { token: otherToken } = await createServiceAccount('other-bot');

    const client = new KeepAliveClient(s.px.port);
    try {
      await allowedTwice(client, BOTS, { authorization: `Pomerium ${token}` });
      const allowed = await client.request(BOTS, '/x', { authorization: `Pomerium ${token}`, accept: 'application/json' });
      const allowedLine = await s.px.proxy.waitForLog((l) => l.msg === 'authorize check' && l['request-id'] === allowed.headers['x-request-id'], 3_000);
      assert.equal(allowedLine.user, 'sa:ci-bot');
      assert.equal(allowedLine['service-account-id'], id);
      assert.equal(allowedLine['session-id'], '');
      assert.deepEqual(allowedLine['allow-why-true'], ['user-ok']);
      const denied = await client.request(BOTS, '/x', { authorization: `Pomerium ${otherToken}`, accept: 'application/json' });
      assert.equal(denied.status, 403, 'the policy names ci-bot only');
      const revoked = await serviceAccount('revoke', '--id', id);
      assert.equal(revoked.code, 0, `${revoked.stdout}\n${revoked.stderr}`);
      const next = await client.request(BOTS, '/after', { authorization: `Pomerium ${token}`, accept: 'application/json' });
      assert.ok(next.reusedSocket);
      assert.equal(next.status, 401, next.body.slice(0, 200));
      const line = await s.px.proxy.waitForLog((l) => l.msg === 'authorize check' && l['request-id'] === next.headers['x-request-id'], 3_000);
      assert.equal(line['service-account-id'], '');
      assert.equal(line.user, '');
    } finally {
      client.close();
    }
  });

  test('nothing of ours reached the upstream', () => {
    assertNothingOfOursUpstream(s.px.upstream, secrets);
  });
});
