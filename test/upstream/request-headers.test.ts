import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ProxyRequest } from '../../src/proxy/request.js';
import type { Route } from '../../src/config/types.js';
import { buildUpstreamHeaders, type UpstreamHeaderOptions } from '../../src/upstream/request-headers.js';
import { header, makeRoute, type RouteOverrides } from '../helpers/route.js';

const OPTS: UpstreamHeaderOptions = { cookieName: '_pomerium', xffNumTrustedHops: 0, skipXffAppend: false, claimHeaderNames: new Set(['x-email']) };

function request(headers: readonly [string, string][], overrides: Partial<ProxyRequest> = {}): ProxyRequest {
  const hasHost = headers.some(([n]) => n === 'host');
  return {
    method: 'GET',
    path: '/',
    query: '',
    host: 'app.example.com',
    port: null,
    headers: (hasHost ? headers : [['host', 'app.example.com'] as [string, string], ...headers]).flat(),
    remoteAddress: '192.0.2.5',
    secure: true,
    requestId: 'req-1',
    ...overrides,
  };
}

function build(
  headers: readonly [string, string][],
  routeOverrides: RouteOverrides = {},
  opts: Partial<UpstreamHeaderOptions> = {},
  reqOverrides: Partial<ProxyRequest> = {},
): string[] {
  const route = makeRoute({ to: 'http://upstream.internal:8080', ...routeOverrides });
  return buildUpstreamHeaders(request(headers, reqOverrides), route, route.to[0], { ...OPTS, ...opts });
}

function values(out: readonly string[], name: string): string[] {
  const v: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (out[i] === name) v.push(out[i + 1]);
  return v;
}

function one(out: readonly string[], name: string): string | undefined {
  const v = values(out, name);
  assert.ok(v.length <= 1, `more than one ${name}: ${JSON.stringify(v)}`);
  return v[0];
}

describe('buildUpstreamHeaders: hop-by-hop', () => {
  for (const name of ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']) {
    it(`drops ${name}`, () => {
      assert.deepEqual(values(build([[name, 'x']]), name), []);
    });
  }

  it('drops the headers the Connection header names', () => {
    const out = build([
      ['connection', 'keep-alive, X-Secret'],
      ['connection', 'x-other'],
      ['x-secret', '1'],
      ['x-other', '2'],
      ['x-kept', '3'],
    ]);
    assert.deepEqual(values(out, 'x-secret'), []);
    assert.deepEqual(values(out, 'x-other'), []);
    assert.deepEqual(values(out, 'x-kept'), ['3']);
  });

  it('a Connection header cannot remove Host or Content-Length', () => {
    const out = build([
      ['host', 'App.example.com:443'],
      ['connection', 'host, content-length'],
      ['content-length', '5'],
    ]);
    assert.deepEqual(values(out, 'content-length'), ['5']);
    assert.equal(one(out, 'host'), 'upstream.internal:8080');
    assert.equal(one(out, 'x-forwarded-host'), 'App.example.com:443');
  });

  it('keeps content-length and ordinary headers in order', () => {
    const out = build([
      ['accept', 'text/html'],
      ['content-length', '12'],
      ['accept', 'application/json'],
    ]);
    assert.deepEqual(out.slice(0, 8), [
      'host',
      'upstream.internal:8080',
      'accept',
      'text/html',
      'content-length',
      '12',
      'accept',
      'application/json',
    ]);
  });
});

describe('buildUpstreamHeaders: request id', () => {
  it('replaces a client x-request-id with ours', () => {
    assert.deepEqual(values(build([['x-request-id', 'forged']]), 'x-request-id'), ['req-1']);
  });
  it('sets ours when the client sent none', () => {
    assert.deepEqual(values(build([]), 'x-request-id'), ['req-1']);
  });
});

describe('buildUpstreamHeaders: our credentials are removed', () => {
  const cases: [name: string, headers: [string, string][], cookie: string | undefined, authorization: string | undefined][] = [
    ['the session cookie, keeping the others', [['cookie', 'a=1; _pomerium=s; b=2']], 'a=1; b=2', undefined],
    ['the session cookie across several Cookie headers', [['cookie', 'a=1; _pomerium=s'], ['cookie', '_pomerium=t; b=2']], 'a=1; b=2', undefined],
    ['several Cookie headers are joined with "; "', [['cookie', 'a=1'], ['cookie', 'b=2']], 'a=1; b=2', undefined],
    ['the Cookie header when nothing else is left', [['cookie', '_pomerium=s'], ['cookie', '_pomerium=t']], undefined, undefined],
    ['cookies pass byte for byte when ours is absent', [['cookie', 'a=1;b=2;;  c="x; y"']], 'a=1;b=2;;  c="x; y"', undefined],
    ['Authorization: Pomerium', [['authorization', 'Pomerium eyJ']], undefined, undefined],
    ['Authorization: pomerium (any case)', [['authorization', 'POMERIUM eyJ']], undefined, undefined],
    ['Authorization: Bearer Pomerium-', [['authorization', 'Bearer Pomerium-eyJ']], undefined, undefined],
    ['but not other Authorization values', [['authorization', 'Bearer app-token']], undefined, 'Bearer app-token'],
  ];
  for (const [name, headers, cookie, authorization] of cases) {
    it(name, () => {
      const out = build(headers);
      assert.equal(one(out, 'cookie'), cookie);
      assert.equal(one(out, 'authorization'), authorization);
    });
  }

  it('a configured cookie name is the one removed', () => {
    const out = build([['cookie', '_pomerium=keep; sess=drop']], {}, { cookieName: 'sess' });
    assert.equal(one(out, 'cookie'), '_pomerium=keep');
  });

  it('drops x-pomerium-authorization whatever its value', () => {
    assert.deepEqual(values(build([['x-pomerium-authorization', 'anything']]), 'x-pomerium-authorization'), []);
  });
});

describe('buildUpstreamHeaders: identity headers only we may set', () => {
  const names = [
    'x-pomerium-jwt-assertion',
    'x-pomerium-jwt-assertion-for',
    'x-pomerium-claim-email',
    'x-pomerium-claim-groups',
    'x-pomerium-claim-',
    'x-pomerium-reproxy-policy',
    'x-pomerium-reproxy-policy-hmac',
  ];
  for (const name of names) {
    it(`drops a client ${name}`, () => {
      assert.deepEqual(values(build([[name, 'forged']]), name), []);
    });
  }
  it('keeps unrelated x-pomerium-like names', () => {
    const out = build([['x-pomerium-claimant', 'a'], ['x-pomerium-jwt', 'b']]);
    assert.deepEqual(values(out, 'x-pomerium-claimant'), ['a']);
    assert.deepEqual(values(out, 'x-pomerium-jwt'), ['b']);
  });
});

describe('buildUpstreamHeaders: Host', () => {
  const cases: [name: string, overrides: RouteOverrides, headers: [string, string][], host: string][] = [
    ['auto: the target authority by default', {}, [], 'upstream.internal:8080'],
    ['auto: default port omitted', { to: 'https://upstream.internal' }, [], 'upstream.internal'],
    ['preserve_host_header: the client Host verbatim', { preserveHostHeader: true }, [['host', 'App.Example.com:443']], 'App.Example.com:443'],
    ['host_rewrite: the literal', { hostRewrite: 'literal.example.com', preserveHostHeader: true }, [], 'literal.example.com'],
    ['host_rewrite beats host_rewrite_header', { hostRewrite: 'literal.example.com', hostRewriteHeader: 'x-host' }, [['x-host', 'h.example.com']], 'literal.example.com'],
    ['host_rewrite_header: that header value', { hostRewriteHeader: 'x-host', preserveHostHeader: true }, [['x-host', 'h.example.com']], 'h.example.com'],
    ['host_rewrite_header absent: auto', { hostRewriteHeader: 'x-host' }, [], 'upstream.internal:8080'],
    ['host_rewrite_header empty: auto', { hostRewriteHeader: 'x-host' }, [['x-host', '']], 'upstream.internal:8080'],
    ['host_rewrite_header absent with preserve_host_header: the client Host', { hostRewriteHeader: 'x-host', preserveHostHeader: true }, [], 'app.example.com'],
    ['set_request_headers Host outranks the host options', { hostRewrite: 'literal.example.com', setRequestHeaders: [header('Host', 'set.example.com')] }, [], 'set.example.com'],
  ];
  for (const [name, overrides, headers, host] of cases) {
    it(name, () => {
      const out = build(headers, overrides);
      assert.equal(one(out, 'host'), host);
      assert.equal(out[0], 'host');
    });
  }

  it('remove_request_headers cannot remove Host', () => {
    assert.equal(one(build([], { removeRequestHeaders: ['host'] }), 'host'), 'upstream.internal:8080');
  });

  it('the host_rewrite_header header itself is still forwarded', () => {
    assert.deepEqual(values(build([['x-host', 'h']], { hostRewriteHeader: 'x-host' }), 'x-host'), ['h']);
  });
});

describe('buildUpstreamHeaders: X-Forwarded-Host', () => {
  const cases: [name: string, overrides: RouteOverrides, hops: number, headers: [string, string][], xfh: string | undefined][] = [
    ['set to the client Host on the default auto rewrite', {}, 0, [], 'app.example.com'],
    ['set on host_rewrite', { hostRewrite: 'literal' }, 0, [], 'app.example.com'],
    ['absent when the Host is preserved', { preserveHostHeader: true }, 0, [], undefined],
    ['a client value passes when the Host is preserved', { preserveHostHeader: true }, 0, [['x-forwarded-host', 'c.example']], 'c.example'],
    ['with 0 trusted hops a client value is replaced', {}, 0, [['x-forwarded-host', 'forged.example']], 'app.example.com'],
    ['with trusted hops a client value is extended', {}, 1, [['x-forwarded-host', 'lb.example']], 'lb.example, app.example.com'],
    ['with trusted hops and no client value', {}, 1, [], 'app.example.com'],
    ['the client Host is used verbatim, port and case included', {}, 0, [['host', 'App.example.com:8443']], 'App.example.com:8443'],
    ['absent when the rewritten Host equals the client Host', { hostRewrite: 'app.example.com' }, 0, [], undefined],
    ['remove_request_headers opts out', { removeRequestHeaders: ['x-forwarded-host'] }, 0, [['x-forwarded-host', 'c']], undefined],
  ];
  for (const [name, overrides, hops, headers, xfh] of cases) {
    it(name, () => {
      assert.equal(one(build(headers, overrides, { xffNumTrustedHops: hops }), 'x-forwarded-host'), xfh);
    });
  }
});

describe('buildUpstreamHeaders: X-Forwarded-For', () => {
  const cases: [name: string, opts: Partial<UpstreamHeaderOptions>, headers: [string, string][], xff: string | undefined][] = [
    ['the peer when the client sent none', {}, [], '192.0.2.5'],
    ['appended to the client value, which is kept as Envoy does', {}, [['x-forwarded-for', '1.1.1.1']], '1.1.1.1, 192.0.2.5'],
    ['several client headers are joined first', {}, [['x-forwarded-for', '1.1.1.1'], ['x-forwarded-for', '2.2.2.2']], '1.1.1.1, 2.2.2.2, 192.0.2.5'],
    ['skip_xff_append: the client value unchanged', { skipXffAppend: true }, [['x-forwarded-for', '1.1.1.1']], '1.1.1.1'],
    ['skip_xff_append and no client value: none', { skipXffAppend: true }, [], undefined],
  ];
  for (const [name, opts, headers, xff] of cases) {
    it(name, () => assert.equal(one(build(headers, {}, opts), 'x-forwarded-for'), xff));
  }
});

describe('buildUpstreamHeaders: X-Forwarded-Proto', () => {
  const cases: [name: string, hops: number, secure: boolean, headers: [string, string][], xfp: string][] = [
    ['https on a TLS connection', 0, true, [], 'https'],
    ['http on a plain connection', 0, false, [], 'http'],
    ['with 0 trusted hops the client value is overwritten', 0, false, [['x-forwarded-proto', 'https']], 'http'],
    ['with trusted hops the client value is kept', 1, false, [['x-forwarded-proto', 'https']], 'https'],
    ['with trusted hops and no client value: ours', 1, true, [], 'https'],
  ];
  for (const [name, hops, secure, headers, xfp] of cases) {
    it(name, () => assert.equal(one(build(headers, {}, { xffNumTrustedHops: hops }, { secure }), 'x-forwarded-proto'), xfp));
  }
});

describe('buildUpstreamHeaders: set_request_headers and remove_request_headers', () => {
  it('set_request_headers overwrites client values (lower-case names, values verbatim)', () => {
    const out = build([['x-user', 'forged'], ['x-user', 'forged2']], { setRequestHeaders: [header('X-User', '${pomerium.email}')] });
    assert.deepEqual(values(out, 'x-user'), ['${pomerium.email}']);
  });

  it('set_request_headers overwrites the headers we compute', () => {
    const out = build([], { setRequestHeaders: [header('X-Forwarded-Proto', 'wss'), header('X-Request-Id', 'fixed')] });
    assert.deepEqual(values(out, 'x-forwarded-proto'), ['wss']);
    assert.deepEqual(values(out, 'x-request-id'), ['fixed']);
  });

  it('the last of two entries differing only in case wins', () => {
    const out = build([], { setRequestHeaders: [header('X-A', '1'), header('x-a', '2')] });
    assert.deepEqual(values(out, 'x-a'), ['2']);
  });

  it('remove_request_headers removes client headers', () => {
    const out = build([['x-internal', '1'], ['accept', 'a']], { removeRequestHeaders: ['x-internal'] });
    assert.deepEqual(values(out, 'x-internal'), []);
    assert.deepEqual(values(out, 'accept'), ['a']);
  });

  it('removal wins over set_request_headers (Pomerium §12 #13)', () => {
    const out = build([['x-a', 'client']], { setRequestHeaders: [header('X-A', 'set')], removeRequestHeaders: ['x-a'] });
    assert.deepEqual(values(out, 'x-a'), []);
  });

  const ours: [name: string, headers: [string, string][]][] = [
    ['x-forwarded-for', [['x-forwarded-for', '1.1.1.1']]],
    ['x-forwarded-proto', [['x-forwarded-proto', 'https']]],
    ['x-request-id', []],
    ['cookie', [['cookie', 'a=1']]],
    ['authorization', [['authorization', 'Basic x']]],
  ];
  for (const [name, headers] of ours) {
    it(`remove_request_headers removes ${name}, ours included`, () => {
      assert.deepEqual(values(build(headers, { removeRequestHeaders: [name] }), name), []);
    });
  }
});

// What uWS hands us: every name byte ORed with 0x20 (HttpParser consumeFieldName).
function uwsLowercase(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) out += String.fromCharCode(name.charCodeAt(i) | 0x20);
  return out;
}

describe('buildUpstreamHeaders: properties', () => {
  const ours = [
    'cookie',
    'authorization',
    'x-pomerium-authorization',
    'x-pomerium-jwt-assertion',
    'x-pomerium-jwt-assertion-for',
    'x-pomerium-claim-email',
    'x-pomerium-claim-groups',
    'x-pomerium-reproxy-policy',
    'x-pomerium-reproxy-policy-hmac',
    'x-request-id',
    'host',
    'connection',
    'keep-alive',
    'proxy-connection',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'expect',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
    'content-length',
  ];
  // Each of our names in a random mix of upper and lower case, as a client may send it.
  const casedName = fc
    .constantFrom(...ours)
    .chain((n) => fc.array(fc.boolean(), { minLength: n.length, maxLength: n.length }).map((up) => [...n].map((c, i) => (up[i] ? c.toUpperCase() : c)).join('')));
  const randomName = fc.string({ unit: fc.constantFrom('x', '-', 'a', 'P', 'o', 'm', 'e', 'r', 'i', 'u', 'c'), minLength: 1, maxLength: 12 });
  const value = fc.oneof(
    fc.constantFrom(
      '_pomerium=s',
      'a=1; _pomerium=s; b=2',
      ' _pomerium=s',
      '_pomerium =s',
      'Pomerium eyJ',
      'pomerium eyJ',
      'Bearer Pomerium-eyJ',
      'bearer  pomerium-x',
      'Bearer ok',
      'close, x-a',
      'keep-alive',
      '100-continue',
    ),
    fc.string({ maxLength: 20 }),
  );
  const headersArb = fc.array(fc.tuple(fc.oneof(casedName, randomName).map(uwsLowercase), value), { maxLength: 16 });
  const routeArb = fc.record({
    preserveHostHeader: fc.boolean(),
    hostRewrite: fc.option(fc.constant('literal.example.com'), { nil: null }),
    hostRewriteHeader: fc.option(fc.constantFrom('x-a', 'cookie', 'authorization'), { nil: null }),
    removeRequestHeaders: fc.subarray(['host', 'x-a', 'x-request-id', 'cookie', 'x-forwarded-host']),
  });
  const optsArb = fc.record({
    cookieName: fc.constant('_pomerium'),
    xffNumTrustedHops: fc.nat(2),
    skipXffAppend: fc.boolean(),
    claimHeaderNames: fc.constant(new Set(['x-email', 'x-groups']) as ReadonlySet<string>),
  });

  it('whatever a client sends, no credential, forged identity, hop-by-hop header or second Host reaches the upstream', () => {
    fc.assert(
      fc.property(headersArb, routeArb, optsArb, (headers, overrides, opts) => {
        const route: Route = makeRoute({ to: 'http://upstream.internal:8080', ...overrides });
        const req = request(headers);
        const out = buildUpstreamHeaders(req, route, route.to[0], opts);
        assert.equal(out.length % 2, 0);
        assert.equal(values(out, 'host').length, 1);
        for (let i = 0; i < out.length; i += 2) {
          const name = out[i];
          const v = out[i + 1];
          assert.equal(name, name.toLowerCase());
          assert.ok(!['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect'].includes(name), name);
          assert.notEqual(name, 'x-pomerium-authorization');
          assert.notEqual(name, 'x-pomerium-jwt-assertion');
          assert.notEqual(name, 'x-pomerium-jwt-assertion-for');
          assert.notEqual(name, 'x-pomerium-reproxy-policy');
          assert.notEqual(name, 'x-pomerium-reproxy-policy-hmac');
          assert.ok(!name.startsWith('x-pomerium-claim-'), name);
          if (name === 'authorization') assert.ok(!/^\s*(pomerium(\s|$)|bearer\s+pomerium-)/i.test(v), v);
          if (name === 'cookie') {
            for (const piece of v.split(';')) assert.notEqual(piece.split('=')[0].trim(), '_pomerium', v);
          }
          if (name === 'x-request-id') assert.equal(v, 'req-1');
        }
        assert.ok(values(out, 'cookie').length <= 1);
      }),
      { numRuns: 3000 },
    );
  });

  it('headers that are none of ours pass unchanged and in order', () => {
    const plain = fc.array(
      fc.tuple(fc.constantFrom('accept', 'x-a', 'x-b', 'user-agent', 'content-type', 'content-length'), fc.string({ maxLength: 10 })),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(plain, (headers) => {
        const out = build(headers);
        const passed: [string, string][] = [];
        for (let i = 2; i < out.length; i += 2) {
          if (!out[i].startsWith('x-forwarded-') && out[i] !== 'x-request-id') passed.push([out[i], out[i + 1]]);
        }
        assert.deepEqual(passed, headers);
      }),
    );
  });
});

describe('buildUpstreamHeaders: identity headers', () => {
  it('a client copy of a jwt_claims_headers header (map form) never reaches the upstream', () => {
    const route = makeRoute();
    const out = buildUpstreamHeaders(request([['x-email', 'ceo@example.com'], ['x-other', 'kept']]), route, route.to[0], OPTS);
    assert.deepEqual(values(out, 'x-email'), []);
    assert.deepEqual(values(out, 'x-other'), ['kept']);
  });

  it('our identity headers are added in place of client copies, and remove_request_headers still wins', () => {
    const route = makeRoute({ removeRequestHeaders: ['x-pomerium-claim-groups'] });
    const identity = { add: ['x-pomerium-jwt-assertion', 'signed.jwt.value', 'x-email', 'alice@example.com', 'x-pomerium-claim-groups', 'a,b'], setValues: null };
    const req = request([['x-pomerium-jwt-assertion', 'forged'], ['x-email', 'forged@example.com']]);
    const out = buildUpstreamHeaders(req, route, route.to[0], OPTS, identity);
    assert.deepEqual(values(out, 'x-pomerium-jwt-assertion'), ['signed.jwt.value']);
    assert.deepEqual(values(out, 'x-email'), ['alice@example.com']);
    assert.deepEqual(values(out, 'x-pomerium-claim-groups'), []);
  });

  it('rendered set_request_headers values replace the configured templates, by their index', () => {
    const route = makeRoute({
      setRequestHeaders: [header('X-User', '${pomerium.jwt}'), header('X-Fixed', 'v'), header('X-User', 'second wins')],
    });
    const out = buildUpstreamHeaders(request([]), route, route.to[0], OPTS, { add: [], setValues: ['rendered-0', 'v', 'rendered-2'] });
    assert.deepEqual(values(out, 'x-user'), ['rendered-2']);
    assert.deepEqual(values(out, 'x-fixed'), ['v']);
  });
});
