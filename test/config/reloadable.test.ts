// What a reload may change in a running proxy (routes, the databroker
// leader) and what it reports as needing a restart: every change of a
// setting is caught, a generated shared_secret is not a change, and routes
// that need sign-in are refused by a proxy that started without it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { configAfterReload, planReload } from '../../src/config/reloadable.js';
import { loadConfig } from '../../src/config/load.js';
import { Fixture, secret, SIGN_IN } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const SHARED = secret();
const COOKIE = secret();
const SECRETS = `insecure_server: true\nshared_secret: ${SHARED}\ncookie_secret: ${COOKIE}\n`;
const PUBLIC_ROUTE = 'routes:\n  - from: http://app.localhost\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n';

/** A reload reads the same file again: every config here is written to one path. */
function load(text: string) {
  return loadConfig(fx.write('postern.yaml', text), {}).config;
}

describe('planReload', () => {
  const running = load(`${SECRETS}${SIGN_IN}${PUBLIC_ROUTE}`);

  it('sees nothing to do when the file is unchanged', () => {
    assert.deepEqual(planReload(running, load(`${SECRETS}${SIGN_IN}${PUBLIC_ROUTE}`), true), {
      routesChanged: false,
      leaderId: null,
      restartRequired: [],
      refused: null,
    });
  });

  it('applies route changes: a new route, a changed policy, a removed route', () => {
    const cases = [
      `${PUBLIC_ROUTE}  - from: http://new.localhost\n    to: http://127.0.0.1:9001\n    allow_public_unauthenticated_access: true\n`,
      'routes:\n  - from: http://app.localhost\n    to: http://127.0.0.1:9000\n    allowed_domains: [example.com]\n',
      'routes: []\n',
    ];
    for (const routes of cases) {
      const plan = planReload(running, load(`${SECRETS}${SIGN_IN}${routes}`), true);
      assert.equal(plan.routesChanged, true, routes);
      assert.deepEqual(plan.restartRequired, [], routes);
    }
  });

  it('names every other changed setting as needing a restart, by its key', () => {
    const table: ReadonlyArray<readonly [string, string]> = [
      ['log_level: debug\n', 'log_level'],
      ['timeout_read: 5s\n', 'timeout_read'],
      ['cookie_name: _other\n', 'cookie_*'],
      ['xff_num_trusted_hops: 2\n', 'xff_num_trusted_hops'],
      ['pass_identity_headers: true\n', 'pass_identity_headers'],
      ['jwt_claims_headers: [email]\n', 'jwt_claims_headers'],
      ['databroker_encryption_key: [' + secret() + ']\n', 'databroker_encryption_key'],
    ];
    for (const [extra, key] of table) {
      const plan = planReload(running, load(`${SECRETS}${SIGN_IN}${PUBLIC_ROUTE}${extra}`), true);
      assert.deepEqual(plan.restartRequired, [key], extra);
      assert.equal(plan.routesChanged, false, extra);
    }
    // Route defaults come with the routes; Postern's own pages keep the start's headers.
    const headers = planReload(running, load(`${SECRETS}${SIGN_IN}${PUBLIC_ROUTE}set_response_headers:\n  X-Test: one\n`), true);
    assert.deepEqual([headers.routesChanged, headers.restartRequired], [true, ["set_response_headers (on Postern's own pages)"]]);
    const timeout = planReload(running, load(`${SECRETS}${SIGN_IN}${PUBLIC_ROUTE}default_upstream_timeout: 5s\n`), true);
    assert.deepEqual([timeout.routesChanged, timeout.restartRequired], [true, []]);
    const secrets = planReload(running, load(`insecure_server: true\nshared_secret: ${secret()}\ncookie_secret: ${COOKIE}\n${SIGN_IN}${PUBLIC_ROUTE}`), true);
    assert.deepEqual(secrets.restartRequired, ['shared_secret']);
  });

  it('does not count a generated shared_secret (new at every load) as a change', () => {
    const generated = `insecure_server: true\n${PUBLIC_ROUTE}`;
    const first = load(generated);
    const second = load(generated);
    assert.equal(first.sharedSecretGenerated, true);
    assert.notDeepEqual(first.sharedSecret, second.sharedSecret);
    assert.deepEqual(planReload(first, second, false).restartRequired, []);
    // Moving the routes down the file is not a route change.
    assert.equal(planReload(first, load(`insecure_server: true\n\n# moved\n${PUBLIC_ROUTE}`), false).routesChanged, false);
    // Setting one where it was generated is a change.
    assert.deepEqual(planReload(first, load(`${SECRETS}${PUBLIC_ROUTE}`), false).restartRequired, ['shared_secret', 'cookie_*']);
  });

  it('refuses routes that need sign-in when the proxy started without an authenticate service', () => {
    const publicOnly = load(`${SECRETS}${PUBLIC_ROUTE}`);
    const next = load(`${SECRETS}${SIGN_IN}routes:\n  - from: http://app.localhost\n    to: http://127.0.0.1:9000\n    allow_any_authenticated_user: true\n`);
    const plan = planReload(publicOnly, next, false);
    assert.equal(plan.routesChanged, false);
    assert.match(plan.refused ?? '', /needs sign-in.*restart/);
    assert.match(plan.refused ?? '', /postern\.yaml:\d+/);
    // The same routes are fine for a proxy that has one.
    assert.equal(planReload(publicOnly, next, true).refused, null);
  });
});

describe('planReload with a databroker peer group', () => {
  const pair = fx.certificate('peer', 'node-a', ['node-a.internal']);
  const cluster = (leader: string, extraNode = '') =>
    `${SECRETS}databroker_cluster_nodes:\n  - id: a\n    address: 127.0.0.1:5001\n  - id: b\n    address: 127.0.0.1:5002\n${extraNode}` +
    `databroker_cluster_node_id: b\ndatabroker_cluster_leader_id: ${leader}\n` +
    `databroker_cluster_certificate_file: ${pair.certFile}\ndatabroker_cluster_certificate_key_file: ${pair.keyFile}\ndatabroker_cluster_ca_file: ${pair.certFile}\n${PUBLIC_ROUTE}`;

  it('hands a new leader to the group, and nothing else', () => {
    const running = load(cluster('a'));
    const plan = planReload(running, load(cluster('b')), false);
    assert.deepEqual(plan, { routesChanged: false, leaderId: 'b', restartRequired: [], refused: null });
    const inForce = configAfterReload(running, load(cluster('b')), plan);
    assert.equal(inForce.databroker.cluster?.leaderId, 'b');
    // Reloading the same file again changes nothing more.
    assert.equal(planReload(inForce, load(cluster('b')), false).leaderId, null);
  });

  it('needs a restart for any other cluster change', () => {
    const plan = planReload(load(cluster('a')), load(cluster('a', '  - id: c\n    address: 127.0.0.1:5003\n')), false);
    assert.equal(plan.leaderId, null);
    assert.deepEqual(plan.restartRequired, ['databroker_cluster_* (other than databroker_cluster_leader_id)']);
  });
});
