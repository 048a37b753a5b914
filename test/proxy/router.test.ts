import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Router } from '../../src/proxy/router.js';
import type { Route } from '../../src/config/types.js';
import { makeFrom, makeRoute, type RouteOverrides } from '../helpers/route.js';

function names(routes: readonly Route[], router: Router, host: string, port: number, path: string): string | null {
  const r = router.match(host, port, path);
  if (r === null) return null;
  assert.ok(routes.includes(r));
  return r.name;
}

function table(defs: readonly (RouteOverrides & { name: string })[]): { routes: Route[]; router: Router } {
  const routes = defs.map((d, index) => makeRoute({ ...d, index }));
  return { routes, router: new Router(routes) };
}

describe('Router: path matchers', () => {
  const { routes, router } = table([
    { name: 'regex', from: 'https://a.example.com', regex: /^(?:\/api\/v[0-9]+\/.*)$/ },
    { name: 'exact', from: 'https://a.example.com', path: '/exact' },
    { name: 'prefix', from: 'https://a.example.com', prefix: '/admin' },
  ]);
  const cases: [path: string, expected: string | null][] = [
    ['/api/v1/users', 'regex'],
    ['/api/v1', null], // the regex must match the whole path
    ['/x/api/v1/users', null],
    ['/exact', 'exact'],
    ['/exact/', null],
    ['/exactly', null],
    ['/admin', 'prefix'],
    ['/administrator', 'prefix'], // Envoy string prefix, not a path segment
    ['/admin/users', 'prefix'],
    ['/Admin', null], // case-sensitive
    ['/', null],
  ];
  for (const [path, expected] of cases) {
    it(`${path} → ${expected ?? '404'}`, () => {
      assert.equal(names(routes, router, 'a.example.com', 443, path), expected);
    });
  }

  it('a route with no path matcher takes every path', () => {
    const t = table([{ name: 'all', from: 'https://b.example.com' }]);
    for (const p of ['/', '/x', '/a/b/c?']) assert.equal(names(t.routes, t.router, 'b.example.com', 443, p), 'all');
  });

  it('regex wins over path and prefix set on the same route (regex > path > prefix)', () => {
    const t = table([
      { name: 'r', from: 'https://c.example.com', regex: /^(?:\/r)$/, path: '/p', prefix: '/' },
      { name: 'p', from: 'https://c.example.com', path: '/p', prefix: '/q' },
    ]);
    assert.equal(names(t.routes, t.router, 'c.example.com', 443, '/r'), 'r');
    assert.equal(names(t.routes, t.router, 'c.example.com', 443, '/p'), 'p');
    assert.equal(names(t.routes, t.router, 'c.example.com', 443, '/q'), null);
  });
});

describe('Router: virtual hosts (exact host before wildcard, no fall-through)', () => {
  it('an exact host beats a wildcard route listed before it', () => {
    const t = table([
      { name: 'wild', from: 'https://*.example.com' },
      { name: 'exact', from: 'https://a.example.com' },
    ]);
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/'), 'exact');
    assert.equal(names(t.routes, t.router, 'b.example.com', 443, '/'), 'wild');
  });

  it('a miss inside an exact virtual host is a 404, not a fall-through to wildcards', () => {
    const t = table([
      { name: 'exact-admin', from: 'https://a.example.com', prefix: '/admin' },
      { name: 'wild', from: 'https://*.example.com' },
    ]);
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/admin/x'), 'exact-admin');
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/other'), null);
  });

  it('config order decides inside a virtual host: the first match wins', () => {
    const t = table([
      { name: 'first', from: 'https://a.example.com', prefix: '/' },
      { name: 'second', from: 'https://a.example.com', prefix: '/specific' },
    ]);
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/specific'), 'first');
  });

  it('config order decides among wildcard routes', () => {
    const t = table([
      { name: 'w1', from: 'https://*.example.com', prefix: '/one' },
      { name: 'w2', from: 'https://*.example.com' },
      { name: 'w3', from: 'https://*.example.com', prefix: '/one' },
    ]);
    assert.equal(names(t.routes, t.router, 'x.example.com', 443, '/one'), 'w1');
    assert.equal(names(t.routes, t.router, 'x.example.com', 443, '/two'), 'w2');
  });

  it('routes of different hosts interleaved in the file keep their own order', () => {
    const t = table([
      { name: 'a1', from: 'https://a.example.com', prefix: '/x' },
      { name: 'b1', from: 'https://b.example.com' },
      { name: 'a2', from: 'https://a.example.com' },
    ]);
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/x'), 'a1');
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/y'), 'a2');
    assert.equal(names(t.routes, t.router, 'b.example.com', 443, '/x'), 'b1');
  });

  it('an unknown host with no wildcard route is a 404', () => {
    const t = table([{ name: 'a', from: 'https://a.example.com' }]);
    assert.equal(names(t.routes, t.router, 'z.example.com', 443, '/'), null);
  });
});

describe('Router: ports', () => {
  it('a from without port matches any incoming port', () => {
    const t = table([{ name: 'any', from: 'https://a.example.com' }]);
    for (const port of [443, 80, 8443, 1]) assert.equal(names(t.routes, t.router, 'a.example.com', port, '/'), 'any');
  });

  it('a from with a port matches only that port', () => {
    const t = table([{ name: 'p8443', from: 'https://a.example.com:8443' }]);
    assert.equal(names(t.routes, t.router, 'a.example.com', 8443, '/'), 'p8443');
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/'), null);
  });

  it('an exact host whose routes all want another port does not claim the request', () => {
    const t = table([
      { name: 'p8443', from: 'https://a.example.com:8443' },
      { name: 'wild', from: 'https://*.example.com' },
    ]);
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/'), 'wild');
    assert.equal(names(t.routes, t.router, 'a.example.com', 8443, '/'), 'p8443');
  });

  it('at a port both a port-less and a port-specific route serve, config order decides among both', () => {
    const t = table([
      { name: 'any-admin', from: 'https://a.example.com', prefix: '/admin' },
      { name: 'p8443', from: 'https://a.example.com:8443' },
      { name: 'any', from: 'https://a.example.com' },
    ]);
    assert.equal(names(t.routes, t.router, 'a.example.com', 8443, '/admin'), 'any-admin');
    assert.equal(names(t.routes, t.router, 'a.example.com', 8443, '/x'), 'p8443');
    assert.equal(names(t.routes, t.router, 'a.example.com', 443, '/x'), 'any');
  });

  it('wildcard routes honour their port too', () => {
    const t = table([
      { name: 'w8443', from: 'https://*.example.com:8443' },
      { name: 'w', from: 'https://*.example.com' },
    ]);
    assert.equal(names(t.routes, t.router, 'x.example.com', 8443, '/'), 'w8443');
    assert.equal(names(t.routes, t.router, 'x.example.com', 443, '/'), 'w');
  });
});

// Pomerium config/from_test.go TestFromURLMatchesRequestURL and TestWildcardToRegex.
describe('Router: Pomerium from_test.go vectors', () => {
  const vectors: [from: string, host: string, port: number, matches: boolean][] = [
    ['https://from.example.com', 'from.example.com', 443, true],
    ['https://from.example.com', 'to.example.com', 443, false],
    ['https://*.example.com', 'from.example.com', 443, true],
    ['https://*.example.com', 'example.com', 443, false],
    ['https://*.example.com', 'from.example.com', 8443, true],
    ['https://*.internal.*.example.com', 'a.internal.b.example.com', 443, true],
  ];
  for (const [from, host, port, matches] of vectors) {
    it(`${from} ${matches ? 'matches' : 'does not match'} ${host}:${port}`, () => {
      const t = table([{ name: 'r', from }]);
      assert.equal(names(t.routes, t.router, host, port, '/some/path'), matches ? 'r' : null);
    });
  }

  it('a wildcard * also spans dots, as Pomerium turns it into (.*)', () => {
    const t = table([{ name: 'r', from: 'https://*.example.com' }]);
    assert.equal(names(t.routes, t.router, 'a.b.example.com', 443, '/'), 'r');
  });
});

// A reference written straight from the rules, without indexes or precomputation.
function naiveMatch(routes: readonly Route[], host: string, port: number, path: string): Route | null {
  const portOk = (r: Route): boolean => r.from.port === null || r.from.port === port;
  const pathOk = (r: Route): boolean =>
    r.regex !== null
      ? new RegExp(r.regex.source, r.regex.flags).test(path)
      : r.path !== null
        ? r.path === path
        : r.prefix !== null
          ? path.startsWith(r.prefix)
          : true;
  const vhost = routes.filter((r) => r.from.wildcard === null && r.from.host === host && portOk(r));
  if (vhost.length > 0) return vhost.find(pathOk) ?? null;
  return routes.find((r) => r.from.wildcard !== null && r.from.wildcard.test(host) && portOk(r) && pathOk(r)) ?? null;
}

describe('Router: property', () => {
  const hosts = ['a.example.com', 'b.example.com', 'example.com', 'a.b.example.com', 'other.org'];
  const fromHosts = [...hosts, '*.example.com', '*.b.example.com', 'a.*.com', '*'];
  const ports = [443, 8443, 80];
  const segments = ['', '/', '/a', '/ab', '/a/b', '/b', '/admin', '/administrator'];
  const routeArb = fc.record({
    host: fc.constantFrom(...fromHosts),
    port: fc.option(fc.constantFrom(...ports), { nil: undefined }),
    matcher: fc.oneof(
      fc.constant({}),
      fc.constantFrom(...segments.filter((s) => s !== '')).map((prefix) => ({ prefix })),
      fc.constantFrom(...segments.filter((s) => s !== '')).map((path) => ({ path })),
      fc.constantFrom(/^(?:\/a.*)$/, /^(?:\/[ab])$/, /^(?:.*b)$/).map((regex) => ({ regex })),
    ),
  });
  const requestArb = fc.record({
    host: fc.constantFrom(...hosts),
    port: fc.constantFrom(...ports),
    path: fc.constantFrom(...segments.filter((s) => s !== ''), '/a/b/c', '/admin/x'),
  });

  it('matches a naive reference implementation over random route tables', () => {
    fc.assert(
      fc.property(fc.array(routeArb, { maxLength: 12 }), fc.array(requestArb, { minLength: 1, maxLength: 10 }), (defs, requests) => {
        const routes = defs.map((d, index) =>
          makeRoute({ index, from: `https://${d.host}${d.port === undefined ? '' : ':' + d.port}`, ...d.matcher }),
        );
        const router = new Router(routes);
        for (const q of requests) {
          assert.equal(router.match(q.host, q.port, q.path), naiveMatch(routes, q.host, q.port, q.path));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('Router.servesHost', () => {
  it('exact and wildcard route hosts are served; others are not', () => {
    const router = new Router([
      makeRoute({ index: 0, from: makeFrom('https://app.example.com') }),
      makeRoute({ index: 1, from: makeFrom('https://*.apps.example.com') }),
    ]);
    assert.equal(router.servesHost('app.example.com'), true);
    assert.equal(router.servesHost('x.apps.example.com'), true);
    assert.equal(router.servesHost('apps.example.com'), false);
    assert.equal(router.servesHost('evil.example.com'), false);
  });
});
