import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, type InputFields, type Verdict } from '../support.js';

const PREFLIGHT_HEADERS = ['access-control-request-method', 'GET', 'origin', 'example.com'];

const cases: ReadonlyArray<readonly [string, InputFields, Verdict]> = [
  ['OPTIONS with Access-Control-Request-Method and Origin', { method: 'OPTIONS', headers: PREFLIGHT_HEADERS }, [true, ['cors-request']]],
  ['OPTIONS alone', { method: 'OPTIONS' }, [false, ['non-cors-request']]],
  ['OPTIONS without Origin', { method: 'OPTIONS', headers: PREFLIGHT_HEADERS.slice(0, 2) }, [false, ['non-cors-request']]],
  ['OPTIONS without Access-Control-Request-Method', { method: 'OPTIONS', headers: PREFLIGHT_HEADERS.slice(2) }, [false, ['non-cors-request']]],
  ['GET with both headers', { method: 'GET', headers: PREFLIGHT_HEADERS }, [false, ['non-cors-request']]],
  ['a header value is not a header name', { method: 'OPTIONS', headers: ['x-a', 'origin', 'x-b', 'access-control-request-method'] }, [false, ['non-cors-request']]],
];

for (const [name, fields, allow] of cases) {
  test(`cors_preflight: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd('cors_preflight: 1'), fields), { allow, deny: NOTHING });
  });
}
