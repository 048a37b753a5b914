import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { join } from 'node:path';
import { base, Fixture, problemFor } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const PRIVATE_ROUTE = 'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_any_authenticated_user: true\n';

test('a route that requires sign-in without an authenticate service or provider is an error naming what is missing', () => {
  // SIGN_IN is appended only when none of its keys is present: set one to keep the others out.
  const problems = fx.problems(`${base()}idp_client_id: postern\n${PRIVATE_ROUTE}`);
  const p = problemFor(problems, 'routes[0]');
  assert.match(p.message, /route requires sign-in, but authenticate_service_url, idp_provider_url are not set/);
  assert.equal(p.line, 6);
});

test('public routes need no sign-in settings', () => {
  const { config } = fx.load(`${base()}routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n`);
  assert.equal(config.authenticateServiceUrl, null);
});

test('programmatic_redirect_domain_whitelist defaults to localhost and is lower-cased', () => {
  assert.deepEqual(fx.load(base()).config.programmaticRedirectDomains, ['localhost']);
  assert.deepEqual(
    fx.load(`${base()}programmatic_redirect_domain_whitelist: [localhost, CLI.Example.com]\n`).config.programmaticRedirectDomains,
    ['localhost', 'cli.example.com'],
  );
});

test('control_socket defaults beside the config file and resolves relative paths there', () => {
  const loaded = fx.load(base());
  assert.equal(loaded.config.controlSocket, join(fx.dir, '.postern.sock'));
  assert.equal(fx.load(`${base()}control_socket: run/ctl.sock\n`).config.controlSocket, join(fx.dir, 'run', 'ctl.sock'));
  assert.equal(fx.load(`${base()}control_socket: /run/postern/ctl.sock\n`).config.controlSocket, '/run/postern/ctl.sock');
});

test('an http:// identity provider is accepted only on loopback', () => {
  for (const url of ['http://127.0.0.1:9000', 'http://localhost:9000', 'http://[::1]:9000', 'http://idp.localhost']) {
    assert.equal(fx.load(`${base()}idp_provider_url: ${url}\n`).config.idp.providerUrl, url);
  }
  for (const url of ['http://idp.example.com', 'http://10.0.0.1', 'http://127.example.com']) {
    const p = problemFor(fx.problems(`${base()}idp_provider_url: ${url}\n`), 'idp_provider_url');
    assert.match(p.message, /https:\/\/ URL \(plain http is accepted only on loopback/);
    assert.equal(p.line, 4);
  }
});

test('a route may bring its own idp_client_id and secret; a secret alone is an error', () => {
  const { config } = fx.load(
    `${base()}authenticate_service_url: https://auth.example.com\nidp_provider_url: https://idp.example.com\nroutes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_any_authenticated_user: true\n    idp_client_id: route-client\n    idp_client_secret: route-secret\n`,
  );
  assert.deepEqual(config.routes[0]!.idpClient, { clientId: 'route-client', clientSecret: 'route-secret' });
  const p = problemFor(
    fx.problems(`${base()}${'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_any_authenticated_user: true\n    idp_client_secret: lonely\n'}`),
    'routes[0].idp_client_secret',
  );
  assert.match(p.message, /without idp_client_id/);
});
