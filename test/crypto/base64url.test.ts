import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { base64urlValue, decodeBase64url, isBase64urlAlphabet } from '../../src/crypto/base64url.js';

describe('decodeBase64url', () => {
  it('round-trips every byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes);
        assert.deepEqual(decodeBase64url(b.toString('base64url')), b);
      }),
    );
  });

  it('accepts exactly one spelling per byte string', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AQgw_-=+/ .aZ09'), maxLength: 12 }), (s) => {
        const decoded = decodeBase64url(s);
        if (decoded !== null) assert.equal(decoded.toString('base64url'), s);
      }),
      { numRuns: 5000 },
    );
  });

  const refused: [string, string][] = [
    ['A', 'a length of 4k+1'],
    ['AB', 'spare bits set (AA is the one spelling of 0x00)'],
    ['AAB', 'spare bits set'],
    ['AA==', 'padding'],
    ['A+A/', 'standard base64 characters'],
    ['AA AA', 'a space'],
    ['AA\nAA', 'a newline'],
    ['AAé', 'non-ASCII'],
  ];
  for (const [s, why] of refused) {
    it(`refuses ${JSON.stringify(s)} (${why})`, () => assert.equal(decodeBase64url(s), null));
  }

  it('decodes the empty string to no bytes', () => {
    assert.deepEqual(decodeBase64url(''), Buffer.alloc(0));
  });
});

describe('isBase64urlAlphabet', () => {
  it('checks only the given range', () => {
    assert.equal(isBase64urlAlphabet('.abc_-.', 1, 6), true);
    assert.equal(isBase64urlAlphabet('.abc_-.'), false);
  });

  it('agrees with base64urlValue on every code unit', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let c = 0; c < 0x10000; c++) {
      assert.equal(base64urlValue(c), alphabet.indexOf(String.fromCharCode(c)));
    }
  });
});
