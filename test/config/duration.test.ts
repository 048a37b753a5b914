import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDuration } from '../../src/config/duration.js';

const NS = 1n;
const US = 1_000n;
const MS = 1_000_000n;
const S = 1_000_000_000n;
const M = 60n * S;
const H = 60n * M;

function ms(ns: bigint): number {
  return ns < 0n ? -(Number(-ns) / 1e6) : Number(ns) / 1e6;
}

// Go's own table (src/time/time_test.go parseDurationTests), in nanoseconds.
const valid: ReadonlyArray<readonly [string, bigint]> = [
  ['0', 0n],
  ['5s', 5n * S],
  ['30s', 30n * S],
  ['1478s', 1478n * S],
  ['-5s', -5n * S],
  ['+5s', 5n * S],
  ['-0', 0n],
  ['+0', 0n],
  ['5.0s', 5n * S],
  ['5.6s', 5n * S + 600n * MS],
  ['5.s', 5n * S],
  ['.5s', 500n * MS],
  ['1.0s', S],
  ['1.00s', S],
  ['1.004s', S + 4n * MS],
  ['1.0040s', S + 4n * MS],
  ['100.00100s', 100n * S + MS],
  ['10ns', 10n * NS],
  ['11us', 11n * US],
  ['12\u00b5s', 12n * US],
  ['12\u03bcs', 12n * US],
  ['13ms', 13n * MS],
  ['14s', 14n * S],
  ['15m', 15n * M],
  ['16h', 16n * H],
  ['3h30m', 3n * H + 30n * M],
  ['10.5s4m', 4n * M + 10n * S + 500n * MS],
  ['-2m3.4s', -(2n * M + 3n * S + 400n * MS)],
  ['1h2m3s4ms5us6ns', H + 2n * M + 3n * S + 4n * MS + 5n * US + 6n * NS],
  ['39h9m14.425s', 39n * H + 9n * M + 14n * S + 425n * MS],
  ['52763797000ns', 52763797000n],
  ['0.3333333333333333333h', 20n * M],
  ['9007199254740993ns', (1n << 53n) + 1n],
  ['9223372036854775807ns', (1n << 63n) - 1n],
  ['9223372036854775.807us', (1n << 63n) - 1n],
  ['9223372036s854ms775us807ns', (1n << 63n) - 1n],
  ['-9223372036854775808ns', -(1n << 63n)],
  ['-9223372036854775.808us', -(1n << 63n)],
  ['-9223372036s854ms775us808ns', -(1n << 63n)],
  ['-2562047h47m16.854775808s', -(1n << 63n)],
  ['0.100000000000000000000h', 6n * M],
  ['0.830103483285477580700h', 49n * M + 48n * S + 372539827n],
  // The forms Pomerium's docs use.
  ['1h45m', H + 45n * M],
  ['1.5h', 90n * M],
  ['300ms', 300n * MS],
];

test('parseDuration reads every duration of Go’s own test table to the same nanosecond count', () => {
  for (const [text, ns] of valid) {
    assert.deepEqual(parseDuration(text), { ok: true, value: ms(ns) }, text);
  }
});

const invalid: readonly string[] = [
  '',
  '3',
  '-',
  's',
  '.',
  '-.',
  '.s',
  '+.s',
  '1d',
  '\u0085\u0085',
  '\u00ffff',
  'hello \u00ffff world',
  '\ufffd',
  '\ufffd hello \ufffd world',
  '9223372036854775810ns',
  '9223372036854775808ns',
  '-9223372036854775809ns',
  '9223372036854776us',
  '3000000h',
  '9223372036854775.808us',
  '9223372036854ms775us808ns',
  '1h 30m',
  ' 1s',
  '1S',
];

test('parseDuration refuses what Go refuses: no unit, unknown unit, overflow, stray characters', () => {
  for (const text of invalid) {
    assert.equal(parseDuration(text).ok, false, JSON.stringify(text));
  }
});

test('parseDuration names the problem as Go does: a missing or an unknown unit', () => {
  assert.deepEqual(parseDuration('30'), { ok: false, error: 'missing unit in duration "30"' });
  assert.deepEqual(parseDuration('1d'), { ok: false, error: 'unknown unit "d" in duration "1d"' });
  assert.deepEqual(parseDuration('x'), { ok: false, error: 'invalid duration "x"' });
});

const UNITS: ReadonlyArray<readonly [string, bigint]> = [
  ['h', H],
  ['m', M],
  ['s', S],
  ['ms', MS],
  ['us', US],
  ['\u00b5s', US],
  ['ns', NS],
];

test('a duration written as any sequence of whole numbers and units parses to their sum', () => {
  const part = fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(...UNITS));
  fc.assert(
    fc.property(fc.boolean(), fc.array(part, { minLength: 1, maxLength: 6 }), (negative, parts) => {
      const text = (negative ? '-' : '') + parts.map(([n, [unit]]) => `${n}${unit}`).join('');
      const ns = parts.reduce((sum, [n, [, unit]]) => sum + BigInt(n) * unit, 0n);
      assert.deepEqual(parseDuration(text), { ok: true, value: ms(negative ? -ns : ns) });
    }),
  );
});

test('a duration with a decimal fraction of milliseconds or more parses to the exact nanosecond count', () => {
  const units = UNITS.filter(([, unit]) => unit >= MS);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 999 }), fc.constantFrom(...units), (whole, thousandths, [unit, size]) => {
      const text = `${whole}.${String(thousandths).padStart(3, '0')}${unit}`;
      const ns = BigInt(whole) * size + (BigInt(thousandths) * size) / 1000n;
      assert.deepEqual(parseDuration(text), { ok: true, value: ms(ns) });
    }),
  );
});
