import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHeadersVariable } from '../../src/config/env.js';
import { b64, base, Fixture, problemFor, secret, warningFor, SIGN_IN } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const ROUTE = 'routes:\n  - from: https://file.example.com\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n';

test('an upper-case variable overrides the global key of the same name', () => {
  const { config } = fx.load(`${base()}address: ":8080"\nlog_level: info\n${ROUTE}`, {
    ADDRESS: '127.0.0.1:9443',
    LOG_LEVEL: 'debug',
    COOKIE_HTTP_ONLY: 'false',
    TIMEOUT_IDLE: '90s',
    XFF_NUM_TRUSTED_HOPS: '2',
    SKIP_XFF_APPEND: 'TRUE',
    COOKIE_SAME_SITE: 'Strict',
    AUTHENTICATE_SERVICE_URL: 'https://auth.example.com',
  });
  assert.deepEqual(config.address, { host: '127.0.0.1', port: 9443 });
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.cookie.httpOnly, false);
  assert.equal(config.timeoutIdleMs, 90_000);
  assert.equal(config.xffNumTrustedHops, 2);
  assert.equal(config.skipXffAppend, true);
  assert.equal(config.cookie.sameSite, 'strict');
  assert.equal(config.authenticateServiceUrl?.href, 'https://auth.example.com/');
});

test('INSECURE_SERVER and the secrets come from the environment alone', () => {
  const shared = secret();
  const { config } = fx.load(ROUTE, { INSECURE_SERVER: 'true', SHARED_SECRET: shared, COOKIE_SECRET: secret() });
  assert.equal(config.insecureServer, true);
  assert.deepEqual(config.address, { host: '', port: 80 });
  assert.equal(config.sharedSecret.toString('base64'), shared);
  assert.equal(config.sharedSecretGenerated, false);
});

test('an empty variable counts as unset', () => {
  const { config } = fx.load(`${base()}log_level: warn\n${ROUTE}`, { LOG_LEVEL: '', ADDRESS: '' });
  assert.equal(config.logLevel, 'warn');
});

test('list values split on commas; map values are JSON', () => {
  const { config } = fx.load(`${base()}${ROUTE}`, {
    IDP_SCOPES: 'openid,email',
    IDP_REQUEST_PARAMS: '{"prompt":"login","hd":"example.com"}',
  });
  assert.deepEqual(config.idp.scopes, ['openid', 'email']);
  assert.deepEqual(config.idp.requestParams, { prompt: 'login', hd: 'example.com' });
});

test('POLICY holds base64-encoded YAML routes; they replace the file’s policy and come before routes', () => {
  const policy = b64('- from: https://env.example.com\n  to: http://127.0.0.1:9001\n  allow_public_unauthenticated_access: true\n');
  const file = `${base()}policy:\n  - from: https://old.example.com\n    to: http://127.0.0.1:1\n    allow_public_unauthenticated_access: true\n${ROUTE}`;
  const { config } = fx.load(file, { POLICY: policy });
  assert.deepEqual(config.routes.map((r) => r.from.host), ['env.example.com', 'file.example.com']);
  assert.deepEqual(config.routes.map((r) => r.index), [0, 1]);
  assert.equal(config.routes[0]?.location, 'env:POLICY[0]');
});

test('ROUTES holds base64-encoded YAML too', () => {
  const routes = b64('- from: https://env.example.com\n  to: http://127.0.0.1:9001\n  allow_any_authenticated_user: true\n');
  const { config } = fx.load(`${base()}${SIGN_IN}${ROUTE}`, { ROUTES: routes });
  assert.deepEqual(config.routes.map((r) => r.from.host), ['env.example.com']);
});

test('problems inside POLICY are reported with file env and the variable in the key', () => {
  const policy = b64('- from: https://env.example.com/path\n  to: http://127.0.0.1:9001\n');
  const p = problemFor(fx.problems(`${base()}`, { POLICY: policy }), 'POLICY[0].from');
  assert.equal(p.file, 'env');
  assert.equal(p.line, 0);
  assert.match(p.message, /contains a path/);
});

test('POLICY that is not base64 YAML of a list is an error on POLICY', () => {
  for (const value of ['not base64!', b64('from: x\n'), b64('a: [1\n')]) {
    const p = problemFor(fx.problems(base(), { POLICY: value }), 'POLICY');
    assert.equal(p.file, 'env');
  }
});

test('HEADERS sets set_response_headers as a JSON object or K1:V1,K2:V2, overriding the file', () => {
  const file = `${base()}set_response_headers:\n  X-From-File: yes\n${ROUTE}`;
  const json = fx.load(file, { HEADERS: '{"X-A":"1","X-B":"two words"}' }).config;
  assert.deepEqual(json.setResponseHeaders.map((h) => [h.name, h.value]), [['X-A', '1'], ['X-B', 'two words']]);
  const pairs = fx.load(file, { HEADERS: 'X-A:1,Strict-Transport-Security:max-age=1' }).config;
  assert.deepEqual(pairs.setResponseHeaders.map((h) => [h.name, h.value]), [['X-A', '1'], ['Strict-Transport-Security', 'max-age=1']]);
  const disabled = fx.load(file, { HEADERS: 'disable:true' }).config;
  assert.deepEqual(disabled.setResponseHeaders, []);
});

test('parseHeadersVariable follows Pomerium’s parseHeaders', () => {
  assert.deepEqual(parseHeadersVariable('{"a":"b","n":1}'), [['a', 'b'], ['n', '1']]);
  assert.deepEqual(parseHeadersVariable('a:b,c:d:e'), [['a', 'b'], ['c', 'd:e']]);
  assert.deepEqual(parseHeadersVariable('a: b'), [['a', ' b']]);
  assert.equal(parseHeadersVariable('a:b,c'), null);
  assert.equal(parseHeadersVariable('{"a":{"b":1}}'), null);
  assert.equal(parseHeadersVariable('[1]'), null);
});

test('a bad HEADERS or header value is an error keyed by the variable', () => {
  assert.equal(problemFor(fx.problems(base(), { HEADERS: 'nocolon' }), 'HEADERS').file, 'env');
  assert.match(problemFor(fx.problems(base(), { HEADERS: 'Bad Name:x' }), 'HEADERS.Bad Name').message, /header name/);
});

test('invalid environment values are errors with file env, line 0 and the variable as key', () => {
  const problems = fx.problems(base(), { ADDRESS: ':99999', INSECURE_SERVER: 'maybe', TIMEOUT_READ: '10', IDP_REQUEST_PARAMS: 'x=1' });
  for (const key of ['ADDRESS', 'INSECURE_SERVER', 'TIMEOUT_READ', 'IDP_REQUEST_PARAMS']) {
    const p = problemFor(problems, key);
    assert.deepEqual([p.file, p.line], ['env', 0], key);
  }
});

test('recognised but unimplemented variables warn; unsafe ones are errors', () => {
  const warnings = fx.warnings(`${base()}${ROUTE}`, { AUTOCERT: 'true', JWT_GROUPS_FILTER: 'admins' });
  assert.match(warningFor(warnings, 'AUTOCERT').message, /not implemented/);
  assert.equal(warningFor(warnings, 'JWT_GROUPS_FILTER').file, 'env');
  assert.match(problemFor(fx.problems(base(), { DOWNSTREAM_MTLS_CA: 'x' }), 'DOWNSTREAM_MTLS_CA').message, /not supported yet/);
});

test('variables of removed keys and unrelated variables are ignored', () => {
  const { config } = fx.load(`${base()}${ROUTE}`, { CLIENT_CA: 'x', PATH: '/usr/bin', HOME: '/root', TRACING_PROVIDER: 'jaeger' });
  assert.equal(config.routes.length, 1);
});
