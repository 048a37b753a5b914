import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildResponseHeaders, contentLengthOf, type UpstreamResponseHeaders } from '../../src/upstream/response-headers.js';
import { header, makeRoute, type RouteOverrides } from '../helpers/route.js';

function build(upstream: UpstreamResponseHeaders, overrides: RouteOverrides = {}): string[] {
  return buildResponseHeaders(upstream, makeRoute(overrides), 'req-1');
}

function values(out: readonly string[], name: string): string[] {
  const v: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (out[i].toLowerCase() === name) v.push(out[i + 1]);
  return v;
}

describe('buildResponseHeaders: what uWS must not receive twice', () => {
  const dropped = ['content-length', 'transfer-encoding', 'date', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];
  for (const name of dropped) {
    it(`drops ${name}`, () => assert.deepEqual(values(build({ [name]: '1' }), name), []));
  }

  it('drops the headers the Connection header names', () => {
    const out = build({ connection: 'close, X-Hop', 'x-hop': '1', 'x-end': '2' });
    assert.deepEqual(values(out, 'x-hop'), []);
    assert.deepEqual(values(out, 'x-end'), ['2']);
  });

  it('drops names listed by any of several Connection headers', () => {
    const out = build({ connection: ['x-a', 'x-b'], 'x-a': '1', 'x-b': '2' });
    assert.deepEqual(values(out, 'x-a'), []);
    assert.deepEqual(values(out, 'x-b'), []);
  });

  it('keeps expect, which is hop-by-hop only on requests', () => {
    assert.deepEqual(values(build({ expect: 'x' }), 'expect'), ['x']);
  });
});

describe('buildResponseHeaders: passing headers on', () => {
  it('keeps every set-cookie as its own entry, in order', () => {
    const out = build({ 'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly', 'c=3'] });
    assert.deepEqual(values(out, 'set-cookie'), ['a=1; Path=/', 'b=2; HttpOnly', 'c=3']);
  });

  it('keeps ordinary headers and skips undefined values', () => {
    const out = build({ 'content-type': 'text/html', etag: '"x"', 'x-none': undefined });
    assert.deepEqual(out, ['content-type', 'text/html', 'etag', '"x"', 'x-request-id', 'req-1']);
  });

  it('sets x-request-id to ours, replacing the upstream value', () => {
    assert.deepEqual(values(build({ 'x-request-id': 'upstream' }), 'x-request-id'), ['req-1']);
  });
});

describe('buildResponseHeaders: set_response_headers', () => {
  it('overwrites upstream values and keeps the configured case', () => {
    const out = build(
      { 'x-frame-options': 'ALLOWALL', 'content-type': 'text/plain' },
      { setResponseHeaders: [header('X-Frame-Options', 'SAMEORIGIN'), header('X-XSS-Protection', '1; mode=block')] },
    );
    assert.deepEqual(out, [
      'content-type',
      'text/plain',
      'X-Frame-Options',
      'SAMEORIGIN',
      'X-XSS-Protection',
      '1; mode=block',
      'x-request-id',
      'req-1',
    ]);
  });

  it('never writes framing headers or a second x-request-id from the configuration', () => {
    const out = build({}, { setResponseHeaders: [header('Content-Length', '3'), header('Date', 'x'), header('X-Request-Id', 'cfg')] });
    assert.deepEqual(out, ['x-request-id', 'req-1']);
  });
});

// Pomerium config/envoyconfig/lua_test.go TestLuaRewriteHeaders, then the edges of rewrite-headers.lua.
describe('buildResponseHeaders: rewrite_response_headers', () => {
  const rewrite = (h: string, prefix: string, value: string) => ({ header: h, lheader: h.toLowerCase(), prefix, value });

  it('passes TestLuaRewriteHeaders', () => {
    const out = build(
      { location: 'https://domain-with-dashes:8080/two/some/uri/' },
      {
        rewriteResponseHeaders: [
          rewrite('Location', 'https://domain-with-dashes:8080/two/', 'https://frontend/one/'),
          rewrite('SomeOtherHeader', 'x', 'y'),
        ],
      },
    );
    assert.deepEqual(values(out, 'location'), ['https://frontend/one/some/uri/']);
    assert.deepEqual(values(out, 'someotherheader'), []);
  });

  const cases: [name: string, value: string, prefix: string, replacement: string, expected: string][] = [
    ['a value without the prefix is unchanged', 'https://other/x', 'https://a/', 'https://b/', 'https://other/x'],
    ['the prefix is compared case-sensitively', 'HTTPS://a/x', 'https://a/', 'https://b/', 'HTTPS://a/x'],
    ['only the leading occurrence is replaced', 'https://a/https://a/', 'https://a/', 'https://b/', 'https://b/https://a/'],
    ['an empty prefix prepends the value', '/x', '', 'https://b', 'https://b/x'],
    ['the whole value can be the prefix', 'https://a/', 'https://a/', '/', '/'],
  ];
  for (const [name, value, prefix, replacement, expected] of cases) {
    it(name, () => {
      const out = build({ location: value }, { rewriteResponseHeaders: [rewrite('Location', prefix, replacement)] });
      assert.deepEqual(values(out, 'location'), [expected]);
    });
  }

  it('several rewrites of one header apply in config order', () => {
    const out = build({ location: 'a/x' }, { rewriteResponseHeaders: [rewrite('Location', 'a/', 'b/'), rewrite('location', 'b/', 'c/')] });
    assert.deepEqual(values(out, 'location'), ['c/x']);
  });

  it('rewrites every value of a repeated header', () => {
    const out = build({ link: ['http://a/1', 'http://a/2'] }, { rewriteResponseHeaders: [rewrite('Link', 'http://a/', 'https://b/')] });
    assert.deepEqual(values(out, 'link'), ['https://b/1', 'https://b/2']);
  });
});

describe('buildResponseHeaders: response splitting', () => {
  const bad = ['v\r\nX-Evil: 1', 'v\nX-Evil: 1', 'v\rX', 'v\0'];
  for (const v of bad) {
    it(`drops the value ${JSON.stringify(v)}`, () => {
      const out = build({ 'x-a': v, 'set-cookie': ['ok=1', v] });
      assert.deepEqual(values(out, 'x-a'), []);
      assert.deepEqual(values(out, 'set-cookie'), ['ok=1']);
    });
  }

  for (const name of ['x-a: 1', 'x a', 'x-a\r\nx-evil', '', 'x\u00e9', 'x(a)']) {
    it(`drops the name ${JSON.stringify(name)}`, () => {
      assert.deepEqual(build({ [name]: 'v' }), ['x-request-id', 'req-1']);
    });
  }

  it('drops a rewrite that would inject a line break', () => {
    const out = build({ location: '/x' }, { rewriteResponseHeaders: [{ header: 'Location', lheader: 'location', prefix: '/', value: '/\r\nX-Evil: 1\r\n' }] });
    assert.deepEqual(values(out, 'location'), []);
  });

  it('drops a configured response header with a line break', () => {
    const out = build({}, { setResponseHeaders: [header('X-A', 'a\r\nX-Evil: 1')] });
    assert.deepEqual(out, ['x-request-id', 'req-1']);
  });

  it('property: no written name or value can split the response', () => {
    const chars = fc.constantFrom('a', '-', ':', ' ', '\r', '\n', '\0', '\t', 'é', '"');
    const str = fc.string({ unit: chars, maxLength: 8 });
    fc.assert(
      fc.property(fc.dictionary(str, fc.oneof(str, fc.array(str, { maxLength: 3 }))), str, (upstream, rewriteValue) => {
        const keys = Object.keys(upstream);
        const out = build(upstream, {
          rewriteResponseHeaders: keys.length > 0 ? [{ header: keys[0], lheader: keys[0], prefix: '', value: rewriteValue }] : [],
        });
        for (let i = 0; i < out.length; i += 2) {
          assert.match(out[i], /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
          assert.doesNotMatch(out[i + 1], /[\r\n\0]/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('contentLengthOf', () => {
  const cases: [value: string | string[] | undefined, expected: number | null][] = [
    ['0', 0],
    ['12', 12],
    ['007', 7],
    ['9007199254740991', 9007199254740991],
    ['9007199254740992', null],
    ['99999999999999999', null],
    [undefined, null],
    ['', null],
    ['-1', null],
    ['+1', null],
    ['1.0', null],
    [' 1', null],
    ['1e3', null],
    ['0x10', null],
    [['12'], null],
    [['12', '12'], null],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${expected}`, () => {
      assert.equal(contentLengthOf({ 'content-length': value }), expected);
    });
  }
});
