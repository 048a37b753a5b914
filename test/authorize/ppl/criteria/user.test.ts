import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, who, type InputFields, type Verdict } from '../support.js';

const cases: ReadonlyArray<readonly [string, InputFields, Verdict]> = [
  ['no session asks to sign in', {}, [false, ['user-unauthenticated']]],
  ['by user id', { identity: who({ userId: 'USER_ID' }) }, [true, ['user-ok']]],
  ['another user id', { identity: who({ userId: 'USER2' }) }, [false, ['user-unauthorized']]],
  ['the email is not the user id', { identity: who({ userId: 'x', email: 'USER_ID' }) }, [false, ['user-unauthorized']]],
];

for (const [name, fields, allow] of cases) {
  test(`user: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd('user: {is: USER_ID}'), fields), { allow, deny: NOTHING });
  });
}
