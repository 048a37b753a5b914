import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizePath, checkQuery } from '../../src/frontend/normalize-path.js';
import { Errors, type ErrorSpec } from '../../src/errors.js';

const normalized: ReadonlyArray<readonly [string, string]> = [
  // already canonical: returned as is
  ['/', '/'],
  ['/a/b/c', '/a/b/c'],
  ['/a/b/', '/a/b/'],
  ['/api/v1/users/123', '/api/v1/users/123'],
  ["/~user/a-b_c.d!$&'()*+,;=:@", "/~user/a-b_c.d!$&'()*+,;=:@"],
  ['/a%20b', '/a%20b'],
  ['/100%25', '/100%25'],
  ['/foo/secret%23/bar', '/foo/secret%23/bar'], // an escaped '#' is data, not a fragment
  ['/a%3Fb', '/a%3Fb'],
  ['/...', '/...'],
  ['/.a/a./..b/b..', '/.a/a./..b/b..'],
  // double encoding is left alone: %25 is the data byte '%'
  ['/a%252Fb', '/a%252Fb'],
  ['/a%252e%252e/b', '/a%252e%252e/b'],
  // dot segments (RFC 3986 §5.2.4 and its §5.4 examples, absolute-path part)
  ['/a/b/c/./../../g', '/a/g'],
  ['/a/./b', '/a/b'],
  ['/a/../b', '/b'],
  ['/a/.', '/a/'],
  ['/a/..', '/'],
  ['/a/b/..', '/a/'],
  ['/a/b/../', '/a/'],
  ['/.', '/'],
  ['/..', '/'],
  ['/../../../etc/passwd', '/etc/passwd'],
  ['/./a', '/a'],
  ['/a/b/c/../../../..', '/'],
  // the CVE-2023-33189 shapes
  ['/.pomerium/../secret', '/secret'],
  ['/.pomerium/%2e%2e/secret', '/secret'],
  ['/.pomerium/%2E%2E/secret', '/secret'],
  ['/.pomerium/.%2e/secret', '/secret'],
  ['/public/%2e/admin', '/public/admin'],
  // merged slashes, merged before dot segments are removed
  ['//', '/'],
  ['//evil.example', '/evil.example'],
  ['/a//b', '/a/b'],
  ['/a///b//', '/a/b/'],
  ['/a//../b', '/b'],
  ['/..//../a', '/a'],
  ['////.//..//x', '/x'],
  // unreserved escapes decoded, others upper-cased
  ['/%7euser', '/~user'],
  ['/%7Euser', '/~user'],
  ['/%41%62%2D%5f%2E%30', '/Ab-_.0'],
  ['/a%3ab', '/a%3Ab'],
  ['/a%3Ab', '/a%3Ab'],
  ['/caf%c3%a9', '/caf%C3%A9'],
  ['/%2e', '/'],
  ['/%2ea', '/.a'],
  ['/%25%7e', '/%25~'],
  // characters not allowed raw in a segment are encoded (UTF-8, upper-case hex)
  ['/a b', '/a%20b'],
  ['/café', '/caf%C3%A9'],
  ['/😀', '/%F0%9F%98%80'],
  ['/\u07ff\u0800\uffff', '/%DF%BF%E0%A0%80%EF%BF%BF'],
  ['/\ufffd', '/%EF%BF%BD'], // what uWS hands over for an invalid UTF-8 byte
  ['/[x]', '/%5Bx%5D'],
  ['/a"b<c>d^e`f{g|h}i', '/a%22b%3Cc%3Ed%5Ee%60f%7Bg%7Ch%7Di'],
  ['/a?b', '/a%3Fb'],
  ['/x/ ./..', '/x/'], // ' .' is not a dot segment
];

test('normalizePath normalises valid paths', () => {
  for (const [input, expected] of normalized) {
    assert.equal(normalizePath(input), expected, `normalizePath(${JSON.stringify(input)})`);
  }
});

const refused: ReadonlyArray<readonly [string, ErrorSpec]> = [
  ['', Errors.INVALID_PATH],
  ['a/b', Errors.INVALID_PATH],
  ['*', Errors.INVALID_PATH],
  ['http://example.com/', Errors.INVALID_PATH],
  ['example.com:443', Errors.INVALID_PATH],
  ['%2F', Errors.INVALID_PATH],
  ['/a#b', Errors.INVALID_PATH],
  ['/#', Errors.INVALID_PATH],
  ['/a\\b', Errors.INVALID_PATH],
  ['/\\evil.example', Errors.INVALID_PATH],
  ['/public\\..\\admin', Errors.INVALID_PATH],
  ['/a\u0000b', Errors.CONTROL_CHARACTER],
  ['/a\tb', Errors.CONTROL_CHARACTER],
  ['/a\r\nX-Evil: 1', Errors.CONTROL_CHARACTER],
  ['/a\u001fb', Errors.CONTROL_CHARACTER],
  ['/a\u007fb', Errors.CONTROL_CHARACTER],
  ['/%', Errors.INVALID_PATH],
  ['/a%', Errors.INVALID_PATH],
  ['/%4', Errors.INVALID_PATH],
  ['/%zz', Errors.INVALID_PATH],
  ['/%4g', Errors.INVALID_PATH],
  ['/%g4', Errors.INVALID_PATH],
  ['/%%41', Errors.INVALID_PATH],
  ['/%\u0661\u0662', Errors.INVALID_PATH], // non-ASCII digits are not hex
  ['/\ud800', Errors.INVALID_PATH],
  ['/\udc00x', Errors.INVALID_PATH],
  ['/\ud800\ud800', Errors.INVALID_PATH],
  ['/a%2Fb', Errors.ESCAPED_SLASH_IN_PATH],
  ['/a%2fb', Errors.ESCAPED_SLASH_IN_PATH],
  ['/admin%2F', Errors.ESCAPED_SLASH_IN_PATH],
  ['/a%5Cb', Errors.ESCAPED_SLASH_IN_PATH],
  ['/a%5cb', Errors.ESCAPED_SLASH_IN_PATH],
  ['/..%2f..%2fetc', Errors.ESCAPED_SLASH_IN_PATH],
  ['/a%00', Errors.CONTROL_CHARACTER],
  ['/a%0d%0aX-Evil:%201', Errors.CONTROL_CHARACTER],
  ['/a%09', Errors.CONTROL_CHARACTER],
  ['/a%1F', Errors.CONTROL_CHARACTER],
  ['/a%7f', Errors.CONTROL_CHARACTER],
  ['/a%7F', Errors.CONTROL_CHARACTER],
];

test('normalizePath refuses invalid paths with the matching catalogue entry', () => {
  for (const [input, expected] of refused) {
    assert.equal(normalizePath(input), expected, `normalizePath(${JSON.stringify(input)})`);
  }
});

test('normalizePath reports the highest-precedence problem wherever each one sits', () => {
  const cases: ReadonlyArray<readonly [string, ErrorSpec]> = [
    ['a#\u0000', Errors.INVALID_PATH], // no leading slash first
    ['/%2F%00\u0000%zz#', Errors.INVALID_PATH], // '#' outranks everything after it
    ['/%2F%00%zz\u0000', Errors.CONTROL_CHARACTER], // raw control outranks a malformed escape
    ['/%00%2F%zz', Errors.INVALID_PATH], // malformed escape outranks escaped slash
    ['/%00%2F', Errors.ESCAPED_SLASH_IN_PATH], // escaped slash outranks escaped control
    ['/%00%5c', Errors.ESCAPED_SLASH_IN_PATH],
  ];
  for (const [input, expected] of cases) {
    assert.equal(normalizePath(input), expected, `normalizePath(${JSON.stringify(input)})`);
  }
});

test('checkQuery refuses raw control characters and nothing else', () => {
  assert.equal(checkQuery(''), null);
  assert.equal(checkQuery('a=1&b=%00&c=%2F&d=#&e=\\&f=é'), null);
  assert.equal(checkQuery('a=%0D%0A'), null);
  for (const c of [0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x7f]) {
    const ch = String.fromCharCode(c);
    assert.equal(checkQuery(`a=1${ch}`), Errors.CONTROL_CHARACTER, `code 0x${c.toString(16)}`);
    assert.equal(checkQuery(`code=${'x'.repeat(300)}&state=${ch}`), Errors.CONTROL_CHARACTER, `long, code 0x${c.toString(16)}`);
  }
  assert.equal(checkQuery(`code=${'x'.repeat(300)}&state=%0D%0A`), null);
});

// ---- properties ----------------------------------------------------------

const PATH_ERRORS: readonly ErrorSpec[] = [Errors.INVALID_PATH, Errors.CONTROL_CHARACTER, Errors.ESCAPED_SLASH_IN_PATH];

/** Path-shaped strings rich in the characters the normaliser cares about. */
const pathPiece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('/', '/', '.', '..', 'a', 'B', 'z9', '-', '_', '~', '!', ':', '@', '+', ';', '=') },
  {
    weight: 4,
    arbitrary: fc.constantFrom('%2e', '%2E', '%41', '%7e', '%7E', '%3a', '%3A', '%20', '%25', '%c3%a9', '%E2%82%ac', '%23', '%3F'),
  },
  { weight: 2, arbitrary: fc.constantFrom(' ', '"', '?', '[', '|', 'é', '😀', '\ufffd', '`') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('%', '%4', '%zz', '%2f', '%5C', '%00', '%1f', '%7F', '#', '\\', '\t', '\u0000', '\u007f', '\ud800', '\udc00'),
  },
);
const pathLike = fc
  .tuple(fc.constantFrom('/', '/', '/', '/', '', 'a', '%2F'), fc.array(pathPiece, { maxLength: 24, size: 'max' }))
  .map(([head, pieces]) => head + pieces.join(''));

/** Paths without any refused content: every generated value normalises. */
const validPiece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('/', '/', '.', '..', 'a', 'B', 'z9', '-', '_', '~', '!', ':', '@', '+', ';', '=') },
  {
    weight: 4,
    arbitrary: fc.constantFrom('%2e', '%2E', '%41', '%7e', '%7E', '%3a', '%3A', '%20', '%25', '%c3%a9', '%E2%82%ac', '%23', '%3F'),
  },
  { weight: 2, arbitrary: fc.constantFrom(' ', '"', '?', '[', '|', 'é', '😀', '\ufffd', '`') },
);
const validPath = fc.array(validPiece, { maxLength: 24, size: 'max' }).map((pieces) => '/' + pieces.join(''));

/** Any UTF-16 code unit, lone surrogates included. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const arbitraryTarget = fc.oneof(
  pathLike,
  fc.string({ unit: anyUnit, maxLength: 40, size: 'max' }).map((s) => '/' + s),
  fc.string({ unit: 'binary', maxLength: 40, size: 'max' }),
);

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Decode every well-formed escape of an unreserved character, scanning as a URI parser does. */
function decodeUnreservedEscapes(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : escape;
  });
}

/**
 * An independent model of the rules, written as literally as possible:
 * regular expressions for the refusals, encodeURIComponent for encoding, and
 * the input/output-buffer loop of RFC 3986 §5.2.4 for dot segments.
 */
function model(target: string): string | ErrorSpec {
  if (!target.startsWith('/')) return Errors.INVALID_PATH;
  if (/[#\\]/.test(target)) return Errors.INVALID_PATH;
  if (/[\u0000-\u001f\u007f]/.test(target)) return Errors.CONTROL_CHARACTER;
  if (/%(?![0-9A-Fa-f]{2})/.test(target)) return Errors.INVALID_PATH;
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(target)) return Errors.INVALID_PATH;
  if (/%(2f|5c)/i.test(target)) return Errors.ESCAPED_SLASH_IN_PATH;
  if (/%([01][0-9a-f]|7f)/i.test(target)) return Errors.CONTROL_CHARACTER;

  const canonicalEscapes = target.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : escape.toUpperCase();
  });
  const encoded = canonicalEscapes.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (ch) => encodeURIComponent(ch));
  let input = encoded.replace(/\/+/g, '/');

  let output = '';
  const dropLastSegment = () => {
    output = output.slice(0, Math.max(output.lastIndexOf('/'), 0));
  };
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = '/' + input.slice(3);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) {
      input = '/' + input.slice(4);
      dropLastSegment();
    } else if (input === '/..') {
      input = '/';
      dropLastSegment();
    } else if (input === '.' || input === '..') input = '';
    else {
      const segment = /^\/?[^/]*/.exec(input)![0];
      output += segment;
      input = input.slice(segment.length);
    }
  }
  return output;
}

function isCanonical(path: string): boolean {
  if (!path.startsWith('/') || path.includes('//')) return false;
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) return false;
  if (/[\u0000-\u001f\u007f]/.test(path)) return false;
  if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/.test(path)) return false; // everything else is escaped
  for (const [, hex] of path.matchAll(/%(..)/g)) {
    if (!/^[0-9A-F]{2}$/.test(hex!)) return false; // malformed or lower-case
    const b = parseInt(hex!, 16);
    if (b === 0x2f || b === 0x5c || b < 0x20 || b === 0x7f) return false;
    if (UNRESERVED.test(String.fromCharCode(b))) return false;
  }
  return true;
}

test('normalizePath never throws and answers a canonical path or one of its three refusals', () => {
  fc.assert(
    fc.property(arbitraryTarget, (target) => {
      const result = normalizePath(target);
      if (typeof result === 'string') assert.ok(isCanonical(result), `${JSON.stringify(target)} -> ${JSON.stringify(result)}`);
      else assert.ok(PATH_ERRORS.includes(result), `${JSON.stringify(target)} -> ${result.code}`);
    }),
    { numRuns: 5000 },
  );
});

test('normalizePath agrees with a literal model of the rules and RFC 3986 §5.2.4', () => {
  fc.assert(
    fc.property(fc.oneof(pathLike, validPath), (target) => {
      assert.equal(normalizePath(target), model(target), JSON.stringify(target));
    }),
    { numRuns: 5000 },
  );
});

test('normalizePath is idempotent', () => {
  fc.assert(
    fc.property(fc.oneof(validPath, arbitraryTarget), (target) => {
      const once = normalizePath(target);
      if (typeof once === 'string') assert.equal(normalizePath(once), once);
    }),
    { numRuns: 5000 },
  );
});

test('normalizePath gives the same path whether unreserved characters arrive escaped or not', () => {
  fc.assert(
    fc.property(validPath, (target) => {
      const result = normalizePath(target);
      assert.equal(typeof result, 'string');
      assert.equal(normalizePath(decodeUnreservedEscapes(target)), result);
    }),
    { numRuns: 3000 },
  );
});

test('normalizePath result never depends on the case of escape hex digits', () => {
  fc.assert(
    fc.property(pathLike, (target) => {
      const upper = target.replace(/%([0-9A-Fa-f]{2})/g, (escape) => escape.toUpperCase());
      assert.equal(normalizePath(target), normalizePath(upper));
    }),
    { numRuns: 3000 },
  );
});

test('checkQuery refuses exactly the queries holding a raw control character', () => {
  fc.assert(
    fc.property(fc.string({ unit: anyUnit, maxLength: 64, size: 'max' }), (query) => {
      const hasControl = /[\u0000-\u001f\u007f]/.test(query);
      assert.equal(checkQuery(query), hasControl ? Errors.CONTROL_CHARACTER : null);
    }),
    { numRuns: 3000 },
  );
});
