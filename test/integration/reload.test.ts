// A configuration reload (SIGHUP) on a running `postern serve`: routes are
// added, changed and removed without a restart, on connections that stay
// open, while a request started before the reload still finishes through
// the old route; an invalid file changes nothing and says where it is
// wrong; settings read only at start are named as needing a restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/client.js';
import { KeepAliveClient } from '../helpers/keep-alive.js';
import { baseConfig, publicRoute, randomSecret, startPostern, type Postern } from '../helpers/postern.js';
import { startEcho, startSlow, type EchoReply, type Upstream } from '../helpers/upstreams.js';
import { freePort } from '../helpers/auth-proxy.js';
import { createCertificateAuthority } from '../helpers/certs.js';
import { createPeerCertificate } from '../databroker/peers/fixtures.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Sign-in settings pointing at a provider nobody answers for: no request here gets as far as signing in.
const SIGN_IN = {
  authenticate_service_url: 'https://authenticate.internal',
  idp_provider: 'oidc',
  idp_provider_url: 'http://127.0.0.1:9',
  idp_client_id: 'postern',
  idp_client_secret: 'unused',
};

describe('configuration reload', () => {
  let first: Upstream;
  let second: Upstream;
  let slow: Upstream;
  let proxy: Postern;
  const secrets = { shared_secret: randomSecret(), cookie_secret: randomSecret() };
  const config = (routes: readonly object[], extra: Record<string, unknown> = {}) => baseConfig(routes, { ...SIGN_IN, ...secrets, ...extra });

  before(async () => {
    first = await startEcho('first');
    second = await startEcho('second');
    slow = await startSlow({ headerDelayMs: 1_500, body: 'from before the reload' });
    proxy = await startPostern(config([publicRoute('http://app.localhost', first.origin), publicRoute('http://slow.localhost', slow.origin)]));
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([first?.close(), second?.close(), slow?.close()]);
  });

  /** Which upstream answered (its echo name), or the status when it was not a 200. */
  const nameAt = async (host: string, client?: KeepAliveClient): Promise<string | number> => {
    const res = client ? await client.request(host, '/') : await request(proxy.url(host));
    if (res.status !== 200) return res.status;
    return client ? (res as Awaited<ReturnType<KeepAliveClient['request']>>).json<EchoReply>().name : (res as Awaited<ReturnType<typeof request>>).json<EchoReply>().name;
  };

  test('adds, changes and removes routes on a kept-alive connection, and finishes a request begun before', async () => {
    const client = new KeepAliveClient(proxy.port);
    assert.equal(await nameAt('app.localhost', client), 'first');
    assert.equal(await nameAt('new.localhost', client), 404);
    const pending = request(proxy.url('slow.localhost'));
    await slow.waitForRequests(1);

    const reloaded = await proxy.reload(
      config([publicRoute('http://app.localhost', second.origin), publicRoute('http://new.localhost', first.origin)]),
    );
    assert.equal(reloaded.msg, 'configuration reloaded');
    assert.equal(reloaded['routes'], 2);
    assert.equal(reloaded['routesChanged'], true);

    const answers = [await nameAt('app.localhost', client), await nameAt('new.localhost', client), await nameAt('slow.localhost', client)];
    assert.deepEqual(answers, ['second', 'first', 404]);
    // The same socket carried requests before and after the reload.
    assert.equal((await client.request('app.localhost', '/')).reusedSocket, true);

    const old = await pending;
    assert.equal(old.status, 200);
    assert.equal(old.text(), 'from before the reload');
  });

  test('a route that becomes private asks for sign-in at once', async () => {
    await proxy.reload(config([publicRoute('http://app.localhost', first.origin)]));
    assert.equal(await nameAt('app.localhost'), 'first');
    const reloaded = await proxy.reload(config([{ from: 'http://app.localhost', to: first.origin, allow_any_authenticated_user: true }]));
    assert.equal(reloaded.msg, 'configuration reloaded');
    const reached = first.requests.length;
    const res = await request(proxy.url('app.localhost'), { headers: { accept: 'application/json' } });
    assert.equal(res.status, 401);
    assert.equal(first.requests.length, reached);
  });

  test('an invalid file changes nothing and names file, line and key', async () => {
    await proxy.reload(config([publicRoute('http://app.localhost', first.origin)]));
    const before = first.requests.length;
    const refused = await proxy.reload(
      'insecure_server: true\naddress: 127.0.0.1:0\nroutes:\n  - from: http://app.localhost\n    to: not a url\n    allow_public_unauthenticated_access: true\n',
    );
    assert.match(String(refused.msg), /^configuration reload refused/);
    assert.equal(refused['file'], proxy.configFile);
    assert.equal(typeof refused['line'], 'number');
    assert.match(String(refused['key']), /^routes\[0\]\.to/);
    assert.equal(await nameAt('app.localhost'), 'first');
    assert.equal(first.requests.length, before + 1);
  });

  test('settings read only at start are named as needing a restart; the routes still change', async () => {
    const reloaded = await proxy.reload(config([publicRoute('http://app.localhost', second.origin)], { log_level: 'debug', cookie_name: '_renamed' }));
    assert.equal(reloaded.msg, 'configuration reloaded');
    const warning = [...proxy.logs].reverse().find((l) => l.msg === 'configuration reload: these settings changed and take effect only after a restart');
    assert.deepEqual(warning?.['keys'], ['cookie_*', 'log_level']);
    assert.equal(await nameAt('app.localhost'), 'second');
    // Still the start's log level: no debug lines after the reload.
    const since = proxy.logs.indexOf(reloaded);
    assert.equal(proxy.logs.slice(since).some((l) => l['level'] === 20), false);
  });
});

describe('a reload asked for while the proxy is still starting', () => {
  test('does not end the process: it is done once the proxy listens', async () => {
    // A follower whose leader is not running waits (10 s) for a first
    // snapshot before it listens: a wide window to send SIGHUP in.
    const ca = createCertificateAuthority('Reload test CA');
    const dir = mkdtempSync(join(tmpdir(), 'postern-reload-'));
    const upstream = await startEcho('early');
    try {
      const cert = createPeerCertificate(ca, { commonName: 'b', dnsNames: ['b'] });
      writeFileSync(join(dir, 'b.pem'), cert.certPem);
      writeFileSync(join(dir, 'b.key'), cert.keyPem, { mode: 0o600 });
      const config = baseConfig([publicRoute('http://app.localhost', upstream.origin)], {
        log_level: 'info',
        databroker_cluster_nodes: [
          { id: 'a', address: `127.0.0.1:${await freePort()}` },
          { id: 'b', address: `127.0.0.1:${await freePort()}` },
        ],
        databroker_cluster_node_id: 'b',
        databroker_cluster_leader_id: 'a',
        databroker_cluster_certificate_file: join(dir, 'b.pem'),
        databroker_cluster_certificate_key_file: join(dir, 'b.key'),
        databroker_cluster_ca_file: ca.certFile,
      });
      const { sighup, proxy } = await startPosternWhenLogged(config, (line) => String(line.msg).startsWith('databroker leader unreachable'));
      try {
        assert.ok(sighup, 'the signal was sent before the proxy listened');
        await proxy.waitForLog((l) => l.msg === 'configuration reloaded', 5_000);
        const res = await request(proxy.url('app.localhost'));
        assert.equal(res.status, 200);
      } finally {
        await proxy.stop();
      }
    } finally {
      await upstream.close();
      ca.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Starts `postern serve` and sends it SIGHUP as soon as a log line matching
 * `when` appears, before it listens; resolves once it listens, with whether
 * the signal went out before the `listening` line.
 */
async function startPosternWhenLogged(config: object, when: (line: { msg?: string }) => boolean): Promise<{ sighup: boolean; proxy: Postern }> {
  let sighup = false;
  let listened = false;
  const started = startPostern(config, {
    startTimeoutMs: 20_000,
    onLog: (line, child) => {
      if (line.msg === 'listening') listened = true;
      if (!sighup && !listened && when(line)) {
        sighup = true;
        child.kill('SIGHUP');
      }
    },
  });
  const proxy = await started;
  return { sighup, proxy };
}
