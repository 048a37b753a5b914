import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDaysOfWeek } from '../../../../src/authorize/ppl/criteria/day_of_week.js';
import { allowAnd, evaluate, problemsOf, type Verdict } from '../support.js';

const OK: Verdict = [true, ['day-of-week-ok']];
const NO: Verdict = [false, ['day-of-week-unauthorized']];
// 2021-05-11 is a Tuesday.
const TUESDAY = new Date('2021-05-11T13:43:00Z');
const SATURDAY = new Date('2021-05-15T10:00:00Z');

const cases: ReadonlyArray<readonly [string, string, Date, Verdict]> = [
  ['every day', '"*"', SATURDAY, OK],
  ['a range', 'mon-fri', TUESDAY, OK],
  ['outside the range', 'mon-fri', SATURDAY, NO],
  ['a list', 'mon,wed,fri', TUESDAY, NO],
  ['full names, any case', 'Tuesday', TUESDAY, OK],
  ['a wrapping range', 'fri-mon', SATURDAY, OK],
  ['ranges and days mixed', 'sat-sun, tue', TUESDAY, OK],
  ['the day is the UTC day', 'wed', new Date('2021-05-11T23:30:00-02:00'), OK],
];

for (const [name, data, now, allow] of cases) {
  test(`day_of_week: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`day_of_week: ${data}`), { now }).allow, allow);
  });
}

test('parseDaysOfWeek: bit i for day i, Sunday first', () => {
  assert.equal(parseDaysOfWeek('sun'), 0b1);
  assert.equal(parseDaysOfWeek('mon-fri'), 0b0111110);
  assert.equal(parseDaysOfWeek('sat-sun'), 0b1000001);
  assert.equal(parseDaysOfWeek('*'), 0b1111111);
});

for (const [data, message] of [
  ['funday', /"funday" is not a day/],
  ['mon-', /"mon-" is not a day/],
  ['mon,,fri', /"" is not a day/],
  ['[mon]', /expected a string/],
] as const) {
  test(`day_of_week refuses ${data}`, () => assert.match(problemsOf(allowAnd(`day_of_week: ${data}`))[0]!, message));
}
