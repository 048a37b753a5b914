// Service accounts, end to end: `postern service-account create|list|revoke`
// talks to the running proxy over its control socket; the token it prints
// once works in the Pomerium credential headers on a route for any signed-in
// user and on one allowing `sa:<name>`, never reaches the upstream, and is
// refused from the next request on after revoke or expiry.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/client.js';
import { runCli } from '../helpers/postern.js';
import { APP_HOST, assertNothingOfOursUpstream, startWithFakeIdp, type FakeIdpSetup } from '../helpers/auth-proxy.js';
import { sleep } from '../helpers/wait.js';
import type { EchoReply } from '../helpers/upstreams.js';

let s: FakeIdpSetup;
const tokens: string[] = [];

before(async () => {
  s = await startWithFakeIdp({
    routes: [
      { from: `http://${APP_HOST}`, allow_any_authenticated_user: true },
      { from: 'http://bots.localhost', allowed_users: ['sa:ci-bot'] },
      { from: 'http://others.localhost', allowed_users: ['sa:someone-else', 'alice@example.com'] },
    ],
  });
});

after(async () => {
  await s?.close();
});

async function serviceAccount(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['service-account', ...args, '--config', s.px.proxy.configFile], 15_000);
}

/** Creates an account and returns its token and id. */
async function create(name: string, expires?: string): Promise<{ token: string; id: string }> {
  const res = await serviceAccount('create', '--name', name, ...(expires === undefined ? [] : ['--expires', expires]));
  assert.equal(res.code, 0, `create exited ${res.code}:\n${res.stderr}\n${res.stdout}`);
  const token = res.stdout.split('\n').find((l) => l.includes('pst_sa_'))?.trim();
  assert.ok(token, `no token printed: ${res.stdout}`);
  const id = /\bid ([^,\s)]+)/.exec(res.stderr)?.[1];
  assert.ok(id, `no id in: ${res.stderr}`);
  tokens.push(token);
  return { token, id };
}

function get(host: string, headers: Record<string, string>, path = '/api'): ReturnType<typeof request> {
  return request(s.px.url(host, path), { headers: { accept: 'application/json', ...headers } });
}

describe('service accounts', () => {
  test('create prints a high-entropy token once; list shows the account but never the token', async () => {
    const { token, id } = await create('ci-bot', '1h');
    assert.match(token, /^pst_sa_[A-Za-z0-9_-]{32,}/);
    const list = await serviceAccount('list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /ci-bot/);
    assert.ok(list.stdout.includes(id));
    // The token is pst_sa_<id>_<secret>: the id may be listed, the secret never.
    const secret = token.slice(token.lastIndexOf('_') + 1);
    assert.ok(secret.length >= 32, `a secret of ${secret.length} characters`);
    assert.ok(!list.stdout.includes(secret), 'the secret is never listed');
  });

  test('the token works in each Pomerium header form and never reaches the upstream', async () => {
    const { token } = await create('ci-bot-headers', '1h');
    const forms: Record<string, string>[] = [{ authorization: `Pomerium ${token}` }, { authorization: `Bearer Pomerium-${token}` }, { 'x-pomerium-authorization': token }];
    for (const headers of forms) {
      const res = await get(APP_HOST, headers);
      assert.equal(res.status, 200, `${JSON.stringify(Object.keys(headers))}: ${res.status} ${res.text()}`);
      const echo = res.json<EchoReply>();
      assert.equal(echo.headers.authorization, undefined);
      assert.equal(echo.headers['x-pomerium-authorization'], undefined);
    }
    assertNothingOfOursUpstream(s.px.upstream, [token, token.slice(token.lastIndexOf('_') + 1)]);
  });

  test('allowed_users: [sa:ci-bot] lets exactly that account in', async () => {
    const bot = tokens[0]!;
    assert.equal((await get('bots.localhost', { authorization: `Pomerium ${bot}` })).status, 200);
    assert.equal((await get('others.localhost', { authorization: `Pomerium ${bot}` })).status, 403);
    const other = await create('not-ci-bot', '1h');
    assert.equal((await get('bots.localhost', { authorization: `Pomerium ${other.token}` })).status, 403);
  });

  test('a tampered or unknown token is 401, not a redirect', async () => {
    const token = tokens[0]!;
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const value of [tampered, token.slice(0, -4), 'pst_sa_' + 'x'.repeat(43)]) {
      const res = await request(s.px.app('/page'), { headers: { authorization: `Pomerium ${value}` } });
      assert.equal(res.status, 401);
    }
    const bearer = await request(s.px.app('/page'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 401, 'a service-account token as a plain bearer is not a Pomerium credential, and gets no login page');
  });

  test('revoke refuses the token from the next request on', async () => {
    const { token, id } = await create('short-lived', '1h');
    assert.equal((await get(APP_HOST, { authorization: `Pomerium ${token}` })).status, 200);
    const res = await serviceAccount('revoke', '--id', id);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((await get(APP_HOST, { authorization: `Pomerium ${token}` })).status, 401);
    assert.ok(!(await serviceAccount('list')).stdout.includes(id), 'no longer listed');
    assert.notEqual((await serviceAccount('revoke', '--id', id)).code, 0, 'a second revoke says there was nothing to revoke');
  });

  test('an expired token is refused', async () => {
    const { token } = await create('two-seconds', '2s');
    assert.equal((await get(APP_HOST, { authorization: `Pomerium ${token}` })).status, 200);
    await sleep(2_500);
    assert.equal((await get(APP_HOST, { authorization: `Pomerium ${token}` })).status, 401);
  });

  test('no token reached the upstream', () => {
    assertNothingOfOursUpstream(s.px.upstream, [...tokens, ...tokens.map((t) => t.slice(t.lastIndexOf('_') + 1))]);
  });
});
