import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING } from '../support.js';

test('accept is true with the reason "accept", whatever its value, signed in or not', () => {
  for (const value of ['1', 'true', 'false', 'null', '{x: 1}']) {
    assert.deepEqual(evaluate(allowAnd(`accept: ${value}`)), { allow: [true, ['accept']], deny: NOTHING }, value);
  }
});
