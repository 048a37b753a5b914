import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { controlSocketPathOf, defaultControlSocketPath, resolveControlSocketPath } from '../../src/control/socket-path.js';

test('the default socket is in $RUNTIME_DIRECTORY when systemd sets it, else next to the config file', () => {
  const cases: ReadonlyArray<readonly [string, NodeJS.ProcessEnv, string]> = [
    ['/etc/postern/config.yaml', {}, '/etc/postern/.postern.sock'],
    ['/etc/postern/config.yaml', { RUNTIME_DIRECTORY: '' }, '/etc/postern/.postern.sock'],
    ['/etc/postern/config.yaml', { RUNTIME_DIRECTORY: '/run/postern' }, '/run/postern/postern.sock'],
    ['/etc/postern/config.yaml', { RUNTIME_DIRECTORY: '/run/postern:/run/other' }, '/run/postern/postern.sock'],
    ['config.yaml', {}, join(process.cwd(), '.postern.sock')],
  ];
  for (const [file, env, expected] of cases) assert.equal(defaultControlSocketPath(file, env), expected, `${file} ${JSON.stringify(env)}`);
});

test('a configured socket path is taken relative to the config file, like every path in it', () => {
  assert.equal(resolveControlSocketPath('/run/p.sock', '/etc/postern/c.yaml', {}), '/run/p.sock');
  assert.equal(resolveControlSocketPath('run/p.sock', '/etc/postern/c.yaml', {}), '/etc/postern/run/p.sock');
  assert.equal(resolveControlSocketPath(null, '/etc/postern/c.yaml', {}), '/etc/postern/.postern.sock');
});

test('the management commands read control_socket alone from the file, with CONTROL_SOCKET overriding it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-socket-path-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  // The rest of the file is not validated: a missing certificate must not stop a revocation.
  const withKey = write('a.yaml', 'control_socket: sock/p.sock\ncertificate_file: /nonexistent.pem\nroutes: 12\n');
  assert.equal(controlSocketPathOf(withKey, {}), join(dir, 'sock/p.sock'));
  assert.equal(controlSocketPathOf(withKey, { CONTROL_SOCKET: '/run/x.sock' }), '/run/x.sock');
  const withoutKey = write('b.json', '{"address": ":443"}');
  assert.equal(controlSocketPathOf(withoutKey, {}), join(dir, '.postern.sock'));
  assert.equal(controlSocketPathOf(withoutKey, { RUNTIME_DIRECTORY: '/run/postern' }), '/run/postern/postern.sock');
  const nullKey = write('c.yaml', 'control_socket:\n');
  assert.equal(controlSocketPathOf(nullKey, {}), join(dir, '.postern.sock'));
});

test('a control_socket that is not a string, or a file that does not parse, is a config error with its place', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-socket-path-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const list = join(dir, 'list.yaml');
  writeFileSync(list, 'address: ":443"\ncontrol_socket: [a, b]\n');
  assert.throws(
    () => controlSocketPathOf(list, {}),
    (err: unknown) => err instanceof ConfigError && err.problems[0]!.line === 2 && err.problems[0]!.key === 'control_socket',
  );
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'a: [\n');
  assert.throws(() => controlSocketPathOf(broken, {}), ConfigError);
  const scalar = join(dir, 'scalar.yaml');
  writeFileSync(scalar, '42\n');
  assert.throws(() => controlSocketPathOf(scalar, {}), ConfigError);
});
