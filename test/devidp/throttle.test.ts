import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LoginThrottle, loginDelayMs } from '../../src/devidp/throttle.js';

test('the delay starts at 250 ms after one failure, doubles, and stops at 4 s', () => {
  const table: ReadonlyArray<readonly [number, number]> = [[0, 0], [1, 250], [2, 500], [3, 1000], [4, 2000], [5, 4000], [6, 4000], [1000, 4000]];
  for (const [failures, delay] of table) assert.equal(loginDelayMs(failures), delay, String(failures));
});

test('the delay never decreases with more failures and stays within 0..4 s', () => {
  fc.assert(
    fc.property(fc.nat(10_000), fc.nat(10_000), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      return loginDelayMs(lo) <= loginDelayMs(hi) && loginDelayMs(hi) <= 4000 && loginDelayMs(lo) >= 0;
    }),
  );
});

test('failures count per username, reset on success, and are forgotten after 15 quiet minutes', () => {
  let now = 1_000_000;
  const throttle = new LoginThrottle(() => now);
  assert.equal(throttle.delayMs('alice'), 0);
  throttle.recordFailure('alice');
  throttle.recordFailure('alice');
  assert.equal(throttle.delayMs('alice'), 500);
  assert.equal(throttle.delayMs('bob'), 0, 'another username is not slowed');
  throttle.recordSuccess('alice');
  assert.equal(throttle.delayMs('alice'), 0);
  throttle.recordFailure('alice');
  now += 14 * 60_000;
  assert.equal(throttle.delayMs('alice'), 250);
  now += 60_000;
  assert.equal(throttle.delayMs('alice'), 0);
  throttle.recordFailure('alice');
  assert.equal(throttle.delayMs('alice'), 250, 'counting starts again');
});

test('at most 10 000 usernames are tracked; the stalest is forgotten first', () => {
  let now = 0;
  const throttle = new LoginThrottle(() => now);
  for (let i = 0; i <= 10_000; i++) {
    now++;
    throttle.recordFailure(`user${i}`);
  }
  assert.equal(throttle.delayMs('user0'), 0);
  assert.equal(throttle.delayMs('user1'), 250);
  assert.equal(throttle.delayMs('user10000'), 250);
});
