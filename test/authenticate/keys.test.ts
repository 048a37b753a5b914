import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthKeys } from '../../src/authenticate/keys.js';

const shared = Buffer.alloc(32, 0xa1);
const cookie = Buffer.alloc(32, 0xb2);
const SHARED_PURPOSES = ['sessionHandle', 'urlSigning', 'callbackSeal', 'sessionJwt', 'serviceAccountPepper'] as const;
const COOKIE_PURPOSES = ['state', 'csrf'] as const;
const ALL = [...SHARED_PURPOSES, ...COOKIE_PURPOSES];

describe('AuthKeys', () => {
  it('derives a distinct 32-byte key per purpose, none equal to a secret', () => {
    const keys = new AuthKeys(shared, cookie);
    const seen = new Set<string>([shared.toString('hex'), cookie.toString('hex')]);
    for (const purpose of ALL) {
      assert.equal(keys[purpose].length, 32, purpose);
      seen.add(keys[purpose].toString('hex'));
    }
    assert.equal(seen.size, ALL.length + 2);
  });

  it('agrees across instances that share the secrets', () => {
    const a = new AuthKeys(shared, cookie);
    const b = new AuthKeys(Buffer.from(shared), Buffer.from(cookie));
    for (const purpose of ALL) assert.deepEqual(a[purpose], b[purpose], purpose);
  });

  it('takes the shared-secret keys from shared_secret only and the rest from cookie_secret only', () => {
    const base = new AuthKeys(shared, cookie);
    const otherCookie = new AuthKeys(shared, Buffer.alloc(32, 0xb3));
    const otherShared = new AuthKeys(Buffer.alloc(32, 0xa2), cookie);
    for (const purpose of SHARED_PURPOSES) {
      assert.deepEqual(otherCookie[purpose], base[purpose], purpose);
      assert.notDeepEqual(otherShared[purpose], base[purpose], purpose);
    }
    for (const purpose of COOKIE_PURPOSES) {
      assert.deepEqual(otherShared[purpose], base[purpose], purpose);
      assert.notDeepEqual(otherCookie[purpose], base[purpose], purpose);
    }
  });

  it('refuses secrets shorter than 32 bytes', () => {
    assert.throws(() => new AuthKeys(Buffer.alloc(31), cookie), RangeError);
    assert.throws(() => new AuthKeys(shared, Buffer.alloc(16)), RangeError);
  });

  it('is frozen', () => {
    const keys = new AuthKeys(shared, cookie);
    assert.ok(Object.isFrozen(keys));
  });
});
