import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, Errors, PosternError, type ConfigProblem } from '../../src/errors.js';
import { loadDevIdpConfig } from '../../src/devidp/config.js';

const dir = mkdtempSync(join(tmpdir(), 'postern-devidp-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const DEMO_USERS = fileURLToPath(new URL('../../../config/demo-users.yaml', import.meta.url));
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$w7tdN0T9ybgiC2TIuM+OqQ$yu4wDpswbkK9FgpOIA0DJL1UrKSPx3Ng7cSZ438trxg';

let count = 0;
function write(text: string, name = `idp-${++count}.yaml`): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const CLIENTS = 'clients:\n  - client_id: postern\n    client_secret: s3cret\n    redirect_uris: [https://authenticate.localhost/oauth2/callback]\n';
const USER = `users:\n  - username: carol\n    password_hash: ${HASH}\n    email: carol@example.com\n`;

function problems(text: string): ConfigProblem[] {
  const file = write(text);
  try {
    loadDevIdpConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return assert.fail(`expected ${file} to be refused`);
}

function problemFor(list: readonly ConfigProblem[], key: string): ConfigProblem {
  return list.find((p) => p.key === key) ?? assert.fail(`no problem for ${key}; got ${JSON.stringify(list)}`);
}

test('a minimal config gets the defaults: 127.0.0.1:9000, an issuer from the bound address, 10m/1h/24h lifetimes, fresh keys', () => {
  const config = loadDevIdpConfig(write(`${CLIENTS}${USER}`));
  assert.deepEqual(config.address, { host: '127.0.0.1', port: 9000 });
  assert.equal(config.issuer, null);
  assert.deepEqual([config.accessTokenTtlSeconds, config.idTokenTtlSeconds, config.refreshTokenTtlSeconds], [600, 3600, 86_400]);
  assert.equal(config.keysFile, null);
  assert.deepEqual(config.clients, [
    { clientId: 'postern', clientSecret: 's3cret', redirectUris: ['https://authenticate.localhost/oauth2/callback'], postLogoutRedirectUris: [] },
  ]);
  assert.deepEqual(config.users, [{ username: 'carol', passwordHash: HASH, email: 'carol@example.com', emailVerified: true, name: 'carol', groups: [] }]);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.users[0]));
});

test('every option is read; users come from users and users_file; paths are relative to the config file', () => {
  writeFileSync(join(dir, 'secret.txt'), 'from-a-file\n');
  const config = loadDevIdpConfig(
    write(
      `issuer: http://localhost:9100\naddress: "[::1]:9100"\naccess_token_ttl: 30s\nid_token_ttl: 5m\nrefresh_token_ttl: 2h\nkeys_file: keys/idp.json\n` +
        `users_file: ${DEMO_USERS}\n${USER}` +
        'clients:\n  - client_id: a\n    client_secret_file: secret.txt\n    redirect_uris: [https://a.localhost/cb, "http://127.0.0.1:8080/cb"]\n    post_logout_redirect_uris: [https://a.localhost/bye]\n',
    ),
  );
  assert.equal(config.issuer, 'http://localhost:9100');
  assert.deepEqual(config.address, { host: '::1', port: 9100 });
  assert.deepEqual([config.accessTokenTtlSeconds, config.idTokenTtlSeconds, config.refreshTokenTtlSeconds], [30, 300, 7200]);
  assert.equal(config.keysFile, join(dir, 'keys', 'idp.json'));
  assert.equal(config.clients[0]?.clientSecret, 'from-a-file\n', 'verbatim, as the proxy reads idp_client_secret_file');
  assert.deepEqual(config.clients[0]?.postLogoutRedirectUris, ['https://a.localhost/bye']);
  assert.deepEqual(config.users.map((u) => [u.username, u.email, u.name, u.groups]), [
    ['carol', 'carol@example.com', 'carol', []],
    ['alice', 'alice@example.com', 'Alice Example', ['admins', 'staff']],
    ['bob', 'bob@example.com', 'Bob Example', ['staff']],
  ]);
});

test('the address must be a loopback IP literal: other addresses are refused with their line', () => {
  for (const address of ['0.0.0.0:9000', ':9000', '10.1.2.3:9000', 'localhost:9000', '"[::]:9000"', 'example.com:9000', '128.0.0.1:9000']) {
    const p = problemFor(problems(`${CLIENTS}${USER}address: ${address}\n`), 'address');
    assert.equal(p.line, 9, address);
    assert.match(p.message, /loopback only/, address);
  }
  assert.match(problemFor(problems(`address: "a:b:c"\n${CLIENTS}${USER}`), 'address').message, /host:port/);
});

test('the issuer must be an origin, with no path, query or trailing slash', () => {
  for (const issuer of ['http://127.0.0.1:9000/', 'http://127.0.0.1:9000/idp', 'https://idp.localhost?x=1', 'ftp://127.0.0.1', '127.0.0.1:9000', 'http://user@127.0.0.1:9000', 'http://127.0.0.1:80']) {
    const p = problemFor(problems(`issuer: "${issuer}"\n${CLIENTS}${USER}`), 'issuer');
    assert.deepEqual([p.file.endsWith('.yaml'), p.line], [true, 1], issuer);
    assert.match(p.message, /origin/, issuer);
  }
});

test('problems name the file, line and key, every one in a single run', () => {
  const list = problems(
    'issuer: nope\n' + // 1
      'colour: blue\n' + // 2
      'clients:\n' + // 3
      '  - client_id: a\n' + // 4
      '    redirect_uris: [not-a-url]\n' + // 5
      '    redirect_uri: https://a/cb\n' + // 6
      '  - client_id: a\n' + // 7
      '    client_secret: x\n' + // 8
      '    redirect_uris: ["https://a/cb#frag"]\n' + // 9
      'users:\n' + // 10
      '  - username: dave\n' + // 11
      '    password_hash: hunter2\n' + // 12
      '    email: not-an-email\n' + // 13
      '    groups: {a: b}\n' + // 14
      'access_token_ttl: 0.5s\n' + // 15
      'id_token_ttl: 10\n', // 16
  );
  const at = (key: string): [number, string] => {
    const p = problemFor(list, key);
    return [p.line, p.message];
  };
  assert.equal(at('issuer')[0], 1);
  assert.deepEqual(at('colour'), [2, 'unknown key']);
  assert.deepEqual(at('clients[0].client_secret'), [4, 'is required']);
  assert.equal(at('clients[0].redirect_uris')[0], 5);
  assert.match(at('clients[0].redirect_uris')[1], /"not-a-url" must be an absolute http or https URL/);
  assert.deepEqual(at('clients[0].redirect_uri'), [6, 'unknown key']);
  assert.deepEqual(at('clients[1].client_id'), [7, 'is already used by another client']);
  assert.match(at('clients[1].redirect_uris')[1], /without a fragment/);
  assert.equal(at('users[0].password_hash')[0], 12);
  assert.doesNotMatch(at('users[0].password_hash')[1], /hunter2/, 'a pasted password is never quoted');
  assert.match(at('users[0].email')[1], /email address/);
  assert.match(at('users[0].groups')[1], /list, not a map/);
  assert.deepEqual(at('access_token_ttl'), [15, 'must be at least 1s']);
  assert.match(at('id_token_ttl')[1], /needs a unit/);
  const lines = list.map((p) => p.line);
  assert.deepEqual(lines, [...lines].sort((a, b) => a - b), 'in file order');
});

test('clients and users are required', () => {
  const list = problems('address: 127.0.0.1:9000\n');
  assert.match(problemFor(list, 'clients').message, /is required/);
  assert.match(problemFor(list, 'users').message, /users or users_file/);
  assert.match(problemFor(problems(`clients: []\n${USER}`), 'clients').message, /at least one client/);
});

test('a users_file is validated with its own file and lines, and a username may not appear twice in any case', () => {
  const usersFile = write(`users:\n  - username: Carol\n    password_hash: ${HASH}\n    email: c@example.com\n  - username: erin\n    email: e@example.com\n`, 'more-users.yaml');
  const list = problems(`${CLIENTS}${USER}users_file: more-users.yaml\n`);
  const duplicate = problemFor(list, 'users[0]');
  assert.equal(duplicate.file, usersFile);
  assert.equal(duplicate.line, 2);
  assert.match(duplicate.message, /already defined at .*:6/);
  const missing = problemFor(list, 'users[1].password_hash');
  assert.deepEqual([missing.file, missing.line, missing.message], [usersFile, 5, 'is required']);
  assert.equal(list.at(-1)?.file, usersFile, 'the config file’s problems come first');
});

test('a users_file that cannot be read is a problem at its key', () => {
  const p = problemFor(problems(`${CLIENTS}users_file: missing.yaml\n`), 'users_file');
  assert.equal(p.line, 5);
  assert.match(p.message, /cannot read .*missing\.yaml: ENOENT/);
});

test('YAML syntax errors are reported with their line', () => {
  const list = problems(`${CLIENTS}users: [\n`);
  assert.equal(list[0]?.key, 'yaml');
  assert.ok((list[0]?.line ?? 0) >= 5);
});

test('an unreadable config file is PST_CONFIG_UNREADABLE, not a config problem', () => {
  assert.throws(
    () => loadDevIdpConfig(join(dir, 'nope.yaml')),
    (err: unknown) => err instanceof PosternError && !(err instanceof ConfigError) && err.code === Errors.CONFIG_UNREADABLE.code,
  );
});

test('config/demo-users.yaml holds alice and bob with argon2id hashes of their demo passwords', async () => {
  const { verify } = await import('@node-rs/argon2');
  const config = loadDevIdpConfig(write(`${CLIENTS}users_file: ${DEMO_USERS}\n`));
  const [alice, bob] = config.users;
  assert.deepEqual([alice?.username, alice?.groups, bob?.username, bob?.groups], ['alice', ['admins', 'staff'], 'bob', ['staff']]);
  assert.ok(await verify(alice!.passwordHash, 'alice-password'));
  assert.ok(await verify(bob!.passwordHash, 'bob-password'));
});
