import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_RESPONSE_HEADERS, globalResponseHeaders, headerEntry, isFieldValue, isToken, routeResponseHeaders } from '../../src/config/headers.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$/;

test('isToken accepts exactly RFC 9110 tokens', () => {
  for (const name of ['X-Frame-Options', 'x_y', "a!#$%&'*+-.^_`|~z", '0']) assert.ok(isToken(name), name);
  for (const name of ['', 'a b', 'a:b', 'a\r\nb', 'ä', '(x)', 'a/b', 'a"b', 'a,b', 'a;b', '\u0000']) assert.ok(!isToken(name), JSON.stringify(name));
  fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 12 }), (s) => assert.equal(isToken(s), TOKEN.test(s))));
});

test('isFieldValue refuses CR, LF, NUL, other control characters and non-Latin-1', () => {
  for (const value of ['', 'SAMEORIGIN', '1; mode=block', 'a\tb', 'caf\u00e9', '"quoted"']) assert.ok(isFieldValue(value), value);
  for (const value of ['a\rb', 'a\nb', 'a\u0000b', 'a\u0001b', 'a\u007fb', 'x\r\nSet-Cookie: y', '\u20ac']) {
    assert.ok(!isFieldValue(value), JSON.stringify(value));
  }
  fc.assert(
    fc.property(fc.string(), fc.constantFrom('\r', '\n', '\u0000'), fc.string(), (a, bad, b) => {
      assert.equal(isFieldValue(a + bad + b), false);
    }),
  );
});

const names = (headers: readonly { name: string; value: string }[]): string[] => headers.map((h) => `${h.name}: ${h.value}`);
const XFO = 'X-Frame-Options: SAMEORIGIN';
const XSS = 'X-XSS-Protection: 1; mode=block';
const HSTS = 'Strict-Transport-Security: max-age=31536000; includeSubDomains; preload';

test('without global set_response_headers the defaults apply, HSTS only when certificates are configured', () => {
  assert.deepEqual(names(globalResponseHeaders(null, true)), [XFO, XSS, HSTS]);
  assert.deepEqual(names(globalResponseHeaders(null, false)), [XFO, XSS]);
  assert.equal(DEFAULT_RESPONSE_HEADERS.length, 3);
});

test('global set_response_headers replaces the defaults (HSTS kept only if listed); disable empties it', () => {
  const custom = { entries: [headerEntry('X-Custom', 'a')], disable: false };
  assert.deepEqual(names(globalResponseHeaders(custom, true)), ['X-Custom: a']);
  assert.deepEqual(names(globalResponseHeaders({ entries: [headerEntry('X-Custom', 'a')], disable: true }, true)), []);
  assert.deepEqual(names(globalResponseHeaders({ entries: [], disable: false }, true)), []);
});

const cases: ReadonlyArray<readonly [string, readonly string[], { entries: string[][]; disable: boolean } | null, readonly string[]]> = [
  ['no route headers: the global set', [XFO], null, [XFO]],
  ['a new header is added', [XFO], { entries: [['X-Route', '1']], disable: false }, [XFO, 'X-Route: 1']],
  ['the same name (any case) replaces the global value in place', [XFO, XSS], { entries: [['x-frame-options', 'DENY']], disable: false }, ['x-frame-options: DENY', XSS]],
  ['route disable clears everything, its own headers too', [XFO], { entries: [['X-Route', '1']], disable: true }, []],
  ['global disable (empty global set) still lets route headers through', [], { entries: [['X-Route', '1']], disable: false }, ['X-Route: 1']],
];

test('route set_response_headers merge over the global set as Pomerium’s GetSetResponseHeadersForPolicy does', () => {
  for (const [what, global, route, expected] of cases) {
    const globalEntries = global.map((line) => {
      const [name, value] = line.split(': ') as [string, string];
      return headerEntry(name, value);
    });
    const routeMap = route === null ? null : { entries: route.entries.map(([n, v]) => headerEntry(n as string, v as string)), disable: route.disable };
    assert.deepEqual(names(routeResponseHeaders(globalEntries, routeMap)), expected, what);
  }
});
