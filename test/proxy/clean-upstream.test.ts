import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPomeriumAuthorization, stripSessionCookie, stripSessionQuery } from '../../src/proxy/clean-upstream.js';

describe('stripSessionCookie', () => {
  it('passes Pomerium TestLuaCleanUpstream byte for byte', () => {
    assert.equal(
      stripSessionCookie(
        'cookieA=aaa_pomerium=123; cookieb=bbb; _pomerium=ey;_pomerium_test1=stillhere ; _pomerium_test2=stillhere',
        '_pomerium',
      ),
      'cookieA=aaa_pomerium=123; cookieb=bbb; _pomerium_test1=stillhere ; _pomerium_test2=stillhere',
    );
  });

  const cases: [input: string, expected: string][] = [
    ['_pomerium=x', ''],
    ['_pomerium=x; a=1', 'a=1'],
    ['a=1; _pomerium=x', 'a=1'],
    ['a=1; _pomerium=x; b=2', 'a=1; b=2'],
    // every copy goes
    ['_pomerium=x; a=1; _pomerium=y;_pomerium=z', 'a=1'],
    // similar names stay
    ['_pomerium_csrf=c; _pomerium_authenticate=d; x_pomerium=e', '_pomerium_csrf=c; _pomerium_authenticate=d; x_pomerium=e'],
    ['a=_pomerium=x', 'a=_pomerium=x'],
    // a piece without '=' is a cookie named by the whole piece
    ['_pomerium; a=1', 'a=1'],
    // names that parsers trim are our cookie too (stricter than the lua)
    ['_pomerium =x; a=1', 'a=1'],
    ['\t_pomerium=x; a=1', 'a=1'],
    ['a=1;   _pomerium=x', 'a=1'],
    // the lua's normalisation of what it keeps: empty pieces vanish, leading spaces go, '; ' joins
    ['a=1;;b=2;_pomerium=x', 'a=1; b=2'],
    ['a=1;b=2 ;  c=3; _pomerium=x', 'a=1; b=2 ; c=3'],
    ['a=1; ; b=2; _pomerium=x', 'a=1; ; b=2'],
    // values keep their bytes, '=' and all
    ['a="q=1; _pomerium"; _pomerium=x', 'a="q=1; _pomerium"'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(stripSessionCookie(input, '_pomerium'), expected);
    });
  }

  it('returns the very same string when the name does not occur', () => {
    const s = 'a=1;b=2;;  c=3';
    assert.equal(stripSessionCookie(s, '_pomerium'), s);
  });

  it('honours a configured cookie name', () => {
    assert.equal(stripSessionCookie('sess=1; _pomerium=2', 'sess'), '_pomerium=2');
  });

  const nameArb = fc.constantFrom('_pomerium', '_pomerium_csrf', 'pomerium', '_pomerium ', ' _pomerium', '\t_pomerium', ' ', 'a', 'b_', '=', '');
  const valueArb = fc.string({ unit: fc.constantFrom('a', '=', ' ', '_pomerium', '"', ','), maxLength: 6 });
  const pieceArb = fc.tuple(nameArb, fc.option(valueArb, { nil: undefined })).map(([n, v]) => (v === undefined ? n : `${n}=${v}`));
  const sepArb = fc.constantFrom(';', '; ', ';  ', ';;', '; ; ', ' ;', ';\t');

  // clean-upstream.lua written out literally, with the name compared trimmed.
  function luaReference(cookie: string, name: string): string {
    let result = '';
    for (const m of cookie.matchAll(/[^;]+/g)) {
      const c = m[0].replace(/^ +/, '');
      const cname = /^[^=]+/.exec(c)?.[0];
      if (cname?.replace(/^[ \t]+|[ \t]+$/g, '') !== name) result = result.length > 0 ? result + '; ' + c : result + c;
    }
    return result;
  }

  it('matches a literal port of clean-upstream.lua whenever the name occurs', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(pieceArb, sepArb), { maxLength: 8 }), (parts) => {
        const input = parts.map(([p, s], i) => (i === 0 ? p : s + p)).join('');
        const out = stripSessionCookie(input, '_pomerium');
        assert.equal(out, input.includes('_pomerium') ? luaReference(input, '_pomerium') : input);
      }),
      { numRuns: 5000 },
    );
  });

  it('never leaves a cookie named cookieName, and keeps the other cookies in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(pieceArb, sepArb), { maxLength: 8 }), (parts) => {
        const input = parts.map(([p, s], i) => (i === 0 ? p : s + p)).join('');
        const out = stripSessionCookie(input, '_pomerium');
        const nameOf = (piece: string): string => piece.split('=')[0].trim();
        const pieces = (s: string): string[] =>
          s
            .split(';')
            .filter((p) => p.length > 0)
            .map((p) => p.replace(/^ +/, ''));
        const kept = pieces(out);
        for (const p of kept) assert.notEqual(nameOf(p), '_pomerium');
        if (out === input) return; // fast path: nothing named like us
        const expected = pieces(input).filter((p) => nameOf(p) !== '_pomerium');
        assert.deepEqual(kept.filter((p) => p !== ''), expected.filter((p) => p !== ''));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('stripSessionQuery', () => {
  const cases: [input: string, expected: string][] = [
    ['', ''],
    ['a=1', 'a=1'],
    ['pomerium_session=x', ''],
    ['pomerium_session=x&a=1', 'a=1'],
    ['a=1&pomerium_session=x', 'a=1'],
    ['a=1&pomerium_session=x&b=2', 'a=1&b=2'],
    ['pomerium_session=x&pomerium_session=y&a=1&pomerium_session', 'a=1'],
    ['pomerium_session', ''],
    // percent-encoded names are the same parameter
    ['pomerium%5Fsession=x&a=1', 'a=1'],
    ['pomerium%5fsession=x&a=1', 'a=1'],
    ['%70%6F%6D%65%72%69%75%6D%5F%73%65%73%73%69%6F%6E=x&a=1', 'a=1'],
    // other bytes untouched: encoding, empty pieces, order, similar names
    ['a=%20&&b=c%3D&pomerium_session=x&c', 'a=%20&&b=c%3D&c'],
    ['&pomerium_session=x&b', '&b'],
    ['a=1&', 'a=1&'],
    ['pomerium_sessions=x&xpomerium_session=y&pomerium_session_=z', 'pomerium_sessions=x&xpomerium_session=y&pomerium_session_=z'],
    ['Pomerium_Session=x', 'Pomerium_Session=x'],
    ['a=pomerium_session&b=%41', 'a=pomerium_session&b=%41'],
    // malformed escapes are not our name
    ['pomerium%5Gsession=x&pomerium%5=y', 'pomerium%5Gsession=x&pomerium%5=y'],
    ['pomerium_session%=x', 'pomerium_session%=x'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(stripSessionQuery(input), expected);
    });
  }

  it('never leaves a pomerium_session parameter and keeps the others byte for byte, in order', () => {
    const keyArb = fc.constantFrom('pomerium_session', 'pomerium%5Fsession', 'pomerium%5fsession', 'a', 'b%20c', '', 'pomerium', 'x=pomerium_session');
    const paramArb = fc.tuple(keyArb, fc.option(fc.constantFrom('1', '', '%', '=', 'pomerium_session'), { nil: undefined }));
    fc.assert(
      fc.property(fc.array(paramArb, { maxLength: 8 }), (params) => {
        const segments = params.map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
        const out = stripSessionQuery(segments.join('&'));
        const isOurs = (s: string): boolean => decodeURIComponent(s.split('=')[0]) === 'pomerium_session';
        const expected = segments.filter((s) => !isOurs(s));
        assert.equal(out, expected.join('&'));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isPomeriumAuthorization', () => {
  const cases: [value: string, expected: boolean][] = [
    ['Pomerium JWT', true],
    ['pomerium JWT', true],
    ['POMERIUM eyJ', true],
    ['Pomerium', true],
    ['Pomerium\teyJ', true],
    ['  Pomerium eyJ', true],
    ['Bearer Pomerium-eyJ', true],
    ['bearer pomerium-eyJ', true],
    ['BEARER   POMERIUM-eyJ', true],
    ['Bearer eyJ', false],
    ['Bearer Pomerium', false],
    ['Bearer PomeriumeyJ', false],
    ['BearerPomerium-eyJ', false],
    ['Basic dXNlcjpwYXNz', false],
    ['PomeriumX eyJ', false],
    ['Pomerium-eyJ', false],
    ['', false],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${expected}`, () => {
      assert.equal(isPomeriumAuthorization(value), expected);
    });
  }
});
