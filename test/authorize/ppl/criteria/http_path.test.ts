import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, type Verdict } from '../support.js';

const OK: Verdict = [true, ['http-path-ok']];
const NO: Verdict = [false, ['http-path-unauthorized']];

const cases: ReadonlyArray<readonly [string, string, string, Verdict]> = [
  ['ok', '{is: /test}', '/test', OK],
  ['unauthorized', '{is: /test}', '/not-test', NO],
  ['starts_with', '{starts_with: /api/}', '/api/v1/users', OK],
  ['starts_with is not a segment match', '{starts_with: /api}', '/apiary', OK],
  ['ends_with', '{ends_with: .json}', '/a/b.json', OK],
  ['contains', '{contains: /admin/}', '/x/admin/y', OK],
  ['not_in', '{not_in: [/metrics, /debug]}', '/metrics', NO],
];

for (const [name, data, path, allow] of cases) {
  test(`http_path: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`http_path: ${data}`), { path }), { allow, deny: NOTHING });
  });
}
