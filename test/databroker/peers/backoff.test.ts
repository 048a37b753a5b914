import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { reconnectDelay } from '../../../src/databroker/peers/backoff.js';

const backoff = { minMs: 100, maxMs: 5_000 };

test('delays double from the minimum up to the cap, each drawn from the upper half of its step', () => {
  const cases: Array<[number, number, number]> = [
    [0, 0, 50],
    [0, 0.999999, 99],
    [1, 0, 100],
    [2, 0, 200],
    [5, 0, 1_600],
    [6, 0, 2_500],
    [6, 0.999999, 4_999],
    [1_000, 0.5, 3_750],
  ];
  for (const [attempt, random, expected] of cases) assert.equal(reconnectDelay(attempt, backoff, () => random), expected, `attempt ${attempt}`);
});

test('every delay is a whole number of milliseconds within [min/2, max), for any attempt', () => {
  fc.assert(
    fc.property(fc.integer({ min: -5, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
      const delay = reconnectDelay(attempt, backoff, () => random);
      assert.ok(Number.isInteger(delay));
      assert.ok(delay >= backoff.minMs / 2 && delay < backoff.maxMs, `${delay}`);
    }),
  );
});
