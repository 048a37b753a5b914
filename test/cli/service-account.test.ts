import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { MemoryDatabroker } from '../../src/databroker/memory.js';
import { ServiceAccounts, type ServiceAccountInfo } from '../../src/authenticate/service-accounts.js';
import { controlRequest } from '../../src/control/client.js';
import { startControlServer } from '../../src/control/server.js';
import { serviceAccountCommands } from '../../src/control/service-account-commands.js';
import { runServiceAccount } from '../../src/cli/service-account.js';
import type { Logger } from '../../src/telemetry/logger.js';

interface Proxy {
  readonly config: string;
  readonly socket: string;
  readonly accounts: ServiceAccounts;
}

/** What `postern serve` wires up for service accounts, on a temp socket named by a config file. */
async function runningProxy(t: TestContext): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-sa-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.yaml');
  // Only control_socket matters to the CLI: the rest would not even load.
  writeFileSync(config, 'control_socket: run/control.sock\ncertificate_file: missing.pem\n');
  const logger: Logger = pino({ level: 'silent' });
  const db = new MemoryDatabroker({ logger });
  const accounts = new ServiceAccounts(db, Buffer.alloc(32, 3));
  const server = await startControlServer(join(dir, 'run/control.sock'), serviceAccountCommands(accounts, logger), logger);
  t.after(async () => {
    await server.close();
    await db.close();
  });
  return { config, socket: server.path, accounts };
}

async function cli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runServiceAccount(argv, env, { stdout, stderr });
  return { code, stdout: out, stderr: err };
}

test('create prints the token alone on stdout, once, with the warning on stderr; the token works at once', async (t) => {
  const proxy = await runningProxy(t);
  const result = await cli(['create', '--config', proxy.config, '--name', 'ci-deploy', '--expires', '30d', '--email', 'ci@example.com']);
  assert.equal(result.code, 0, result.stderr);
  const token = result.stdout.trim();
  assert.match(token, /^pst_sa_[0-9a-f]{24}_[0-9a-f]{64}$/);
  assert.equal(result.stdout, `${token}\n`);
  assert.match(result.stderr, /Created service account ci-deploy \(id [0-9a-f]{24}, user sa:ci-deploy, expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)/);
  assert.match(result.stderr, /shown only this once and cannot be shown again/);
  assert.deepEqual(proxy.accounts.verify(token), { id: token.slice(7, 31), userId: 'sa:ci-deploy', email: 'ci@example.com', name: 'ci-deploy' });
});

test('list prints a table of id, name, user, created and expires, and never a token or hash', async (t) => {
  const proxy = await runningProxy(t);
  assert.equal((await cli(['list', '--config', proxy.config])).stdout, 'no service accounts\n');
  const a = await proxy.accounts.create('alpha');
  const b = await proxy.accounts.create('beta-bot', { expiresInMs: 3_600_000 });
  const result = await cli(['list', '-c', proxy.config]);
  assert.equal(result.code, 0);
  const lines = result.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ID +NAME +USER +CREATED +EXPIRES$/);
  // Created in the same millisecond, so the order is the ids'; the unit tests pin the ordering.
  const rows = lines
    .slice(1)
    .map((l) => l.split(/ {2,}/))
    .sort((x, y) => x[1]!.localeCompare(y[1]!));
  assert.deepEqual(
    rows.map((r) => [r[0], r[1], r[2], r[4] === 'never' ? 'never' : 'date']),
    [
      [a.account.id, 'alpha', 'sa:alpha', 'never'],
      [b.account.id, 'beta-bot', 'sa:beta-bot', 'date'],
    ],
  );
  assert.ok(!result.stdout.includes(a.token.slice(32)));
});

test('revoke refuses the token from the next request on; revoking again says there is no such account', async (t) => {
  const proxy = await runningProxy(t);
  const { token, account } = await proxy.accounts.create('ci');
  const first = await cli(['revoke', `--config=${proxy.config}`, '--id', account.id]);
  assert.equal(first.code, 0);
  assert.match(first.stdout, new RegExp(`Revoked service account ${account.id}`));
  assert.equal(proxy.accounts.verify(token), null);
  const again = await cli(['revoke', '--config', proxy.config, '--id', account.id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no live service account has the id/);
});

test('the same commands work over the socket directly, as a script would send them', async (t) => {
  const proxy = await runningProxy(t);
  const created = (await controlRequest(proxy.socket, 'service-account.create', { name: 'scripted', expires_in: '12h' }, 2_000)) as {
    token: string;
    account: ServiceAccountInfo;
  };
  assert.ok(proxy.accounts.verify(created.token));
  assert.deepEqual(await controlRequest(proxy.socket, 'service-account.list', {}, 2_000), { accounts: [created.account] });
  assert.deepEqual(await controlRequest(proxy.socket, 'service-account.revoke', { id: created.account.id }, 2_000), { revoked: true });
});

test('a refusal by the proxy is printed with its reason', async (t) => {
  const proxy = await runningProxy(t);
  const result = await cli(['create', '--config', proxy.config, '--name', 'Not_Valid']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^postern service-account create: invalid service account settings: the name must be/);
  assert.equal(result.stdout, '');
});

test('with no proxy running the error says so and names the socket', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-sa-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'address: ":8443"\n');
  const result = await cli(['list', '--config', config]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    `postern service-account list: cannot reach the running proxy: is postern serve running? no control socket at ${join(dir, '.postern.sock')}\n`,
  );
  const viaEnv = await cli(['list', '--config', config], { RUNTIME_DIRECTORY: join(dir, 'rt') });
  assert.match(viaEnv.stderr, new RegExp(`no control socket at ${join(dir, 'rt', 'postern.sock')}`));
});

test('usage mistakes exit 2 with the usage, before any connection', async () => {
  const cases: ReadonlyArray<readonly [readonly string[], RegExp]> = [
    [[], /which subcommand/],
    [['rename', '--config', 'x'], /unknown subcommand rename/],
    [['create', '--config', 'x'], /--name is required/],
    [['create', '--name', 'ci'], /--config is required/],
    [['revoke', '--config', 'x'], /--id is required/],
    [['list', '--config', 'x', '--name', 'ci'], /list takes no --name/],
    [['list', '--config'], /--config needs a value/],
    [['list', '--config', 'x', '--config', 'y'], /--config is given twice/],
    [['list', '--config', 'x', 'extra'], /unexpected argument extra/],
  ];
  for (const [argv, message] of cases) {
    const result = await cli(argv);
    assert.equal(result.code, 2, argv.join(' '));
    assert.match(result.stderr, message);
    assert.match(result.stderr, /Usage:/);
  }
  const badLifetime = await cli(['create', '--config', '/nonexistent.yaml', '--name', 'ci', '--expires', '30 days']);
  assert.equal(badLifetime.code, 2);
  assert.match(badLifetime.stderr, /invalid lifetime "30 days"/);
});

test('--help prints the usage and exits 0; an unreadable config is reported as such', async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /postern service-account create --config FILE --name NAME/);
  const missing = await cli(['list', '--config', '/nonexistent/postern.yaml']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^postern service-account list: the configuration file cannot be read: \/nonexistent\/postern.yaml: ENOENT/);
});
