import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplayGuard } from '../../src/authenticate/replay-guard.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('ReplayGuard', () => {
  it('accepts an id once until it expires', () => {
    const c = clock();
    const guard = new ReplayGuard(c.now);
    assert.equal(guard.useOnce('a', 1_000_000 + 5000), true);
    assert.equal(guard.useOnce('a', 1_000_000 + 5000), false);
    assert.equal(guard.useOnce('b', 1_000_000 + 5000), true);
    c.advance(4999);
    assert.equal(guard.useOnce('a', 1_000_000 + 5000), false);
  });

  it('refuses an id whose expiry has passed (fails closed)', () => {
    const c = clock();
    const guard = new ReplayGuard(c.now);
    assert.equal(guard.useOnce('a', 1_000_000), false);
    assert.equal(guard.useOnce('b', 999_999), false);
  });

  it('forgets expired ids, so memory stays bounded', () => {
    const c = clock();
    const guard = new ReplayGuard(c.now);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) assert.equal(guard.useOnce(`${round}-${i}`, c.now() + 1000), true);
      c.advance(1001);
    }
    assert.ok(guard.size <= 100, `size ${guard.size}`);
    guard.useOnce('last', c.now() + 1000);
    assert.equal(guard.size, 1);
  });

  it('behaves like a map that never forgets, for ids used before they expire', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 300 })), {
          maxLength: 200,
        }),
        (ops) => {
          const c = clock();
          const guard = new ReplayGuard(c.now);
          const model = new Map<string, number>();
          for (const [k, lifetime, step] of ops) {
            const id = `id${k}`;
            const expiresAt = c.now() + lifetime;
            const live = model.get(id);
            const expected = live === undefined || live <= c.now();
            assert.equal(guard.useOnce(id, expiresAt), expected);
            if (expected) model.set(id, expiresAt);
            c.advance(step);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
