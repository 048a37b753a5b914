import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { runPolicyTest } from '../../src/cli/policy-test.js';
import { base, Fixture } from '../config/support.js';

const fx = new Fixture();
after(() => fx.remove());

const CONFIG = fx.config(
  `${base()}routes:
  - from: https://app.example.com
    to: http://127.0.0.1:9000
    name: app
    allowed_users: [bob@example.com]
    policy:
      allow:
        and:
          - domain: {is: example.com}
          - groups: {has: engineering}
          - http_path: {starts_with: /api/}
      deny:
        or:
          - http_path: {starts_with: /api/admin}
  - from: https://open.example.com
    to: http://127.0.0.1:9000
    name: open
    allow_public_unauthenticated_access: true
    policy:
      deny:
        or:
          - source_ip: 10.0.0.0/8
          - day_of_week: sat-sun
`,
);
const ALICE = fx.write('alice.json', JSON.stringify({ user: 'alice-id', email: 'alice@example.com', groups: ['engineering'] }));
const ANONYMOUS = fx.write('anonymous.json', 'null');

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: '', stderr: '' };
  stdout.on('data', (c: Buffer) => (chunks.stdout += c.toString()));
  stderr.on('data', (c: Buffer) => (chunks.stderr += c.toString()));
  const code = await runPolicyTest(args, {}, { stdout, stderr });
  return { code, ...chunks };
}

test('an allowed request exits 0 and names the criteria that allowed it', async () => {
  const r = await run('test', '--config', CONFIG, '--route', 'app', '--as', ALICE, '--request', 'GET /api/orders');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^decision {4}allow$/m);
  assert.match(r.stdout, /^decided by  domain: \{"is":"example.com"\} → domain-ok {3}\[policy\.allow\.and\[0\]\.domain\]$/m);
  assert.match(r.stdout, /allow: true \(allow-why-true: domain-ok, groups-ok, http-path-ok\)/);
});

test('a deny rule: exit 1, 403, the deny reasons and the rule that denied', async () => {
  const r = await run('test', '--config', CONFIG, '--route', 'app', '--as', ALICE, '--request', 'DELETE /api/admin/users');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^decision {4}deny \(403\)$/m);
  assert.match(r.stdout, /^reasons {5}http-path-ok$/m);
  assert.match(r.stdout, /^decided by  http_path: \{"starts_with":"\/api\/admin"\} → http-path-ok {3}\[policy\.deny\.or\[0\]\.http_path\]$/m);
});

test('nothing allows: exit 1 with the allow reasons, the option rule included', async () => {
  const r = await run('test', '--config', CONFIG, '--route', 'app', '--as', ALICE, '--request', 'GET /other');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^reasons {5}email-unauthorized, http-path-unauthorized, user-unauthorized$/m);
  assert.match(r.stdout, /route options → allow\.or → false/);
});

test('anonymous: sign-in required, exit 1', async () => {
  const r = await run('test', '--config', CONFIG, '--route', 'app', '--as', ANONYMOUS, '--request', 'GET /api/x');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^decision {4}sign-in required/m);
});

test('--ip, --time and --header reach the policy; the route may be given by index', async () => {
  const args = ['test', '--config', CONFIG, '--route', '1', '--as', ANONYMOUS, '--request', 'GET /'];
  assert.equal((await run(...args, '--time', '2021-05-11T12:00:00Z')).code, 0);
  assert.equal((await run(...args, '--time', '2021-05-15T12:00:00Z')).code, 1, 'a Saturday');
  assert.equal((await run(...args, '--time', '2021-05-11T12:00:00Z', '--ip', '10.1.2.3')).code, 1);
  const r = await run(...args, '--time', '2021-05-11T12:00:00Z', '--header', 'X-Test: 1');
  assert.match(r.stdout, /^request {5}GET \/ from 127\.0\.0\.1 at 2021-05-11T12:00:00\.000Z$/m);
});

test('the path is normalised as the proxy would, before the policy sees it', async () => {
  const r = await run('test', '--config', CONFIG, '--route', 'app', '--as', ALICE, '--request', 'GET /api/../api/admin/x?y=1');
  assert.match(r.stdout, /^request {5}GET \/api\/admin\/x /m);
  assert.equal(r.code, 1);
});

test('usage errors exit 2 with a message', async () => {
  const cases: ReadonlyArray<readonly [string[], RegExp]> = [
    [[], /which subcommand/],
    [['check'], /unknown subcommand check/],
    [['test', '--config', CONFIG, '--as', ALICE], /--request is required/],
    [['test', '--config', CONFIG, '--as', ALICE, '--request', 'GET /'], /--route is required: the config has 2 routes/],
    [['test', '--config', CONFIG, '--route', 'nope', '--as', ALICE, '--request', 'GET /'], /no route named nope \(routes: app, open\)/],
    [['test', '--config', CONFIG, '--route', 'app', '--as', ALICE, '--request', 'GET'], /expected "METHOD \/path"/],
    [['test', '--config', CONFIG, '--route', 'app', '--as', fx.write('bad.json', '{"name": 1}'), '--request', 'GET /'], /unknown identity field "name"/],
    [['test', '--config', CONFIG, '--route', 'app', '--as', ALICE, '--request', 'GET /', '--time', 'soon'], /--time "soon" is not an ISO-8601 date/],
    [['test', '--config', CONFIG, '--bogus', 'x'], /unknown option --bogus/],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
});

test('an invalid config exits 2 with its problems', async () => {
  const bad = fx.config(`${base()}routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    policy: {allow: {or: [{nope: 1}]}}\n`);
  const r = await run('test', '--config', bad, '--as', ALICE, '--request', 'GET /');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /routes\[0\]\.policy\.allow\.or\[0\]\.nope: unknown policy criterion "nope"/);
});

test('--help prints the usage and exits 0', async () => {
  const r = await run('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /postern policy test --config FILE/);
});
