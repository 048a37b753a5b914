import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { reconnectDelay, RECONNECT_BACKOFF } from '../../../src/databroker/postgres/backoff.js';

test('reconnect delays double from the minimum to the maximum, each between half and all of its bound', () => {
  const table: [attempt: number, random: number, ms: number][] = [
    [1, 0, 50],
    [1, 0.999999, 100],
    [2, 0, 100],
    [3, 0.5, 300],
    [6, 0, 1_600],
    [7, 0, 2_500],
    [7, 0.999999, 5_000],
    [1_000, 0, 2_500],
  ];
  for (const [attempt, random, ms] of table) assert.equal(reconnectDelay(RECONNECT_BACKOFF, attempt, random), ms, `attempt ${attempt}`);
});

test('property: a delay never exceeds the maximum nor falls below half the minimum, and its bound never shrinks', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
      const d = reconnectDelay(RECONNECT_BACKOFF, attempt, random);
      assert.ok(d >= RECONNECT_BACKOFF.minMs / 2 && d <= RECONNECT_BACKOFF.maxMs);
      assert.ok(reconnectDelay(RECONNECT_BACKOFF, attempt + 1, 0.999999) >= reconnectDelay(RECONNECT_BACKOFF, attempt, 0.999999));
    }),
  );
});
