import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { deriveKey } from '../../src/crypto/hkdf.js';

/** RFC 5869 written out with HMAC, independent of node's hkdfSync. */
function referenceHkdf(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  const prk = createHmac('sha256', salt.length > 0 ? salt : Buffer.alloc(32)).update(ikm).digest();
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; blocks.length * 32 < length; i++) {
    previous = createHmac('sha256', prk).update(previous).update(info).update(Buffer.from([i])).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

describe('deriveKey', () => {
  it('the reference implementation reproduces RFC 5869 test cases 1 and 3', () => {
    const ikm = Buffer.alloc(22, 0x0b);
    assert.equal(
      referenceHkdf(ikm, Buffer.from('000102030405060708090a0b0c', 'hex'), Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'), 42).toString('hex'),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
    assert.equal(
      referenceHkdf(ikm, Buffer.alloc(0), Buffer.alloc(0), 42).toString('hex'),
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });

  it('is HKDF-SHA256 with no salt and the purpose as info', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
        fc.integer({ min: 1, max: 96 }),
        (ikm, purpose, length) => {
          const key = deriveKey(Buffer.from(ikm), purpose, length);
          assert.deepEqual(key, referenceHkdf(Buffer.from(ikm), Buffer.alloc(0), Buffer.from(purpose, 'utf8'), length));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives 32 bytes by default', () => {
    assert.equal(deriveKey(Buffer.alloc(32, 1), 'p').length, 32);
  });

  it('is deterministic and separates purposes and secrets', () => {
    const secret = Buffer.alloc(32, 7);
    assert.deepEqual(deriveKey(secret, 'a'), deriveKey(Buffer.from(secret), 'a'));
    assert.notDeepEqual(deriveKey(secret, 'a'), deriveKey(secret, 'b'));
    assert.notDeepEqual(deriveKey(secret, 'a'), deriveKey(Buffer.alloc(32, 8), 'a'));
  });

  it('refuses an empty purpose', () => {
    assert.throws(() => deriveKey(Buffer.alloc(32), ''), TypeError);
  });
});
