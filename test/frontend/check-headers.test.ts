import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkHeaders } from '../../src/frontend/check-headers.js';
import { Errors, type ErrorSpec } from '../../src/errors.js';

const H = ['host', 'app.example.com'] as const;

const accepted: ReadonlyArray<readonly string[]> = [
  [...H],
  [...H, 'user-agent', 'curl/8.5.0', 'accept', '*/*'],
  [...H, 'content-length', '0'],
  [...H, 'content-length', '123456789012345'],
  [...H, 'content-length', '007'],
  [...H, 'transfer-encoding', 'chunked'],
  [...H, 'transfer-encoding', 'CHUNKED'],
  [...H, 'transfer-encoding', 'Chunked'],
  [...H, 'x-value', 'tab\tinside'],
  [...H, 'x-long', 'a'.repeat(20) + '\t' + 'b'.repeat(200)],
  [...H, 'x-value', ''],
  [...H, 'x-value', 'caf\u00e9 \u{1f600} \u0080\u00ff'],
  [...H, 'cookie', 'a=1', 'cookie', 'b=2', 'accept', 'x', 'accept', 'y'],
  [...H, "x-!#$%&'*+-.^`|~09az", 'v'],
  ['user-agent', 'x', ...H, 'x-after', 'y'],
  // names are lower-cased by uWS; upper-case ones are still tokens
  ['Host', 'app.example.com', 'X-Custom', 'v'],
];

test('checkHeaders accepts well-formed header sets', () => {
  for (const headers of accepted) assert.equal(checkHeaders(headers), null, JSON.stringify(headers));
});

const refused: ReadonlyArray<readonly [readonly string[], ErrorSpec]> = [
  [[], Errors.MISSING_HOST],
  [['user-agent', 'x'], Errors.MISSING_HOST],
  [['x-host', 'a', 'hosts', 'b'], Errors.MISSING_HOST],
  [[...H, 'host', 'app.example.com'], Errors.DUPLICATE_HOST],
  [[...H, 'host', 'evil.example'], Errors.DUPLICATE_HOST],
  [[...H, 'HOST', 'evil.example'], Errors.DUPLICATE_HOST],
  [['host', '', 'host', ''], Errors.DUPLICATE_HOST],
  [[...H, 'content-length', '5', 'content-length', '5'], Errors.DUPLICATE_CONTENT_LENGTH],
  [[...H, 'content-length', '3', 'content-length', '5'], Errors.DUPLICATE_CONTENT_LENGTH],
  [[...H, 'content-length', '3', 'Content-Length', '5'], Errors.DUPLICATE_CONTENT_LENGTH],
  [[...H, 'content-length', ''], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', '1234567890123456'], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', '-1'], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', '+1'], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', ' 1'], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', '1 '], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', '1,1'], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', '0x10'], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', '1e3'], Errors.INVALID_CONTENT_LENGTH],
  [[...H, 'content-length', '\u0661'], Errors.INVALID_CONTENT_LENGTH], // ARABIC-INDIC DIGIT ONE
  [[...H, 'transfer-encoding', 'chunked', 'transfer-encoding', 'chunked'], Errors.DUPLICATE_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', 'gzip'], Errors.UNSUPPORTED_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', 'gzip, chunked'], Errors.UNSUPPORTED_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', 'chunked, chunked'], Errors.UNSUPPORTED_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', 'identity'], Errors.UNSUPPORTED_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', ' chunked'], Errors.UNSUPPORTED_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', 'chunked\t'], Errors.UNSUPPORTED_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', 'xchunked'], Errors.UNSUPPORTED_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', ''], Errors.UNSUPPORTED_TRANSFER_ENCODING],
  [[...H, 'content-length', '5', 'transfer-encoding', 'chunked'], Errors.CONTENT_LENGTH_WITH_TRANSFER_ENCODING],
  [[...H, 'transfer-encoding', 'chunked', 'content-length', '0'], Errors.CONTENT_LENGTH_WITH_TRANSFER_ENCODING],
  [[...H, 'x_pomerium_jwt_assertion', 'forged'], Errors.UNDERSCORE_IN_HEADER_NAME],
  [[...H, '_', 'v'], Errors.UNDERSCORE_IN_HEADER_NAME],
  [[...H, 'x-auth_request_user', 'admin'], Errors.UNDERSCORE_IN_HEADER_NAME],
  [[...H, '', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x y', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x:y', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x"y', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x(y)', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x/y', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x@y', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x\u007fy', 'v'], Errors.INVALID_HEADER_NAME], // what uWS makes of '_' (0x5F | 0x20)
  [[...H, 'x\u0000', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x\r\ny', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'caf\u00e9', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'host ', 'v'], Errors.INVALID_HEADER_NAME],
  [[...H, 'x', 'a\u0000b'], Errors.CONTROL_CHARACTER],
  [[...H, 'x', 'a\rb'], Errors.CONTROL_CHARACTER],
  [[...H, 'x', 'a\nX-Evil: 1'], Errors.CONTROL_CHARACTER],
  [[...H, 'x', '\u0001'], Errors.CONTROL_CHARACTER],
  [[...H, 'x', '\u001f'], Errors.CONTROL_CHARACTER],
  [[...H, 'x', 'a\u007f'], Errors.CONTROL_CHARACTER],
  // long values take another code path: same answers
  [[...H, 'cookie', 'a=' + 'b'.repeat(300) + '\u0000'], Errors.CONTROL_CHARACTER],
  [[...H, 'authorization', 'Bearer ' + 'x'.repeat(30) + '\r\nx-evil: 1'], Errors.CONTROL_CHARACTER],
  [[...H, 'x', 'y'.repeat(15) + '\u007f'], Errors.CONTROL_CHARACTER],
  [['host', 'a\u0000.example'], Errors.CONTROL_CHARACTER],
];

test('checkHeaders refuses each framing or hygiene problem with its catalogue entry', () => {
  for (const [headers, expected] of refused) {
    assert.equal(checkHeaders(headers), expected, JSON.stringify(headers));
  }
});

test('checkHeaders reports the first problem in header order before the end-of-set checks', () => {
  assert.equal(checkHeaders(['x_a', 'v', 'x', '\u0000']), Errors.UNDERSCORE_IN_HEADER_NAME);
  assert.equal(checkHeaders(['x', '\u0000', 'x_a', 'v']), Errors.CONTROL_CHARACTER);
  assert.equal(checkHeaders(['content-length', 'x', 'transfer-encoding', 'chunked']), Errors.INVALID_CONTENT_LENGTH);
  assert.equal(checkHeaders(['content-length', '1', 'transfer-encoding', 'chunked']), Errors.MISSING_HOST);
  assert.equal(checkHeaders([...H, 'content-length', '1', 'transfer-encoding', 'chunked']), Errors.CONTENT_LENGTH_WITH_TRANSFER_ENCODING);
});

// ---- properties ----------------------------------------------------------

type Pair = readonly [string, string];

const SPECIAL = new Set(['host', 'content-length', 'transfer-encoding']);
const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-!#$%&\'*+.^`|~');
const plainName = fc
  .string({ unit: nameChar, minLength: 1, maxLength: 20 })
  .filter((name) => !SPECIAL.has(name));
const valueChar = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom('\t', 'é', '\u0080', '\u00ff', '\u{1f600}', '\ufffd') },
);
// size 'max': lengths spread up to maxLength, so both the short-value loop and
// the long-value path of checkHeaders are exercised.
const plainValue = fc.string({ unit: valueChar, maxLength: 120, size: 'max' });
const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 15 });
const chunked = fc.constantFrom('chunked', 'CHUNKED', 'Chunked', 'cHuNkEd');

/** A header set checkHeaders must accept: one Host, at most one of Content-Length and Transfer-Encoding. */
const validSet = fc
  .record({
    host: fc.domain(),
    framing: fc.oneof(
      fc.constant<Pair[]>([]),
      digits.map((d): Pair[] => [['content-length', d]]),
      chunked.map((value): Pair[] => [['transfer-encoding', value]]),
    ),
    others: fc.array(fc.tuple(plainName, plainValue), { maxLength: 30 }),
  })
  .chain(({ host, framing, others }) =>
    fc.shuffledSubarray<Pair>([['host', host], ...framing, ...others], {
      minLength: 1 + framing.length + others.length,
    }),
  );

function flat(pairs: readonly Pair[]): string[] {
  return pairs.flatMap(([name, value]) => [name, value]);
}

function insertAt(pairs: readonly Pair[], index: number, ...added: Pair[]): Pair[] {
  const at = index % (pairs.length + 1);
  return [...pairs.slice(0, at), ...added, ...pairs.slice(at)];
}

function without(pairs: readonly Pair[], name: string): Pair[] {
  return pairs.filter(([n]) => n !== name);
}

const has = (pairs: readonly Pair[], name: string) => pairs.some(([n]) => n === name);

const controlChar = fc.oneof(
  fc.integer({ min: 0x00, max: 0x08 }),
  fc.integer({ min: 0x0a, max: 0x1f }),
  fc.constant(0x7f),
).map((c) => String.fromCharCode(c));
const badNameChar = fc.oneof(
  fc.constantFrom(' ', '"', '(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}', '\t', '\u007f', 'é', '\u0000'),
  fc.integer({ min: 0x00, max: 0x1f }).map((c) => String.fromCharCode(c)),
);
const badTransferEncoding = fc.oneof(
  fc.constantFrom('gzip', 'deflate', 'identity', 'chunked, gzip', 'gzip, chunked', ' chunked', 'chunked ', 'chunk', ''),
  plainValue.filter((v) => v.toLowerCase() !== 'chunked'),
);
const badContentLength = fc.oneof(
  fc.constantFrom('', '-1', '+1', ' 1', '1 ', '1,1', '1.0', '0x10', '1e3', '1234567890123456'),
  plainValue.filter((v) => !/^[0-9]{1,15}$/.test(v)),
);

/** One violation: how it is inserted into a valid set, and what checkHeaders must answer. */
type Violation = readonly [apply: (pairs: readonly Pair[]) => Pair[], expected: ErrorSpec];
const violate = (apply: (pairs: readonly Pair[]) => Pair[], expected: ErrorSpec): Violation => [apply, expected];

const violation: fc.Arbitrary<Violation> = fc.oneof(
  fc.tuple(fc.nat(), fc.domain()).map(([at, host]) => violate((p) => insertAt(p, at, ['host', host]), Errors.DUPLICATE_HOST)),
  fc.constant(violate((p) => without(p, 'host'), Errors.MISSING_HOST)),
  fc.tuple(fc.nat(), digits, digits).map(([at, a, b]) => violate(
    (p) => (has(p, 'content-length') ? insertAt(p, at, ['content-length', a]) : insertAt(p, at, ['content-length', a], ['content-length', b])),
    Errors.DUPLICATE_CONTENT_LENGTH,
  )),
  fc.tuple(fc.nat(), badContentLength).map(([at, value]) => violate(
    (p) => insertAt(without(p, 'content-length'), at, ['content-length', value]),
    Errors.INVALID_CONTENT_LENGTH,
  )),
  fc.tuple(fc.nat(), chunked, chunked).map(([at, a, b]) => violate(
    (p) =>
      has(p, 'transfer-encoding')
        ? insertAt(p, at, ['transfer-encoding', a])
        : insertAt(p, at, ['transfer-encoding', a], ['transfer-encoding', b]),
    Errors.DUPLICATE_TRANSFER_ENCODING,
  )),
  fc.tuple(fc.nat(), badTransferEncoding).map(([at, value]) => violate(
    (p) => insertAt(without(p, 'transfer-encoding'), at, ['transfer-encoding', value]),
    Errors.UNSUPPORTED_TRANSFER_ENCODING,
  )),
  fc.tuple(fc.nat(), fc.nat(), digits, chunked).map(([at1, at2, cl, te]) => violate(
    (p) => insertAt(insertAt(without(without(p, 'content-length'), 'transfer-encoding'), at1, ['content-length', cl]), at2, ['transfer-encoding', te]),
    Errors.CONTENT_LENGTH_WITH_TRANSFER_ENCODING,
  )),
  fc.tuple(fc.nat(), plainName, fc.nat(), plainValue).map(([at, name, cut, value]) => {
    const i = cut % (name.length + 1);
    return violate((p) => insertAt(p, at, [name.slice(0, i) + '_' + name.slice(i), value]), Errors.UNDERSCORE_IN_HEADER_NAME);
  }),
  fc.tuple(fc.nat(), plainName, fc.nat(), badNameChar, plainValue).map(([at, name, cut, bad, value]) => {
    const i = cut % (name.length + 1);
    return violate((p) => insertAt(p, at, [name.slice(0, i) + bad + name.slice(i), value]), Errors.INVALID_HEADER_NAME);
  }),
  fc.tuple(fc.nat(), plainValue).map(([at, value]) => violate((p) => insertAt(p, at, ['', value]), Errors.INVALID_HEADER_NAME)),
  fc.tuple(fc.nat(), plainName, plainValue, fc.nat(), controlChar).map(([at, name, value, cut, ctl]) => {
    const i = cut % (value.length + 1);
    return violate((p) => insertAt(p, at, [name, value.slice(0, i) + ctl + value.slice(i)]), Errors.CONTROL_CHARACTER);
  }),
);

test('checkHeaders accepts every generated valid header set', () => {
  fc.assert(
    fc.property(validSet, (pairs) => {
      assert.equal(checkHeaders(flat(pairs)), null);
    }),
    { numRuns: 3000 },
  );
});

test('checkHeaders catches any single violation inserted into a valid set, with its own code', () => {
  fc.assert(
    fc.property(validSet, violation, (pairs, [apply, expected]) => {
      const result = checkHeaders(flat(apply(pairs)));
      assert.equal(result?.code, expected.code);
    }),
    { numRuns: 5000 },
  );
});

test('checkHeaders never throws on arbitrary strings', () => {
  const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  fc.assert(
    fc.property(fc.array(fc.string({ unit: anyUnit, maxLength: 40, size: 'max' }), { maxLength: 20 }), (headers) => {
      const result = checkHeaders(headers);
      assert.ok(result === null || typeof result.code === 'string');
    }),
    { numRuns: 2000 },
  );
});
