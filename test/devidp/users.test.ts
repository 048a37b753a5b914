import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/devidp/password.js';
import { isArgon2idHash, loginKey } from '../../src/devidp/users.js';

test('only well-formed argon2id PHC strings are password hashes', async () => {
  const good = await hashPassword('secret');
  assert.match(good, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  const table: ReadonlyArray<readonly [string, boolean]> = [
    [good, true],
    ['$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', true],
    [good.replace('$argon2id$', '$argon2i$'), false],
    [good.replace('$argon2id$', '$argon2d$'), false],
    ['$2b$12$abcdefghijklmnopqrstuuJ6oqnrm7pi1x4oF3Lq7ypRYBl4mVbS', false],
    ['$argon2id$', false],
    ['$argon2id$v=19$m=19456,t=2,p=1$$', false],
    ['secret', false],
    ['', false],
  ];
  for (const [hash, expected] of table) assert.equal(isArgon2idHash(hash), expected, hash);
});

test('usernames are matched without regard to case', () => {
  assert.equal(loginKey('Alice'), loginKey('aLICE'));
  assert.notEqual(loginKey('alice'), loginKey('alice2'));
});
