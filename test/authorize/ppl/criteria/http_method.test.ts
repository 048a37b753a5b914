import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, type Verdict } from '../support.js';

const cases: ReadonlyArray<readonly [string, string, string, Verdict]> = [
  ['ok', '{is: GET}', 'GET', [true, ['http-method-ok']]],
  ['unauthorized', '{is: GET}', 'POST', [false, ['http-method-unauthorized']]],
  ['methods are case-sensitive', '{is: GET}', 'get', [false, ['http-method-unauthorized']]],
  ['in', '{in: [GET, HEAD]}', 'HEAD', [true, ['http-method-ok']]],
  ['no session needed, none asked for', '{not: DELETE}', 'PUT', [true, ['http-method-ok']]],
];

for (const [name, data, method, allow] of cases) {
  test(`http_method: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`http_method: ${data}`), { method }), { allow, deny: NOTHING });
  });
}
