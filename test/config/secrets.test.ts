import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { checkConfig } from '../../src/config/check.js';
import { loadConfig } from '../../src/config/load.js';
import { decodeBase64Std } from '../../src/config/secrets.js';
import { Fixture, problemFor, secret, warningFor } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const ROUTE = 'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n';
const INSECURE = 'insecure_server: true\n';

test('shared_secret and cookie_secret decode to their 32 bytes', () => {
  const shared = secret();
  const cookie = secret();
  const { config } = fx.load(`${INSECURE}shared_secret: ${shared}\ncookie_secret: ${cookie}\n${ROUTE}`);
  assert.equal(config.sharedSecret.toString('base64'), shared);
  assert.equal(config.cookie.secret.toString('base64'), cookie);
  assert.equal(config.sharedSecretGenerated, false);
  assert.equal(config.cookie.secretGenerated, false);
});

test('missing secrets are generated (32 random bytes) with a warning that never shows them', () => {
  const file = fx.config(`${INSECURE}${ROUTE}`);
  const { config, warnings } = loadConfig(file, {});
  assert.equal(config.sharedSecret.length, 32);
  assert.equal(config.cookie.secret.length, 32);
  assert.equal(config.sharedSecretGenerated, true);
  assert.equal(config.cookie.secretGenerated, true);
  const w = warningFor(warnings, 'cookie_secret');
  assert.equal(w.line, 0);
  assert.match(w.message, /random one was generated/);
  warningFor(warnings, 'shared_secret');
  const text = checkConfig(file, {}).lines.join('\n');
  assert.ok(!text.includes(config.cookie.secret.toString('base64')));
  assert.ok(!text.includes(config.sharedSecret.toString('base64')));
});

test('shared_secret_file is read without trimming: a trailing newline is an error, as in Pomerium', () => {
  const value = secret();
  const clean = fx.write('shared.clean', value);
  const newline = fx.write('shared.newline', `${value}\n`);
  assert.equal(fx.load(`${INSECURE}shared_secret_file: ${clean}\ncookie_secret: ${secret()}\n${ROUTE}`).config.sharedSecret.toString('base64'), value);
  const p = problemFor(fx.problems(`${INSECURE}shared_secret_file: ${newline}\n`), 'shared_secret_file');
  assert.match(p.message, /shared secret contains whitespace/);
  assert.equal(p.line, 2);
});

test('cookie_secret_file is base64-decoded as read, line breaks skipped', () => {
  const bytes = randomBytes(32);
  const b64 = bytes.toString('base64');
  const file = fx.write('cookie.wrapped', `${b64.slice(0, 20)}\n${b64.slice(20)}\n`);
  const { config } = fx.load(`${INSECURE}shared_secret: ${secret()}\ncookie_secret_file: ${file}\n${ROUTE}`);
  assert.ok(config.cookie.secret.equals(bytes));
});

test('relative *_file paths resolve against the config file’s directory', () => {
  fx.write('relative.secret', secret());
  const { config } = fx.load(`${INSECURE}shared_secret_file: relative.secret\ncookie_secret_file: ./relative.secret\n${ROUTE}`);
  assert.equal(config.sharedSecretGenerated, false);
  assert.ok(config.sharedSecret.equals(config.cookie.secret));
});

test('idp_client_secret comes from the value or the file, verbatim; a trailing newline warns', () => {
  const file = fx.write('idp.secret', 'client-secret\n');
  const loaded = fx.load(`${INSECURE}shared_secret: ${secret()}\ncookie_secret: ${secret()}\nidp_client_secret_file: ${file}\n${ROUTE}`);
  assert.equal(loaded.config.idp.clientSecret, 'client-secret\n');
  assert.match(warningFor(loaded.warnings, 'idp_client_secret_file').message, /line break/);
  const inline = fx.load(`${INSECURE}shared_secret: ${secret()}\ncookie_secret: ${secret()}\nidp_client_secret: abc\n${ROUTE}`);
  assert.equal(inline.config.idp.clientSecret, 'abc');
});

const refused: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['shared_secret: c2hvcnQ=\n', 'shared_secret', /32 bytes, not 5/],
  ['shared_secret: "not base64!!"\n', 'shared_secret', /base64/],
  ['shared_secret: " padded"\n', 'shared_secret', /whitespace/],
  ['cookie_secret: c2hvcnQ=\n', 'cookie_secret', /32 bytes/],
  ['cookie_secret: "-_-_"\n', 'cookie_secret', /base64/],
  [`shared_secret: ${secret()}\nshared_secret_file: /nonexistent\n`, 'shared_secret_file', /either shared_secret or shared_secret_file/],
  ['cookie_secret_file: /nonexistent/cookie\n', 'cookie_secret_file', /cannot read \/nonexistent\/cookie: ENOENT/],
  ['idp_client_secret_file: ""\n', 'idp_client_secret_file', /file path/],
];

test('invalid secrets are errors naming the key', () => {
  for (const [text, key, message] of refused) {
    assert.match(problemFor(fx.problems(`${INSECURE}${text}`), key).message, message, text);
  }
});

test('decodeBase64Std is Go’s StdEncoding: padded standard alphabet, CR/LF skipped', () => {
  assert.deepEqual(decodeBase64Std('YWJj'), Buffer.from('abc'));
  assert.deepEqual(decodeBase64Std('YW\nJj\r\n'), Buffer.from('abc'));
  assert.deepEqual(decodeBase64Std('YQ=='), Buffer.from('a'));
  for (const bad of ['YQ', 'YW-j', 'YW_j', 'Y Wjj', 'YQ===', '====']) assert.equal(decodeBase64Std(bad), null, bad);
});

const SECRET_KEYS = ['shared_secret', 'cookie_secret', 'idp_client_secret', 'certificate_key', 'certificate', 'signing_key'];

test('no message ever contains a secret value, however it is malformed', () => {
  const text = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ .:"\\'), minLength: 12, maxLength: 60 });
  fc.assert(
    fc.property(text, fc.constantFrom(...SECRET_KEYS), (value, key) => {
      // A recognisable core that cannot be produced by the message texts themselves.
      const marked = `Zq9${value}`;
      const file = fx.config(`insecure_server: true\n${key}: ${JSON.stringify(marked)}\ncertificate_key: ${JSON.stringify(marked)}\n`);
      for (const line of checkConfig(file, {}).lines) assert.ok(!line.includes(marked), line);
    }),
    { numRuns: 60 },
  );
});
