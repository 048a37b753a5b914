import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, who, type InputFields, type Verdict } from '../support.js';

const cases: ReadonlyArray<readonly [string, InputFields, Verdict]> = [
  ['no session asks to sign in', {}, [false, ['user-unauthenticated']]],
  ['a session with a user id', { identity: who({ userId: 'USER_ID' }) }, [true, ['user-ok']]],
  ['a service account counts', { identity: who({ userId: 'sa:ci', kind: 'service_account' }) }, [true, ['user-ok']]],
  ['a session without a user id is not a user', { identity: who({ userId: '' }) }, [false, ['user-unauthorized']]],
];

for (const [name, fields, allow] of cases) {
  test(`authenticated_user: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd('authenticated_user: 1'), fields), { allow, deny: NOTHING });
  });
}
