import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, Errors, PosternError } from '../../src/errors.js';
import { parseLogLevel } from '../../src/config/global.js';
import { loadConfig } from '../../src/config/load.js';
import { createCertificateAuthority, createLeafCertificate } from '../helpers/certs.js';
import { base, Fixture, problemFor, secret, warningFor } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const ROUTE = 'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n';

test('a minimal insecure config gets Pomerium’s defaults', () => {
  const { config } = fx.load(`${base()}${ROUTE}`);
  assert.deepEqual(config.address, { host: '', port: 80 });
  assert.equal(config.insecureServer, true);
  assert.deepEqual([config.cookie.name, config.cookie.domain, config.cookie.httpOnly, config.cookie.sameSite, config.cookie.expireMs], ['_pomerium', '', true, '', 14 * 3_600_000]);
  assert.equal(config.logLevel, 'info');
  assert.deepEqual([config.timeoutReadMs, config.timeoutWriteMs, config.timeoutIdleMs, config.defaultUpstreamTimeoutMs], [30_000, 0, 300_000, 30_000]);
  assert.deepEqual([config.xffNumTrustedHops, config.skipXffAppend, config.passIdentityHeaders], [0, false, false]);
  assert.equal(config.authenticateServiceUrl, null);
  assert.equal(config.signoutRedirectUrl, '');
  assert.deepEqual(config.idp, { provider: '', providerUrl: '', clientId: '', clientSecret: '', scopes: ['openid', 'profile', 'email', 'offline_access'], requestParams: {} });
  assert.equal(config.certificateAuthority, null);
  assert.match(config.file, /config-\d+\.yaml$/);
});

test('global options are read and converted', () => {
  const { config } = fx.load(
    `${base()}address: "[::1]:0"\ncookie_name: _session\ncookie_domain: .example.com\ncookie_http_only: false\ncookie_same_site: NONE\ncookie_expire: 1h30m\nlog_level: WARNING\ntimeout_read: 10s\ntimeout_write: 1m\ntimeout_idle: 0\ndefault_upstream_timeout: 45s\nxff_num_trusted_hops: 2\nskip_xff_append: true\nauthenticate_service_url: https://auth.example.com\nsignout_redirect_url: https://example.com/bye\nidp_provider: google\nidp_provider_url: https://accounts.google.com\nidp_client_id: 12345\nidp_request_params: {hd: example.com}\npass_identity_headers: true\nservices: all\n${ROUTE}`,
  );
  assert.deepEqual(config.address, { host: '::1', port: 0 });
  assert.deepEqual([config.cookie.name, config.cookie.domain, config.cookie.httpOnly, config.cookie.sameSite, config.cookie.expireMs], ['_session', '.example.com', false, 'none', 5_400_000]);
  assert.equal(config.logLevel, 'warn');
  assert.deepEqual([config.timeoutReadMs, config.timeoutWriteMs, config.timeoutIdleMs, config.defaultUpstreamTimeoutMs], [10_000, 60_000, 0, 45_000]);
  assert.equal(config.routes[0]?.timeoutMs, 45_000);
  assert.deepEqual([config.xffNumTrustedHops, config.skipXffAppend, config.passIdentityHeaders], [2, true, true]);
  assert.equal(config.authenticateServiceUrl?.hostname, 'auth.example.com');
  assert.equal(config.signoutRedirectUrl, 'https://example.com/bye');
  assert.deepEqual(config.idp, {
    provider: 'google',
    providerUrl: 'https://accounts.google.com',
    clientId: '12345',
    clientSecret: '',
    scopes: ['openid', 'profile', 'email'],
    requestParams: { hd: 'example.com' },
  });
});

test('log_level follows Pomerium’s list, mapped onto the logger’s levels', () => {
  const table: ReadonlyArray<readonly [string, string | null]> = [
    ['', 'info'], ['trace', 'trace'], ['debug', 'debug'], ['info', 'info'], ['INFO', 'info'], ['warn', 'warn'], ['warning', 'warn'],
    ['error', 'error'], ['critical', 'fatal'], ['fatal', 'fatal'], ['panic', 'fatal'], ['off', 'silent'], ['none', 'silent'],
    ['disabled', 'silent'], ['verbose', null], ['silent', null],
  ];
  for (const [text, level] of table) assert.equal(parseLogLevel(text), level, text);
});

const globalRefused: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['address: "a:b:c"\n', 'address', /host:port/],
  ['address: ":70000"\n', 'address', /0 to 65535/],
  ['cookie_name: "bad name"\n', 'cookie_name', /cookie name/],
  ['cookie_domain: "a.com; Secure"\n', 'cookie_domain', /domain name/],
  ['cookie_same_site: sometimes\n', 'cookie_same_site', /lax, strict, none or empty/],
  ['cookie_expire: 0\n', 'cookie_expire', /longer than 0/],
  ['cookie_http_only: 2\n', 'cookie_http_only', /true or false/],
  ['timeout_read: 5\n', 'timeout_read', /needs a unit/],
  ['timeout_idle: 1d\n', 'timeout_idle', /unknown unit "d"/],
  ['xff_num_trusted_hops: -1\n', 'xff_num_trusted_hops', /whole number/],
  ['xff_num_trusted_hops: 1.5\n', 'xff_num_trusted_hops', /whole number/],
  ['authenticate_service_url: auth.example.com\n', 'authenticate_service_url', /absolute http/],
  ['authenticate_service_url: ftp://auth.example.com\n', 'authenticate_service_url', /absolute http/],
  ['signout_redirect_url: /bye\n', 'signout_redirect_url', /absolute http/],
  ['idp_provider: keycloak\n', 'idp_provider', /unknown identity provider "keycloak"/],
  ['idp_provider_url: not-a-url\n', 'idp_provider_url', /absolute http/],
  ['idp_scopes: {a: b}\n', 'idp_scopes', /list, not a map/],
  ['idp_request_params: [a]\n', 'idp_request_params', /must be a map/],
  ['set_response_headers: "X-A: 1"\n', 'set_response_headers', /JSON object/],
  ['services: authorize\n', 'services', /not supported yet/],
  ['client_ca_file: ca.pem\n', 'client_ca_file', /config option was removed/],
  ['idp_service_account: x\n', 'idp_service_account', /config option was removed/],
  ['tracing_provider: jaeger\n', 'tracing_provider', /config option was removed/],
  ['policy_file: policy.yaml\n', 'policy_file', /policy file setting is deprecated/],
  ['downstream_mtls:\n  ca_file: ca.pem\n', 'downstream_mtls', /not supported yet/],
  ['policy: {from: x}\n', 'policy', /list of routes/],
];

test('invalid or removed global options are errors naming the key and its line', () => {
  for (const [body, key, message] of globalRefused) {
    const p = problemFor(fx.problems(`${base()}${body}`), key);
    assert.equal(p.line, 4, body);
    assert.match(p.message, message, body);
  }
});

test('unknown keys warn "unknown config option"; recognised unimplemented ones say so', () => {
  const warnings = fx.warnings(`${base()}${ROUTE}colour: blue\nautocert: true\nmetrics_address: ":9090"\notel_traces_exporter: otlp\njwt_groups_filter: [admins]\n`);
  assert.deepEqual([warningFor(warnings, 'colour').line, warningFor(warnings, 'colour').message], [8, 'unknown config option']);
  for (const key of ['autocert', 'metrics_address', 'otel_traces_exporter', 'jwt_groups_filter']) {
    assert.equal(warningFor(warnings, key).message, 'recognised Pomerium option, not implemented by this version of Postern', key);
  }
});

test('ConfigError carries every problem in line order, each with file, line and key', () => {
  const file = fx.config(`${base()}log_level: loud\naddress: x:y\nroutes:\n  - from: ftp://a\n    to: http://b,0\n  - to: http://c\n`);
  let error: unknown;
  try {
    loadConfig(file, {});
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  assert.equal(error.code, Errors.CONFIG_INVALID.code);
  assert.deepEqual(
    error.problems.map((p) => [p.file, p.line, p.key]),
    [
      [file, 4, 'log_level'],
      [file, 5, 'address'],
      [file, 7, 'routes[0].from'],
      [file, 8, 'routes[0].to'],
      [file, 9, 'routes[1].from'],
    ],
  );
  assert.match(error.message, new RegExp(`${file}:4: log_level: unknown log level "loud"`));
});

test('an unreadable file is PosternError CONFIG_UNREADABLE, not a config problem', () => {
  assert.throws(
    () => loadConfig(`${fx.dir}/missing.yaml`, {}),
    (err: unknown) => err instanceof PosternError && !(err instanceof ConfigError) && err.code === Errors.CONFIG_UNREADABLE.code && /ENOENT/.test(err.message),
  );
  assert.throws(() => loadConfig(fx.dir, {}), (err: unknown) => err instanceof PosternError && err.code === Errors.CONFIG_UNREADABLE.code);
});

function assertDeepFrozen(value: unknown, path: string, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Buffer.isBuffer(value)) return;
  assert.ok(Object.isFrozen(value), `${path} is not frozen`);
  for (const key of Reflect.ownKeys(value)) assertDeepFrozen((value as Record<PropertyKey, unknown>)[key], `${path}.${String(key)}`, seen);
}

test('the loaded configuration is deep-frozen (Buffers excepted), URLs included', () => {
  const loaded = fx.load(
    `${base()}authenticate_service_url: https://auth.example.com\nset_response_headers: {X-A: b}\n${ROUTE}    regex: /x.*\n    set_request_headers: {X-B: c}\n    allowed_idp_claims: {groups: [a]}\n    policy: {allow: {or: [{email: {is: a@b.c}}]}}\n`,
  );
  assertDeepFrozen(loaded, 'loaded');
  const { config } = loaded;
  assert.throws(() => {
    (config as { logLevel: string }).logLevel = 'debug';
  }, TypeError);
  assert.throws(() => {
    (config.routes as unknown as unknown[]).push(1);
  }, TypeError);
  assert.throws(() => {
    (config.authenticateServiceUrl as URL).hostname = 'evil.example';
  }, TypeError);
  assert.equal(config.authenticateServiceUrl?.href, 'https://auth.example.com/');
  assert.ok(config.routes[0]?.regex?.test('/xyz'));
});

test('config/example.yaml loads once its certificates and secret files exist', () => {
  const example = join(dirname(fileURLToPath(import.meta.url)), '../../../config/example.yaml');
  const dir = join(fx.dir, 'example');
  mkdirSync(join(dir, 'certs'), { recursive: true });
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  copyFileSync(example, join(dir, 'config.yaml'));
  const ca = createCertificateAuthority();
  try {
    const place = (names: string[], stem: string): void => {
      const leaf = createLeafCertificate(ca, { names });
      copyFileSync(leaf.certFile, join(dir, 'certs', `${stem}.pem`));
      copyFileSync(leaf.keyFile, join(dir, 'certs', `${stem}.key`));
    };
    place(['proxy.example.com', '*.example.com'], 'proxy.example.com');
    place(['apps.example.com'], 'apps.example.com');
    place(['client.example.com'], 'client');
    copyFileSync(ca.certFile, join(dir, 'certs', 'internal-ca.pem'));
    writeFileSync(join(dir, 'secrets', 'shared_secret'), secret());
    writeFileSync(join(dir, 'secrets', 'cookie_secret'), `${secret()}\n`);
    writeFileSync(join(dir, 'secrets', 'idp_client_secret'), 'example-client-secret');
    const { config, warnings } = loadConfig(join(dir, 'config.yaml'), {});
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.routes.map((r) => r.name), ['status', 'app-api', 'app', 'reports', 'admin', 'catch-all']);
    assert.deepEqual(config.certificates.map((c) => c.names[0]), ['proxy.example.com', 'apps.example.com']);
    assert.doesNotMatch(readFileSync(example, 'utf8'), /^\s*(shared_secret|cookie_secret|idp_client_secret):/m);
  } finally {
    ca.remove();
  }
});
