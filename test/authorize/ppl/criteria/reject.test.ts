import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, who } from '../support.js';

test('reject is false with the reason "reject", whatever its value and whoever asks', () => {
  for (const value of ['1', 'true', 'false']) {
    assert.deepEqual(evaluate(allowAnd(`reject: ${value}`)), { allow: [false, ['reject']], deny: NOTHING });
    assert.deepEqual(evaluate(allowAnd(`reject: ${value}`), { identity: who() }).allow, [false, ['reject']]);
  }
});
