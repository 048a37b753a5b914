import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { base, Fixture, problemFor, warningFor } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

/** A config with one route; `body` lines (indented 4) start at line 7. */
function oneRoute(body: string, global = ''): string {
  return `${base()}${global}routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n${body}`;
}

const PUBLIC = '    allow_public_unauthenticated_access: true\n';

test('a route with only from and to gets the documented defaults', () => {
  const { config } = fx.load(oneRoute(''));
  const route = config.routes[0];
  assert.ok(route);
  assert.equal(route.index, 0);
  assert.equal(route.name, 'route-0');
  assert.match(route.id, /^[0-9a-f]{16}$/);
  assert.match(route.location, /config-\d+\.yaml:5$/);
  assert.deepEqual(route.from, { scheme: 'https', host: 'a.example.com', port: null, wildcard: null, raw: 'https://a.example.com' });
  assert.deepEqual(route.to, [{ protocol: 'http:', origin: 'http://127.0.0.1:9000', authority: '127.0.0.1:9000', pathPrefix: '', weight: 1 }]);
  assert.deepEqual(
    [route.prefix, route.path, route.regex, route.prefixRewrite, route.regexRewrite, route.hostRewrite, route.hostRewriteHeader, route.preserveHostHeader],
    [null, null, null, null, null, null, null, false],
  );
  assert.deepEqual([route.setRequestHeaders, route.removeRequestHeaders, route.rewriteResponseHeaders], [[], [], []]);
  assert.deepEqual(route.setResponseHeaders.map((h) => h.name), ['X-Frame-Options', 'X-XSS-Protection']);
  assert.deepEqual([route.timeoutMs, route.idleTimeoutMs, route.loadBalancingPolicy], [30_000, 0, 'round_robin']);
  assert.deepEqual(route.tls, { skipVerify: false, serverName: null, customCa: null, clientCert: null, clientKey: null });
  assert.deepEqual(route.access, {
    allowPublicUnauthenticatedAccess: false,
    allowAnyAuthenticatedUser: false,
    allowedUsers: [],
    allowedDomains: [],
    allowedIdpClaims: {},
    corsAllowPreflight: false,
    policy: null,
    passIdentityHeaders: null,
    showErrorDetails: false,
  });
});

test('the route timeout defaults to default_upstream_timeout; timeout and idle_timeout are Go durations', () => {
  assert.equal(fx.load(oneRoute('', 'default_upstream_timeout: 1m30s\n')).config.routes[0]?.timeoutMs, 90_000);
  const r = fx.load(oneRoute('    timeout: 0\n    idle_timeout: 1.5h\n', 'default_upstream_timeout: 1m\n')).config.routes[0];
  assert.deepEqual([r?.timeoutMs, r?.idleTimeoutMs], [0, 5_400_000]);
  assert.equal(fx.load(oneRoute('    timeout: 1500us\n')).config.routes[0]?.timeoutMs, 2, 'rounded up, never to 0');
});

test('to may be a string, a list, a comma-separated string, or Pomerium-style weighted entries', () => {
  const targets = (to: string): [string, number][] => {
    const file = `${base()}routes:\n  - from: https://a.example.com\n    to: ${to}\n${PUBLIC}`;
    return (fx.load(file).config.routes[0]?.to ?? []).map((t) => [t.authority, t.weight]);
  };
  assert.deepEqual(targets('http://a:1'), [['a:1', 1]]);
  assert.deepEqual(targets('[http://a:1, http://b:2]'), [['a:1', 1], ['b:2', 1]]);
  assert.deepEqual(targets('"http://a:1,http://b:2"'), [['a:1', 1], ['b:2', 1]]);
  assert.deepEqual(targets('["http://a:1,10", "http://b:2,30"]'), [['a:1', 10], ['b:2', 30]]);
  assert.deepEqual(targets('"http://a:1,10"'), [['a:1', 10]]);
});

test('problems in to point at the offending entry', () => {
  const problems = fx.problems(`${base()}routes:\n  - from: https://a.example.com\n    to:\n      - http://a,1\n      - http://b,0\n`);
  const p = problemFor(problems, 'routes[0].to[1]');
  assert.equal(p.line, 8);
  assert.equal(p.message, 'zero load balancing weight not permitted');
});

const refused: ReadonlyArray<readonly [string, string, number, RegExp]> = [
  ['    prefix: api\n', 'routes[0].prefix', 7, /must start with \//],
  ['    path: api\n', 'routes[0].path', 7, /must start with \//],
  ['    regex: "(unclosed"\n', 'routes[0].regex', 7, /not a valid regular expression/],
  ['    regex: "a(?=b)"\n', 'routes[0].regex', 7, /lookaround/],
  ['    prefix_rewrite: /x\n    regex_rewrite_pattern: ^/a\n', 'routes[0].regex_rewrite_pattern', 8, /only prefix_rewrite or regex_rewrite_pattern/],
  ['    regex_rewrite_pattern: ^/(a)/(b)$\n    regex_rewrite_substitution: /\\3\n', 'routes[0].regex_rewrite_substitution', 8, /group \\3, but the pattern has 2 groups/],
  ['    host_rewrite: "a b"\n', 'routes[0].host_rewrite', 7, /host or host:port/],
  ['    host_rewrite_header: "X Host"\n', 'routes[0].host_rewrite_header', 7, /header name/],
  ['    set_request_headers:\n      "Bad Name": x\n', 'routes[0].set_request_headers.Bad Name', 8, /header name/],
  ['    set_request_headers:\n      X-Ok: "a\\r\\nInjected: 1"\n', 'routes[0].set_request_headers.X-Ok', 8, /line break/],
  ['    set_request_headers:\n      X-A: 1\n      x-a: 2\n', 'routes[0].set_request_headers.x-a', 9, /more than once/],
  ['    set_request_headers: [a]\n', 'routes[0].set_request_headers', 7, /must be a map/],
  ['    remove_request_headers: ["ok", "not ok"]\n', 'routes[0].remove_request_headers[1]', 7, /header name/],
  ['    set_response_headers:\n      "X:Y": 1\n', 'routes[0].set_response_headers.X:Y', 8, /header name/],
  ['    rewrite_response_headers:\n      - prefix: /a\n', 'routes[0].rewrite_response_headers[0].header', 8, /is required/],
  ['    rewrite_response_headers: {header: x}\n', 'routes[0].rewrite_response_headers', 7, /list of/],
  ['    timeout: 30\n', 'routes[0].timeout', 7, /needs a unit/],
  ['    idle_timeout: -1s\n', 'routes[0].idle_timeout', 7, /must not be negative/],
  ['    load_balancing_policy: RING_HASH\n', 'routes[0].load_balancing_policy', 7, /not supported yet/],
  ['    load_balancing_policy: fastest\n', 'routes[0].load_balancing_policy', 7, /unknown load balancing policy "fastest"/],
  ['    tls_skip_verify: yes\n', 'routes[0].tls_skip_verify', 7, /true or false/],
  ['    allowed_idp_claims:\n      groups:\n        nested: [x]\n', 'routes[0].allowed_idp_claims.groups', 9, /must be a list, not a map/],
  ['    policy: allow\n', 'routes[0].policy', 7, /PPL policy/],
  ['    redirect:\n      https_redirect: true\n', 'routes[0].redirect', 7, /not supported yet/],
  ['    response:\n      status: 200\n', 'routes[0].response', 7, /not supported yet/],
  ['    allowed_groups: [admins]\n', 'routes[0].allowed_groups', 7, /config option was removed/],
  ['    set_authorization_header: pass_through\n', 'routes[0].set_authorization_header', 7, /config option was removed/],
  ['    tls_downstream_client_ca_file: /ca.pem\n', 'routes[0].tls_downstream_client_ca_file', 7, /not supported yet/],
];

test('invalid route options are errors with the route key path and line', () => {
  for (const [body, key, line, message] of refused) {
    const p = problemFor(fx.problems(oneRoute(body)), key);
    assert.equal(p.line, line, `${body}: ${p.message}`);
    assert.match(p.message, message, body);
  }
});

test('from and to are required; the problem points at the route entry', () => {
  const noFrom = problemFor(fx.problems(`${base()}routes:\n  - to: http://a\n`), 'routes[0].from');
  assert.deepEqual([noFrom.line, noFrom.message], [5, 'is required']);
  const noTo = problemFor(fx.problems(`${base()}routes:\n  - from: https://a.example.com\n`), 'routes[0].to');
  assert.deepEqual([noTo.line, noTo.message], [5, 'is required']);
  assert.match(problemFor(fx.problems(`${base()}routes:\n  - just a string\n`), 'routes[0]').message, /must be a map/);
  assert.match(problemFor(fx.problems(`${base()}routes: {from: x}\n`), 'routes').message, /list of routes/);
});

test('path matchers, rewrites and host options are kept as configured', () => {
  const r = fx.load(
    oneRoute(
      '    prefix: /api/\n    path: /exact\n    regex: "(?i)/v[0-9]+/.*"\n    regex_rewrite_pattern: "^/v(\\\\d+)/(.*)$"\n    regex_rewrite_substitution: "/\\\\2?v=\\\\1"\n    host_rewrite_header: X-Target-Host\n    host_rewrite: internal.example:8080\n    preserve_host_header: true\n',
    ),
  ).config.routes[0];
  assert.ok(r);
  assert.deepEqual([r.prefix, r.path], ['/api/', '/exact']);
  assert.ok(r.regex?.test('/V2/things') && !r.regex.test('/x/v2/things'));
  assert.equal(r.regexRewrite?.substitution, '/\\2?v=\\1');
  assert.equal('/v3/a'.replace(r.regexRewrite?.pattern as RegExp, 'ok'), 'ok');
  assert.deepEqual([r.hostRewrite, r.hostRewriteHeader, r.preserveHostHeader], ['internal.example:8080', 'x-target-host', true]);
  assert.equal(fx.load(oneRoute('    prefix_rewrite: /new/\n')).config.routes[0]?.prefixRewrite, '/new/');
});

test('request header options keep case for the wire and lower-case names for comparison', () => {
  const r = fx.load(oneRoute('    set_request_headers:\n      X-User: ${pomerium.email}\n      X-Empty: ""\n    remove_request_headers: [X-Forwarded-Host, Cookie]\n')).config.routes[0];
  assert.deepEqual(r?.setRequestHeaders, [
    { name: 'X-User', lname: 'x-user', value: '${pomerium.email}' },
    { name: 'X-Empty', lname: 'x-empty', value: '' },
  ]);
  assert.deepEqual(r?.removeRequestHeaders, ['x-forwarded-host', 'cookie']);
  assert.deepEqual(fx.load(oneRoute('    remove_request_headers: "A,B"\n')).config.routes[0]?.removeRequestHeaders, ['a', 'b']);
});

test('route set_response_headers merge over the global set; a route disable clears all', () => {
  const global = 'set_response_headers:\n  X-Global: g\n  X-Frame-Options: DENY\n';
  const merged = fx.load(oneRoute('    set_response_headers:\n      x-frame-options: SAMEORIGIN\n      X-Route: r\n', global)).config;
  assert.deepEqual(merged.setResponseHeaders.map((h) => `${h.name}: ${h.value}`), ['X-Global: g', 'X-Frame-Options: DENY']);
  assert.deepEqual(merged.routes[0]?.setResponseHeaders.map((h) => `${h.name}: ${h.value}`), ['X-Global: g', 'x-frame-options: SAMEORIGIN', 'X-Route: r']);
  const disabled = fx.load(oneRoute('    set_response_headers:\n      disable: true\n      X-Route: r\n', global)).config;
  assert.deepEqual(disabled.routes[0]?.setResponseHeaders, []);
  const globalOff = fx.load(oneRoute('    set_response_headers:\n      X-Route: r\n', 'set_response_headers:\n  Disable: true\n')).config;
  assert.deepEqual(globalOff.setResponseHeaders, []);
  assert.deepEqual(globalOff.routes[0]?.setResponseHeaders.map((h) => h.name), ['X-Route']);
});

test('rewrite_response_headers keeps header, prefix and value', () => {
  const r = fx.load(oneRoute('    rewrite_response_headers:\n      - header: Location\n        prefix: http://internal/\n        value: https://a.example.com/\n      - header: X-Path\n')).config.routes[0];
  assert.deepEqual(r?.rewriteResponseHeaders, [
    { header: 'Location', lheader: 'location', prefix: 'http://internal/', value: 'https://a.example.com/' },
    { header: 'X-Path', lheader: 'x-path', prefix: '', value: '' },
  ]);
});

test('tls_upstream_server_name wins over tls_server_name', () => {
  const tls = (body: string): string | null | undefined => fx.load(oneRoute(body)).config.routes[0]?.tls.serverName;
  assert.equal(tls('    tls_server_name: a.internal\n'), 'a.internal');
  assert.equal(tls('    tls_server_name: a.internal\n    tls_upstream_server_name: b.internal\n'), 'b.internal');
  assert.equal(fx.load(oneRoute('    tls_skip_verify: true\n')).config.routes[0]?.tls.skipVerify, true);
});

test('load_balancing_policy accepts Pomerium’s enum spellings', () => {
  for (const [text, policy] of [['LOAD_BALANCING_POLICY_LEAST_REQUEST', 'least_request'], ['random', 'random'], ['Round_Robin', 'round_robin']]) {
    assert.equal(fx.load(oneRoute(`    load_balancing_policy: ${text}\n`)).config.routes[0]?.loadBalancingPolicy, policy);
  }
});

test('access options are parsed into RouteAccess, the PPL policy kept as plain data', () => {
  const r = fx.load(
    oneRoute(
      '    allowed_users: [alice@example.com, bob]\n    allowed_domains: example.com,example.org\n    allowed_idp_claims:\n      groups: [admins, 42]\n      tenant: acme\n    cors_allow_preflight: true\n    pass_identity_headers: false\n    show_error_details: true\n    policy:\n      allow:\n        or:\n          - email:\n              is: carol@example.com\n',
    ),
  ).config.routes[0];
  assert.deepEqual(r?.access, {
    allowPublicUnauthenticatedAccess: false,
    allowAnyAuthenticatedUser: false,
    allowedUsers: ['alice@example.com', 'bob'],
    allowedDomains: ['example.com', 'example.org'],
    allowedIdpClaims: { groups: ['admins', 42], tenant: ['acme'] },
    corsAllowPreflight: true,
    policy: { allow: { or: [{ email: { is: 'carol@example.com' } }] } },
    passIdentityHeaders: false,
    showErrorDetails: true,
  });
  const list = fx.load(oneRoute('    policy:\n      - allow:\n          and: [{accept: true}]\n')).config.routes[0];
  assert.deepEqual(list?.access.policy, [{ allow: { and: [{ accept: true }] } }]);
});

const combinations: ReadonlyArray<readonly [string, string | null]> = [
  ['    allow_public_unauthenticated_access: true\n', null],
  ['    allow_any_authenticated_user: true\n', null],
  ['    allowed_users: [a]\n    allowed_domains: [b]\n', null],
  ['    allow_public_unauthenticated_access: true\n    allow_any_authenticated_user: true\n', 'routes[0].allow_public_unauthenticated_access'],
  ['    allow_public_unauthenticated_access: true\n    allowed_users: [a]\n', 'routes[0].allow_public_unauthenticated_access'],
  ['    allow_public_unauthenticated_access: true\n    allowed_domains: []\n', 'routes[0].allow_public_unauthenticated_access'],
  ['    allow_any_authenticated_user: true\n    allowed_users: [a]\n', 'routes[0].allow_any_authenticated_user'],
  ['    allow_any_authenticated_user: true\n    allowed_domains: [example.com]\n', 'routes[0].allow_any_authenticated_user'],
  ['    allow_public_unauthenticated_access: true\n    cors_allow_preflight: true\n    allowed_idp_claims: {a: [b]}\n', null],
  ['    allow_public_unauthenticated_access: false\n    allowed_users: [a]\n', null],
];

test('Pomerium’s combination rules: public excludes allow-lists; any-authenticated excludes user and domain lists', () => {
  for (const [body, key] of combinations) {
    if (key === null) assert.equal(fx.load(oneRoute(body)).config.routes.length, 1, body);
    else assert.match(problemFor(fx.problems(oneRoute(body)), key).message, /cannot be combined/, body);
  }
});

test('route ids are 16 hex characters, stable across loads, and change with from, prefix, path, regex or to', () => {
  const id = (body: string, to = 'http://127.0.0.1:9000'): string | undefined =>
    fx.load(`${base()}routes:\n  - from: https://a.example.com\n    to: ${to}\n${body}`).config.routes[0]?.id;
  const plain = id('');
  assert.match(plain ?? '', /^[0-9a-f]{16}$/);
  assert.equal(id(''), plain);
  assert.equal(id(PUBLIC), plain, 'access options do not change the id');
  const others = [id('    prefix: /a\n'), id('    path: /a\n'), id('    regex: /a\n'), id('', 'http://127.0.0.1:9001'), id('', '"http://127.0.0.1:9000,2"')];
  assert.equal(new Set([plain, ...others]).size, 6);
});

test('policy entries come before routes entries; index and location follow', () => {
  const file = `${base()}routes:\n  - from: https://r.example.com\n    to: http://a\n${PUBLIC}policy:\n  - from: https://p1.example.com\n    to: http://a\n${PUBLIC}  - from: https://p2.example.com\n    to: http://a\n${PUBLIC}`;
  const { config } = fx.load(file);
  assert.deepEqual(config.routes.map((r) => [r.index, r.from.host, r.name, Number(r.location.split(':').pop())]), [
    [0, 'p1.example.com', 'route-0', 9],
    [1, 'p2.example.com', 'route-1', 12],
    [2, 'r.example.com', 'route-2', 5],
  ]);
  assert.equal(fx.load(oneRoute('    name: api\n')).config.routes[0]?.name, 'api');
});

test('recognised but unimplemented route options warn; unknown ones warn too, with a hint for cors_preflight', () => {
  const warnings = fx.warnings(oneRoute(`${PUBLIC}    allow_websockets: true\n    health_checks: []\n    cors_preflight: true\n    colour: blue\n`));
  assert.match(warningFor(warnings, 'routes[0].allow_websockets').message, /recognised Pomerium option, not implemented by this version of Postern/);
  assert.equal(warningFor(warnings, 'routes[0].allow_websockets').line, 8);
  warningFor(warnings, 'routes[0].health_checks');
  assert.match(warningFor(warnings, 'routes[0].cors_preflight').message, /unknown config option \(the route option is cors_allow_preflight\)/);
  assert.equal(warningFor(warnings, 'routes[0].colour').message, 'unknown config option');
});

test('a route that repeats an earlier route’s matchers is flagged as unreachable', () => {
  const file = `${base()}routes:\n  - from: https://a.example.com\n    to: http://a\n${PUBLIC}  - from: http://A.example.com\n    to: http://b\n${PUBLIC}  - from: https://a.example.com\n    prefix: /x\n    to: http://c\n${PUBLIC}`;
  const warnings = fx.warnings(file);
  assert.match(warningFor(warnings, 'routes[1]').message, /can never match/);
  assert.ok(!warnings.some((w) => w.key === 'routes[2]'));
});
