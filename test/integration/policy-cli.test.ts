// `postern policy test` (the real CLI, node dist/src/cli/main.js) against
// the very configuration file a running proxy serves, with identities
// matching the people who sign in at the development IdP: its exit status
// and decision line agree with what the proxy answers those people, and it
// explains the decision (the criteria that decided, the reasons). Exit 0
// allow, 1 deny or sign-in required, 2 usage or configuration error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { startWithDevIdp, type DevIdpSetup } from '../helpers/auth-proxy.js';
import { retryOnListenFailure } from '../helpers/listen-retry.js';
import { TEST_USERS, type TestUser } from '../helpers/idp.js';
import { runCli, writeTempFile, type CliResult } from '../helpers/postern.js';

const ALICE = TEST_USERS[0]!;
const BOB = TEST_USERS[1]!;

const ROUTES: readonly Record<string, unknown>[] = [
  { name: 'admins', from: 'http://admins.localhost', policy: { allow: { and: [{ groups: { has: 'admins' } }] } } },
  {
    name: 'writers',
    from: 'http://paths.localhost',
    policy: [
      { allow: { and: [{ groups: { has: 'staff' } }, { http_method: { in: ['GET', 'HEAD'] } }] } },
      { allow: { and: [{ groups: { has: 'admins' } }, { http_path: { starts_with: '/admin/' } }] } },
    ],
  },
  {
    name: 'deny-wins',
    from: 'http://deny.localhost',
    policy: { allow: { or: [{ authenticated_user: true }] }, deny: { or: [{ email: { is: 'bob@example.com' } }] } },
  },
];

let s: DevIdpSetup;
const identityFiles: (() => void)[] = [];
const asFile = new Map<string, string>();
const browsers = new Map<string, Browser>();

function identityFile(name: string, value: unknown): string {
  const f = writeTempFile(`${name}.json`, JSON.stringify(value));
  identityFiles.push(f.remove);
  return f.file;
}

before(async () => {
  s = await retryOnListenFailure(() => startWithDevIdp({ routes: ROUTES }));
  for (const user of [ALICE, BOB] as TestUser[]) {
    asFile.set(user.username, identityFile(user.username, { user: user.username, email: user.email, groups: user.groups }));
    const b = new Browser();
    for (const host of ['admins.localhost', 'paths.localhost', 'deny.localhost']) {
      const page = await b.signIn(s.px.url(host, '/'), user);
      assert.ok(page.status === 200 || page.status === 403, `${user.username} on ${host}: ${page.status}`);
    }
    browsers.set(user.username, b);
  }
  asFile.set('nobody', identityFile('nobody', null));
});

after(async () => {
  await s?.close();
  for (const remove of identityFiles) remove();
});

/** What a CLI run printed, for assertion messages. */
function shown(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

function policyTest(route: string, who: string, request: string, extra: string[] = []): Promise<CliResult> {
  return runCli(['policy', 'test', '--config', s.px.proxy.configFile, '--route', route, '--as', asFile.get(who) ?? who, '--request', request, ...extra], 15_000);
}

interface Row {
  readonly route: string;
  readonly host: string;
  readonly who: 'alice' | 'bob' | 'nobody';
  readonly request: string;
  readonly proxy: 200 | 403 | 401;
  readonly decision: RegExp;
}

const TABLE: readonly Row[] = [
  { route: 'admins', host: 'admins.localhost', who: 'alice', request: 'GET /x', proxy: 200, decision: /^decision {4}allow$/m },
  { route: 'admins', host: 'admins.localhost', who: 'bob', request: 'GET /x', proxy: 403, decision: /^decision {4}deny \(403\)$/m },
  { route: 'admins', host: 'admins.localhost', who: 'nobody', request: 'GET /x', proxy: 401, decision: /^decision {4}sign-in required/m },
  { route: 'writers', host: 'paths.localhost', who: 'bob', request: 'GET /doc', proxy: 200, decision: /^decision {4}allow$/m },
  { route: 'writers', host: 'paths.localhost', who: 'bob', request: 'POST /doc', proxy: 403, decision: /^decision {4}deny \(403\)$/m },
  { route: 'writers', host: 'paths.localhost', who: 'alice', request: 'POST /admin/x', proxy: 200, decision: /^decision {4}allow$/m },
  { route: 'writers', host: 'paths.localhost', who: 'bob', request: 'POST /admin/x', proxy: 403, decision: /^decision {4}deny \(403\)$/m },
  { route: 'deny-wins', host: 'deny.localhost', who: 'alice', request: 'GET /x', proxy: 200, decision: /^decision {4}allow$/m },
  { route: 'deny-wins', host: 'deny.localhost', who: 'bob', request: 'GET /x', proxy: 403, decision: /^decision {4}deny \(403\)$/m },
];

describe('postern policy test agrees with the running proxy', () => {
  for (const row of TABLE) {
    test(`${row.route}: ${row.who} ${row.request} → exit ${row.proxy === 200 ? 0 : 1}, and the proxy answers ${row.proxy}`, async () => {
      const cli = await policyTest(row.route, row.who, row.request);
      assert.equal(cli.code, row.proxy === 200 ? 0 : 1, shown(cli));
      assert.match(cli.stdout, row.decision, cli.stdout);
      const [method, path] = row.request.split(' ') as [string, string];
      const b = row.who === 'nobody' ? new Browser() : browsers.get(row.who)!;
      const page = await b.fetch(s.px.url(row.host, path), { method });
      assert.equal(page.status, row.proxy, `the proxy: ${page.text().slice(0, 200)}`);
    });
  }
});

describe('what postern policy test explains', () => {
  test('an allow names the criterion that allowed it and the log reasons', async () => {
    const r = await policyTest('admins', 'alice', 'GET /x');
    assert.equal(r.code, 0, shown(r));
    assert.match(r.stdout, /^route {7}admins /m);
    assert.match(r.stdout, /^as {10}user "alice", email "alice@example.com", groups \[admins, staff\]$/m);
    assert.match(r.stdout, /^decided by  groups: \{"has":"admins"\} → groups-ok/m);
    assert.match(r.stdout, /allow: true \(allow-why-true: groups-ok\)/);
  });

  test('a deny rule: the reasons and the rule that denied', async () => {
    const r = await policyTest('deny-wins', 'bob', 'GET /x');
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stdout, /^reasons {5}email-ok$/m);
    assert.match(r.stdout, /^decided by  email: \{"is":"bob@example\.com"\} → email-ok/m);
    assert.match(r.stdout, /deny: true \(deny-why-true: email-ok\)/);
  });

  test('no allow rule matched: the allow reasons', async () => {
    const r = await policyTest('writers', 'bob', 'DELETE /doc');
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stdout, /^reasons {5}.*http-method-unauthorized/m);
  });

  test('an anonymous caller: sign-in required, decided by the identity criterion', async () => {
    const r = await policyTest('admins', 'nobody', 'GET /x');
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stdout, /^as {10}anonymous$/m);
    assert.match(r.stdout, /user-unauthenticated/);
  });

  test('usage and configuration errors exit 2', async () => {
    const unknown = await policyTest('no-such-route', 'alice', 'GET /x');
    assert.equal(unknown.code, 2, shown(unknown));
    assert.match(unknown.stderr, /no route named no-such-route/);
    const noAs = await runCli(['policy', 'test', '--config', s.px.proxy.configFile, '--route', 'admins', '--request', 'GET /x']);
    assert.equal(noAs.code, 2, shown(noAs));
    assert.match(noAs.stderr, /--as is required/);
    const badIdentity = identityFile('bad', { user: 'alice', role: 'admin' });
    const bad = await policyTest('admins', badIdentity, 'GET /x');
    assert.equal(bad.code, 2, shown(bad));
    assert.match(bad.stderr, /unknown identity field "role"/);
    const badRequest = await policyTest('admins', 'alice', 'GET');
    assert.equal(badRequest.code, 2, shown(badRequest));
    const badConfig = writeTempFile('bad.yaml', 'routes:\n  - from: http://x.localhost\n    to: http://127.0.0.1:1\n    policy:\n      allow:\n        and:\n          - no_such_criterion: 1\n');
    try {
      const r = await runCli(['policy', 'test', '--config', badConfig.file, '--as', asFile.get('alice')!, '--request', 'GET /']);
      assert.equal(r.code, 2, shown(r));
      assert.match(r.stderr, /no_such_criterion/);
    } finally {
      badConfig.remove();
    }
  });
});
