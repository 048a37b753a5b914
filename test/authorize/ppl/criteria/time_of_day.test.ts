import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTimeOfDay } from '../../../../src/authorize/ppl/criteria/time_of_day.js';
import { allowAnd, evaluate, problemsOf, type Verdict } from '../support.js';

const OK: Verdict = [true, ['time-of-day-ok']];
const NO: Verdict = [false, ['time-of-day-unauthorized']];
const at = (iso: string): Date => new Date(iso);

const cases: ReadonlyArray<readonly [string, string, Date, Verdict]> = [
  ['within, UTC', '{timezone: UTC, after: "2:20:00", before: 4:30PM}', at('2021-05-11T13:43:00Z'), OK],
  ['too late, UTC', '{timezone: UTC, after: "2:20:00", before: 4:30PM}', at('2021-05-11T16:30:01Z'), NO],
  ['bounds are exclusive', '{timezone: UTC, after: "13:43"}', at('2021-05-11T13:43:00Z'), NO],
  ['seconds count', '{timezone: UTC, after: "13:43"}', at('2021-05-11T13:43:00.001Z'), OK],
  ['in the zone given (New York is UTC-4 in May)', '{timezone: America/New_York, before: "10:00"}', at('2021-05-11T13:43:00Z'), OK],
  ['… and its daylight saving time (UTC-5 in January)', '{timezone: America/New_York, before: "9:00"}', at('2021-01-11T13:43:00Z'), OK],
  ['… not after it', '{timezone: America/New_York, before: "9:00"}', at('2021-05-11T13:43:00Z'), NO],
  ['after only', '{timezone: Asia/Dubai, after: 5PM}', at('2021-05-11T13:43:00Z'), OK],
  ['an overnight window, late', '{timezone: UTC, after: "22:00", before: "06:00"}', at('2021-05-11T23:00:00Z'), OK],
  ['an overnight window, early', '{timezone: UTC, after: "22:00", before: "06:00"}', at('2021-05-11T05:59:00Z'), OK],
  ['an overnight window, midday', '{timezone: UTC, after: "22:00", before: "06:00"}', at('2021-05-11T12:00:00Z'), NO],
];

for (const [name, data, now, allow] of cases) {
  test(`time_of_day: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`time_of_day: ${data}`), { now }).allow, allow);
  });
}

test('time_of_day follows the clock across minutes (the zone offset is cached per minute)', () => {
  const policy = allowAnd('time_of_day: {timezone: Europe/Amsterdam, after: "10:00:30", before: "10:01:30"}');
  const verdicts = ['2021-05-11T08:00:29Z', '2021-05-11T08:00:31Z', '2021-05-11T08:01:29Z', '2021-05-11T08:01:31Z'].map(
    (t) => evaluate(policy, { now: at(t) }).allow[0],
  );
  assert.deepEqual(verdicts, [false, true, true, false]);
});

test('parseTimeOfDay reads the documented formats', () => {
  const h = 3_600_000;
  const cases: ReadonlyArray<readonly [string, number | null]> = [
    ['3:04 PM', 15 * h + 4 * 60_000],
    ['3:04PM', 15 * h + 4 * 60_000],
    ['3 PM', 15 * h],
    ['3PM', 15 * h],
    ['12AM', 0],
    ['12 PM', 12 * h],
    ['15:04:05.5', 15 * h + 4 * 60_000 + 5500],
    ['15:04:05', 15 * h + 4 * 60_000 + 5000],
    ['15:04', 15 * h + 4 * 60_000],
    ['24:00', null],
    ['13PM', null],
    ['15:4', null],
    ['noon', null],
  ];
  for (const [text, ms] of cases) assert.equal(parseTimeOfDay(text), ms, text);
});

for (const [data, message] of [
  ['{after: "10:00"}', /timezone is required/],
  ['{timezone: Mars/Olympus, after: "10:00"}', /not a known time zone/],
  ['{timezone: UTC}', /needs after, before or both/],
  ['{timezone: UTC, after: noon}', /after: "noon" is not a time of day/],
  ['{timezone: UTC, during: lunch}', /unsupported time_of_day matcher operator "during"/],
] as const) {
  test(`time_of_day refuses ${data}`, () => assert.match(problemsOf(allowAnd(`time_of_day: ${data}`))[0]!, message));
}
