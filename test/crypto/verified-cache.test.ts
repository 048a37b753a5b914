import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VerifiedCache } from '../../src/crypto/verified-cache.js';

describe('VerifiedCache', () => {
  it('returns what was set and forgets what was deleted', () => {
    const cache = new VerifiedCache<string>(10);
    cache.set('a', 'A');
    assert.equal(cache.get('a'), 'A');
    assert.equal(cache.get('b'), undefined);
    cache.delete('a');
    assert.equal(cache.get('a'), undefined);
  });

  it('never holds more than its capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 20 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }), (capacity, ops) => {
        const cache = new VerifiedCache<number>(capacity);
        for (const [isSet, k] of ops) {
          if (isSet) cache.set(String(k), k);
          else {
            const v = cache.get(String(k));
            // whatever it returns is what was stored under that key
            if (v !== undefined) assert.equal(v, k);
          }
          assert.ok(cache.size <= capacity, `size ${cache.size} > ${capacity}`);
        }
      }),
    );
  });

  it('keeps recently used entries when it rotates', () => {
    const cache = new VerifiedCache<number>(4);
    cache.set('hot', 1);
    for (let i = 0; i < 100; i++) {
      cache.set(`cold${i}`, i);
      assert.equal(cache.get('hot'), 1, `lost after ${i} inserts`);
    }
  });

  it('drops the oldest entries first', () => {
    const cache = new VerifiedCache<number>(4);
    for (let i = 0; i < 6; i++) cache.set(String(i), i);
    assert.equal(cache.get('0'), undefined);
    assert.equal(cache.get('5'), 5);
  });

  it('refuses a capacity below 2', () => {
    assert.throws(() => new VerifiedCache(1), RangeError);
  });
});
