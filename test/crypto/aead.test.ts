import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { keyId, open, seal } from '../../src/crypto/aead.js';

const key = Buffer.alloc(32, 1);
const other = Buffer.alloc(32, 2);

function bytesOf(token: string): Buffer {
  return Buffer.from(token, 'base64url');
}

describe('seal and open', () => {
  it('round-trip any plaintext under the same key and additional data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 30 }), (plaintext, aad) => {
        const token = seal(key, Buffer.from(plaintext), aad);
        assert.deepEqual(open([key], token, aad), Buffer.from(plaintext));
      }),
      { numRuns: 300 },
    );
  });

  it('take strings as UTF-8', () => {
    assert.equal(open([key], seal(key, 'héllo', 'ctx'), 'ctx')?.toString('utf8'), 'héllo');
  });

  it('lay out version ‖ key id ‖ iv ‖ ciphertext ‖ tag, readable by plain AES-256-GCM', () => {
    const token = seal(key, 'abc', 'ctx');
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    const raw = bytesOf(token);
    assert.equal(raw.length, 1 + 4 + 12 + 3 + 16);
    assert.equal(raw[0], 1);
    assert.deepEqual(raw.subarray(1, 5), createHash('sha256').update(key).digest().subarray(0, 4));
    // Rebuild the token independently from the same IV.
    const iv = raw.subarray(5, 17);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from('ctx'));
    const ct = Buffer.concat([cipher.update('abc'), cipher.final()]);
    assert.deepEqual(raw.subarray(17, 20), ct);
    assert.deepEqual(raw.subarray(20), cipher.getAuthTag());
  });

  it('use a fresh IV every time', () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 1000; i++) ivs.add(bytesOf(seal(key, 'same', 'ctx')).subarray(5, 17).toString('hex'));
    assert.equal(ivs.size, 1000);
  });

  it('open with the key the token names, among several (rotation)', () => {
    const token = seal(other, 'payload', 'ctx');
    assert.equal(open([key, other], token, 'ctx')?.toString(), 'payload');
    assert.equal(open([other, key], token, 'ctx')?.toString(), 'payload');
  });

  it('refuse another key, another context, or no keys', () => {
    const token = seal(key, 'payload', 'ctx');
    assert.equal(open([other], token, 'ctx'), null);
    assert.equal(open([key], token, 'ctx2'), null);
    assert.equal(open([key], token, ''), null);
    assert.equal(open([], token, 'ctx'), null);
  });

  it('refuse every single-bit change', () => {
    const token = seal(key, 'a sealed payload', 'ctx');
    const raw = bytesOf(token);
    for (let i = 0; i < raw.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const changed = Buffer.from(raw);
        changed[i] ^= 1 << bit;
        assert.equal(open([key], changed.toString('base64url'), 'ctx'), null, `byte ${i} bit ${bit}`);
      }
    }
  });

  it('refuse truncation and extension', () => {
    const raw = bytesOf(seal(key, 'payload', 'ctx'));
    for (let n = 0; n < raw.length; n++) assert.equal(open([key], raw.subarray(0, n).toString('base64url'), 'ctx'), null);
    assert.equal(open([key], Buffer.concat([raw, Buffer.from([0])]).toString('base64url'), 'ctx'), null);
  });

  it('refuse a non-canonical spelling of a valid token', () => {
    const token = seal(key, 'payload!', 'ctx'); // 41 bytes → 55 characters, 2 spare bits
    assert.equal(token.length % 4, 3);
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const v = last.indexOf(token[token.length - 1]);
    const variant = token.slice(0, -1) + last[v | 1];
    assert.notEqual(variant, token);
    assert.deepEqual(bytesOf(variant), bytesOf(token));
    assert.equal(open([key], variant, 'ctx'), null);
  });

  it('return null, never throw, on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (s) => {
        assert.equal(open([key, other], s, 'ctx'), null);
      }),
      { numRuns: 2000 },
    );
    for (const s of ['', 'AQ', '!!!!', 'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', randomBytes(64).toString('base64url')]) {
      assert.equal(open([key], s, 'ctx'), null);
    }
  });

  it('refuse keys that are not 32 bytes', () => {
    assert.throws(() => seal(Buffer.alloc(16), 'x', 'ctx'), RangeError);
    assert.throws(() => keyId(Buffer.alloc(33)), RangeError);
  });
});
