import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { upstreamPath, upstreamTarget } from '../../src/upstream/rewrite-path.js';
import { makeRoute, makeTarget, type RouteOverrides } from '../helpers/route.js';

function rewrite(overrides: RouteOverrides, to: string, path: string): string {
  const route = makeRoute({ ...overrides, to });
  return upstreamPath(path, route, route.to[0]);
}

const regexRewrite = (pattern: RegExp, substitution: string): RouteOverrides => ({ regexRewrite: { pattern, substitution } });

// Pomerium config/envoyconfig/routes_test.go Test_buildPolicyRoutesRewrite: every
// policy there is `from: https://example.com` (match prefix "/") with
// `to: https://foo.example.com/bar`; the Envoy route it expects is applied here
// to a request for /service/svc1/some/path.
describe('upstreamPath: Pomerium Test_buildPolicyRoutesRewrite', () => {
  const to = 'https://foo.example.com/bar';
  const path = '/service/svc1/some/path';
  const cases: [name: string, overrides: RouteOverrides, expected: string][] = [
    ['the to path becomes prefix_rewrite "/bar"', {}, '/barservice/svc1/some/path'],
    ['prefix_rewrite "/foo" wins over the to path', { prefixRewrite: '/foo' }, '/fooservice/svc1/some/path'],
    [
      'regex_rewrite ^/service/([^/]+)(/.*)$ → \\2/instance/\\1 wins over the to path',
      regexRewrite(/^\/service\/([^/]+)(\/.*)$/, '\\2/instance/\\1'),
      '/some/path/instance/svc1',
    ],
    ['host_rewrite keeps prefix_rewrite "/bar"', { hostRewrite: 'literal.example.com' }, '/barservice/svc1/some/path'],
    ['host_rewrite_header keeps prefix_rewrite "/bar"', { hostRewriteHeader: 'host_header' }, '/barservice/svc1/some/path'],
  ];
  for (const [name, overrides, expected] of cases) {
    it(name, () => assert.equal(rewrite(overrides, to, path), expected));
  }
});

describe('upstreamPath: prefix rewrite replaces what the route matched', () => {
  const cases: [name: string, overrides: RouteOverrides, to: string, path: string, expected: string][] = [
    ['no rewrite, no to path: unchanged', {}, 'http://u', '/a/b', '/a/b'],
    ['Pomerium docs: to https://x/anything, /foo → /anythingfoo', {}, 'https://x/anything', '/foo', '/anythingfoo'],
    ['to path with trailing slash', {}, 'https://x/anything/', '/foo', '/anything/foo'],
    ['prefix route: the prefix is swapped', { prefix: '/app', prefixRewrite: '/v2' }, 'http://u', '/app/x', '/v2/x'],
    ['prefix route, string prefix', { prefix: '/admin', prefixRewrite: '/a' }, 'http://u', '/administrator', '/aistrator'],
    ['prefix route with the to path', { prefix: '/app/' }, 'http://u/base/', '/app/x', '/base/x'],
    ['path route: the whole path is swapped', { path: '/old', prefixRewrite: '/new' }, 'http://u', '/old', '/new'],
    ['regex route: the whole path is swapped (Envoy)', { regex: /^(?:\/r\/.*)$/, prefixRewrite: '/x' }, 'http://u', '/r/1/2', '/x'],
    ['prefix_rewrite "/" on a prefix route', { prefix: '/app/', prefixRewrite: '/' }, 'http://u', '/app/x', '/x'],
    ['an empty result becomes /', { prefix: '/app', prefixRewrite: '' }, 'http://u', '/app', '/'],
    ['a result without a leading slash gets one', { prefix: '/app/', prefixRewrite: '' }, 'http://u', '/app/x', '/x'],
  ];
  for (const [name, overrides, to, path, expected] of cases) {
    it(name, () => assert.equal(rewrite(overrides, to, path), expected));
  }
});

describe('upstreamPath: regex rewrite (Envoy RE2 substitution)', () => {
  const cases: [name: string, pattern: RegExp, substitution: string, path: string, expected: string][] = [
    ['every match is replaced', /o/, '0', '/foo/boo', '/f00/b00'],
    ['\\0 is the whole match', /[0-9]+/, '<\\0>', '/a/12/b/3', '/a/<12>/b/<3>'],
    ['\\1 followed by a digit stays group 1 plus the digit', /^\/(\w+)$/, '/\\10', '/ab', '/ab0'],
    ['\\\\ is a backslash', /^\/x$/, '/a\\\\b', '/x', '/a\\b'],
    ['$ is literal', /^\/x$/, '/$1$&', '/x', '/$1$&'],
    ['an unmatched optional group is empty', /^\/(a)?(b)$/, '/[\\1][\\2]', '/b', '/[][b]'],
    ['a group the pattern lacks inserts nothing', /^\/(a)$/, '/\\1\\2', '/a', '/a'],
    ['Envoy docs: /service/foo/v1/api → /v1/api/instance/foo', /^\/service\/([^/]+)(\/.*)$/, '\\2/instance/\\1', '/service/foo/v1/api', '/v1/api/instance/foo'],
    ['Envoy docs: one/two/three → /', /^.*$/, '/', '/one/two/three', '/'],
    ['no match leaves the path alone', /^\/nomatch$/, '/x', '/a', '/a'],
  ];
  for (const [name, pattern, substitution, path, expected] of cases) {
    it(name, () => assert.equal(rewrite(regexRewrite(pattern, substitution), 'http://u', path), expected));
  }

  it('a pattern already compiled with the g flag is used as is', () => {
    assert.equal(rewrite(regexRewrite(/a/g, 'b'), 'http://u', '/aa'), '/bb');
  });

  it('the target in use decides the to path', () => {
    const route = makeRoute({ to: [makeTarget('http://a/one'), makeTarget('http://b/two')] });
    assert.equal(upstreamPath('/x', route, route.to[0]), '/onex');
    assert.equal(upstreamPath('/x', route, route.to[1]), '/twox');
  });

  it('matches String.replace with the equivalent JS pattern for group-free substitutions', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '/', '$', '\\'), maxLength: 12 }), fc.constantFrom('x', 'yz', ''), (tail, sub) => {
        const path = '/' + tail;
        const route = makeRoute({ regexRewrite: { pattern: /a+/, substitution: sub } });
        const out = upstreamPath(path, route, route.to[0]);
        const expected = path.replace(/a+/g, () => sub);
        assert.equal(out, expected.startsWith('/') ? expected : '/' + expected);
      }),
    );
  });
});

describe('upstreamTarget', () => {
  it('appends the query only when there is one', () => {
    assert.equal(upstreamTarget('/a', ''), '/a');
    assert.equal(upstreamTarget('/a', 'b=1&c'), '/a?b=1&c');
  });
});
