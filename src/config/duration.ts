// Go's time.ParseDuration, because Pomerium configs are written in it:
// `30s`, `1h45m`, `1.5h`, `300ms`, `-2m`, and a bare `0`. A sequence of
// decimal numbers, each with an optional fraction and a required unit.
// A port of the Go algorithm step by step: integers in BigInt (Go's uint64,
// with its overflow rules), the fraction through a float as Go does, so both
// give the same nanosecond count.
import type { Parsed } from './findings.js';

const NANOSECONDS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // µ MICRO SIGN
  ['\u03bcs', 1_000n], // μ GREEK SMALL LETTER MU
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const TWO_63 = 1n << 63n;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Parses a Go duration into milliseconds (fractional below 1 ms, negative when written so). */
export function parseDuration(text: string): Parsed<number> {
  const invalid: Parsed<number> = { ok: false, error: `invalid duration ${JSON.stringify(text)}` };
  let i = 0;
  let negative = false;
  if (text[0] === '-' || text[0] === '+') {
    negative = text[0] === '-';
    i = 1;
  }
  if (text.slice(i) === '0') return { ok: true, value: 0 };
  if (i === text.length) return invalid;
  let total = 0n;
  while (i < text.length) {
    if (!(text[i] === '.' || isDigit(text[i]))) return invalid;
    // Integer part (Go's leadingInt: overflow is an error).
    const intStart = i;
    let v = 0n;
    for (; isDigit(text[i]); i++) {
      v = v * 10n + BigInt(text.charCodeAt(i) - 48);
      if (v > TWO_63) return invalid;
    }
    const pre = i > intStart;
    // Fraction (Go's leadingFraction: digits past overflow are ignored).
    let f = 0n;
    let scale = 1;
    let post = false;
    if (text[i] === '.') {
      i++;
      const fracStart = i;
      let overflow = false;
      for (; isDigit(text[i]); i++) {
        if (overflow) continue;
        const y = f * 10n + BigInt(text.charCodeAt(i) - 48);
        if (y > TWO_63) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = i > fracStart;
    }
    if (!pre && !post) return invalid;
    const unitStart = i;
    while (i < text.length && text[i] !== '.' && !isDigit(text[i])) i++;
    const unitText = text.slice(unitStart, i);
    if (unitText === '') return { ok: false, error: `missing unit in duration ${JSON.stringify(text)}` };
    const unit = NANOSECONDS.get(unitText);
    if (unit === undefined) return { ok: false, error: `unknown unit ${JSON.stringify(unitText)} in duration ${JSON.stringify(text)}` };
    if (v > TWO_63 / unit) return invalid;
    v *= unit;
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > TWO_63) return invalid;
    }
    total += v;
    if (total > TWO_63) return invalid;
  }
  if (!negative && total > TWO_63 - 1n) return invalid;
  const ms = Number(total) / 1e6;
  return { ok: true, value: negative && ms !== 0 ? -ms : ms };
}
