import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { hmac, safeEqual } from '../../src/crypto/hmac.js';

describe('hmac', () => {
  it('reproduces RFC 4231 test case 2 (HMAC-SHA256)', () => {
    assert.equal(
      hmac(Buffer.from('Jefe'), 'what do ya want ', Buffer.from('for nothing?')).toString('hex'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('is HMAC-SHA256 over the concatenated parts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { maxLength: 5 }), (key, parts) => {
        const expected = createHmac('sha256', Buffer.from(key)).update(parts.join('')).digest();
        assert.deepEqual(hmac(Buffer.from(key), ...parts), expected);
      }),
    );
  });
});

describe('safeEqual', () => {
  const cases: [a: Buffer | string, b: Buffer | string, equal: boolean][] = [
    ['', '', true],
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'ab', false],
    ['ab', 'abc', false],
    [Buffer.from('abc'), 'abc', true],
    [Buffer.from([0xff]), Buffer.from([0xff]), true],
    [Buffer.from([0xff]), Buffer.from([0xfe]), false],
    // UTF-8 bytes, not UTF-16 units: 'é' is two bytes
    ['é', Buffer.from([0xc3, 0xa9]), true],
  ];
  for (const [a, b, equal] of cases) {
    it(`${JSON.stringify(a)} vs ${JSON.stringify(b)} → ${equal}`, () => {
      assert.equal(safeEqual(a, b), equal);
      assert.equal(safeEqual(b, a), equal);
    });
  }

  it('agrees with plain equality and never throws on different lengths', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }), (a, b) => {
        assert.equal(safeEqual(a, b), a === b);
        assert.equal(safeEqual(a, a), true);
      }),
    );
  });
});
