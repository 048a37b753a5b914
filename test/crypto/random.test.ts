import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomId } from '../../src/crypto/random.js';

describe('randomId', () => {
  it('is 16 bytes of unpadded base64url by default', () => {
    const id = randomId();
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(id, 'base64url').length, 16);
  });

  it('takes its length in bytes', () => {
    assert.equal(Buffer.from(randomId(32), 'base64url').length, 32);
    assert.match(randomId(32), /^[A-Za-z0-9_-]{43}$/);
  });

  it('does not repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(randomId());
    assert.equal(seen.size, 10_000);
  });
});
