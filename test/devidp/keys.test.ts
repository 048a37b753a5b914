import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors, PosternError } from '../../src/errors.js';
import { loadOrCreateSigningKeys } from '../../src/devidp/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'postern-devidp-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('without a keys file every start makes a new RS256 key with its thumbprint as kid', async () => {
  const [a] = await loadOrCreateSigningKeys(null);
  const [b] = await loadOrCreateSigningKeys(null);
  assert.deepEqual([a?.kty, a?.alg, a?.use, typeof a?.d], ['RSA', 'RS256', 'sig', 'string']);
  assert.notEqual(a?.kid, b?.kid);
});

test('a keys file is written once with mode 0600 and read back on the next start', async () => {
  const file = join(dir, 'keys.json');
  const first = await loadOrCreateSigningKeys(file);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const second = await loadOrCreateSigningKeys(file);
  assert.deepEqual(second, first);
});

test('a keys file that is not a JWKS of private RSA keys stops start-up without printing its content', async () => {
  for (const [name, text] of [['garbage.json', 'SECRET-CONTENT'], ['public.json', '{"keys":[{"kty":"RSA","n":"SECRET-CONTENT","e":"AQAB","kid":"k"}]}'], ['empty.json', '{"keys":[]}']]) {
    const file = join(dir, name!);
    writeFileSync(file, text!);
    await assert.rejects(loadOrCreateSigningKeys(file), (err: unknown) => {
      assert.ok(err instanceof PosternError);
      assert.equal(err.code, Errors.CONFIG_UNREADABLE.code);
      assert.match(err.message, new RegExp(name!.replace('.', '\\.')));
      assert.doesNotMatch(err.message, /SECRET-CONTENT/);
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), text, 'left as it was');
  }
});
