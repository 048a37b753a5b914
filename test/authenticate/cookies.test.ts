import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clearCookie, readCookies, serializeCookie, type CookieAttributes } from '../../src/authenticate/cookies.js';
import { stripSessionCookie } from '../../src/proxy/clean-upstream.js';

const cookieHeaders = (...values: string[]): string[] => values.flatMap((v) => ['cookie', v]);

describe('readCookies', () => {
  const cases: [header: string[], expected: string[]][] = [
    [cookieHeaders('_pomerium=abc'), ['abc']],
    [cookieHeaders('a=1; _pomerium=abc; b=2'), ['abc']],
    [cookieHeaders('a=1;_pomerium=abc;b=2'), ['abc']],
    // every copy, in order, across headers
    [cookieHeaders('_pomerium=one; _pomerium=two', 'x=1; _pomerium=three'), ['one', 'two', 'three']],
    // exact names only
    [cookieHeaders('_pomerium_csrf=x; x_pomerium=y; _Pomerium=z; pomerium=w'), []],
    // the names the stripper also treats as ours (spaces and tabs trimmed)
    [cookieHeaders('_pomerium =a', ' _pomerium=b', '\t_pomerium\t=c'), ['a', 'b', 'c']],
    // values: trimmed, one pair of quotes removed, '=' kept
    [cookieHeaders('_pomerium= abc '), ['abc']],
    [cookieHeaders('_pomerium="abc"'), ['abc']],
    [cookieHeaders('_pomerium=""'), ['']],
    [cookieHeaders('_pomerium="'), ['"']],
    [cookieHeaders('_pomerium="a"b"'), ['a"b']],
    [cookieHeaders('_pomerium=a=b=='), ['a=b==']],
    [cookieHeaders('_pomerium='), ['']],
    // a piece without '=' has no value
    [cookieHeaders('_pomerium; a=1'), []],
    // a value never contains ';'
    [cookieHeaders('a="x;_pomerium=y"'), ['y"']],
    [cookieHeaders(''), []],
    [['x-cookie', '_pomerium=a', 'set-cookie', '_pomerium=b', 'Cookie', '_pomerium=c'], []],
  ];
  for (const [headers, expected] of cases) {
    it(`${JSON.stringify(headers.filter((_, i) => i % 2 === 1))} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(readCookies(headers, '_pomerium'), expected);
    });
  }

  it('only reads cookies the upstream stripper removes', () => {
    const piece = fc.constantFrom('_pomerium=v', '_pomerium', ' _pomerium =w', '\t_pomerium\t=x', '_pomerium_x=1', 'a=_pomerium=2', '"', ' ', '=', ';', 'b=3');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.constantFrom(';', '; ', ';;', ''), (pieces, sep) => {
        const header = pieces.join(sep);
        assert.deepEqual(readCookies(['cookie', stripSessionCookie(header, '_pomerium')], '_pomerium'), []);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads a header of many pieces without "=" in linear time', () => {
    const header = 'a;'.repeat(200_000) + '_pomerium=x=y';
    const start = process.hrtime.bigint();
    assert.deepEqual(readCookies(['cookie', header], '_pomerium'), ['x=y']);
    assert.ok(Number(process.hrtime.bigint() - start) < 200e6, 'took more than 200 ms');
  });

  it('never throws on any header', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (header) => {
        for (const v of readCookies(['cookie', header], '_pomerium')) assert.equal(typeof v, 'string');
      }),
    );
  });
});

const base: CookieAttributes = { httpOnly: true, secure: true, sameSite: 'lax' };

describe('serializeCookie', () => {
  const cases: [name: string, value: string, attributes: CookieAttributes, expected: string][] = [
    ['_pomerium', 'v1.abc.def', base, '_pomerium=v1.abc.def; Path=/; HttpOnly; Secure; SameSite=Lax'],
    ['_pomerium', 'x', { ...base, sameSite: '' }, '_pomerium=x; Path=/; HttpOnly; Secure'],
    ['_pomerium', 'x', { ...base, sameSite: 'strict' }, '_pomerium=x; Path=/; HttpOnly; Secure; SameSite=Strict'],
    ['_pomerium', 'x', { httpOnly: false, secure: false, sameSite: 'none' }, '_pomerium=x; Path=/; Secure; SameSite=None'],
    ['_pomerium', 'x', { httpOnly: false, secure: false, sameSite: '' }, '_pomerium=x; Path=/'],
    [
      '_pomerium',
      'x',
      { ...base, domain: '.example.com', path: '/oauth2/callback', maxAgeSeconds: 300, expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) },
      '_pomerium=x; Path=/oauth2/callback; Domain=.example.com; Max-Age=300; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; SameSite=Lax',
    ],
    ['__Host-session', 'x', base, '__Host-session=x; Path=/; HttpOnly; Secure; SameSite=Lax'],
    ['__Secure-s', 'x', { ...base, domain: 'example.com' }, '__Secure-s=x; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax'],
    ["!#$%&'*+-.^_`|~09azAZ", "!#$%&'()*+-./:<=>?@[]^_`{|}~", base, "!#$%&'*+-.^_`|~09azAZ=!#$%&'()*+-./:<=>?@[]^_`{|}~; Path=/; HttpOnly; Secure; SameSite=Lax"],
    ['_pomerium', '', base, '_pomerium=; Path=/; HttpOnly; Secure; SameSite=Lax'],
  ];
  for (const [name, value, attributes, expected] of cases) {
    it(expected, () => assert.equal(serializeCookie(name, value, attributes), expected));
  }

  const invalid: [label: string, make: () => string][] = [
    ['an empty name', () => serializeCookie('', 'x', base)],
    ...[' ', '\t', '=', ';', ',', '"', '(', ')', '/', ':', '@', '[', '\\', '{', 'é', '\x00', '\x7f'].map(
      (c): [string, () => string] => [`${JSON.stringify(c)} in the name`, () => serializeCookie(`a${c}b`, 'x', base)],
    ),
    ...[' ', '\t', '"', ',', ';', '\\', 'é', '\x00', '\x7f', '\n'].map(
      (c): [string, () => string] => [`${JSON.stringify(c)} in the value`, () => serializeCookie('a', `x${c}y`, base)],
    ),
    ['a quoted value', () => serializeCookie('a', '"x"', base)],
    ['a relative path', () => serializeCookie('a', 'x', { ...base, path: 'x' })],
    ['an empty path', () => serializeCookie('a', 'x', { ...base, path: '' })],
    ['a path with ;', () => serializeCookie('a', 'x', { ...base, path: '/a;Domain=evil' })],
    ['a path with a newline', () => serializeCookie('a', 'x', { ...base, path: '/a\nb' })],
    ['a domain with ;', () => serializeCookie('a', 'x', { ...base, domain: 'example.com; Secure' })],
    ['a domain with a space', () => serializeCookie('a', 'x', { ...base, domain: 'exa mple.com' })],
    ['an empty domain', () => serializeCookie('a', 'x', { ...base, domain: '' })],
    ['a domain of dots', () => serializeCookie('a', 'x', { ...base, domain: '..' })],
    ['a negative Max-Age', () => serializeCookie('a', 'x', { ...base, maxAgeSeconds: -1 })],
    ['a fractional Max-Age', () => serializeCookie('a', 'x', { ...base, maxAgeSeconds: 1.5 })],
    ['an infinite Max-Age', () => serializeCookie('a', 'x', { ...base, maxAgeSeconds: Infinity })],
    ['an invalid date', () => serializeCookie('a', 'x', { ...base, expires: new Date(NaN) })],
    ['__Secure- without Secure', () => serializeCookie('__Secure-a', 'x', { ...base, secure: false })],
    ['__secure- (any case) without Secure', () => serializeCookie('__secure-a', 'x', { ...base, secure: false })],
    ['__Host- with a Domain', () => serializeCookie('__Host-a', 'x', { ...base, domain: 'example.com' })],
    ['__Host- with another path', () => serializeCookie('__Host-a', 'x', { ...base, path: '/x' })],
    ['__Host- without Secure', () => serializeCookie('__Host-a', 'x', { ...base, secure: false })],
  ];
  for (const [label, make] of invalid) {
    it(`throws on ${label}`, () => assert.throws(make));
  }

  it('round-trips through readCookies for any valid name and value', () => {
    const tchar = fc.constantFrom(..."!#$%&'*+-.^_`|~azAZ09");
    const octet = fc.constantFrom(...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter((c) => !'",;\\'.includes(c)));
    fc.assert(
      fc.property(fc.string({ unit: tchar, minLength: 1, maxLength: 12 }), fc.string({ unit: octet, maxLength: 40 }), (name, value) => {
        const setCookie = serializeCookie(name, value, { ...base, maxAgeSeconds: 60 });
        // The browser sends back the name=value pair, among others.
        const pair = setCookie.slice(0, setCookie.indexOf(';'));
        assert.deepEqual(readCookies(['cookie', `other=1; ${pair}; more=2`], name), name === 'other' ? ['1', value] : name === 'more' ? [value, '2'] : [value]);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('clearCookie', () => {
  it('sets an empty value, Max-Age=0 and an Expires in the past, keeping path and domain', () => {
    assert.equal(
      clearCookie('_pomerium', { ...base, domain: 'example.com' }),
      '_pomerium=; Path=/; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    );
  });
});
