import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIsoInstant } from '../../../../src/authorize/ppl/criteria/date.js';
import { allowAnd, evaluate, problemsOf, type Verdict } from '../support.js';

const OK: Verdict = [true, ['date-ok']];
const NO: Verdict = [false, ['date-unauthorized']];

const cases: ReadonlyArray<readonly [string, string, string, Verdict]> = [
  ['after, and it is', '{after: 2020-01-02T16:20:00}', '2021-05-11T13:43:00Z', OK],
  ['after, and it is not yet', '{after: 2030-01-01}', '2021-05-11T13:43:00Z', NO],
  ['before', '{before: 2150-01-02T16:20:00}', '2021-05-11T13:43:00Z', OK],
  ['between', '{after: 2020-01-02T16:20:00, before: 2150-01-02T16:20:00}', '2021-05-11T13:43:00Z', OK],
  ['bounds are exclusive', '{after: "2021-05-11T13:43:00Z"}', '2021-05-11T13:43:00Z', NO],
  ['no offset means UTC', '{before: 2021-05-11T13:43:01}', '2021-05-11T13:43:00Z', OK],
  ['an offset is honoured', '{before: "2021-05-11T15:43:00+02:00"}', '2021-05-11T13:42:59Z', OK],
  ['… both ways', '{before: "2021-05-11T15:43:00+02:00"}', '2021-05-11T13:43:00Z', NO],
];

for (const [name, data, now, allow] of cases) {
  test(`date: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`date: ${data}`), { now: new Date(now) }).allow, allow);
  });
}

test('parseIsoInstant reads ISO-8601 dates and date-times, UTC unless an offset is given', () => {
  assert.equal(parseIsoInstant('2020-01-02'), Date.UTC(2020, 0, 2));
  assert.equal(parseIsoInstant('2020-01-02T16:20:00.5Z'), Date.UTC(2020, 0, 2, 16, 20, 0, 500));
  assert.equal(parseIsoInstant('2020-01-02T16:20-0130'), Date.UTC(2020, 0, 2, 17, 50));
  for (const bad of ['2021-02-30', '2020-13-01', '2020-01-02T24:00', 'yesterday', '2020-1-2', '']) assert.equal(parseIsoInstant(bad), null, bad);
});

const refusals: ReadonlyArray<readonly [string, RegExp]> = [
  ['2020-01-01', /expected a map with after and\/or before/],
  ['{}', /needs after, before or both/],
  ['{since: 2020-01-01}', /unsupported date matcher operator "since"/],
  ['{after: tomorrow}', /after: "tomorrow" is not an ISO-8601 date/],
  ['{before: 5}', /before must be an ISO-8601 date string, not a number/],
];

for (const [data, message] of refusals) {
  test(`date refuses ${data}`, () => assert.match(problemsOf(allowAnd(`date: ${data}`))[0]!, message));
}
