// Three `postern serve` processes in one databroker peer group over mutual
// TLS on loopback, each with its own `file` store, as an operator runs them: sign in through one, use the
// session through another, sign out through a third and see it refused
// everywhere; lose the leader (kill -9) and keep serving existing sessions
// read-only; promote a follower by a configuration reload (SIGHUP) and
// sign in again; bring the old leader back as a follower of the new one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { startAuthProxy, freePort, type AuthProxy } from '../helpers/auth-proxy.js';
import { Browser } from '../helpers/browser.js';
import { createCertificateAuthority, type CertificateAuthority } from '../helpers/certs.js';
import { startTestIdp, TEST_USERS, type TestIdp } from '../helpers/idp.js';
import { request } from '../helpers/client.js';
import { waitUntil } from '../helpers/wait.js';
import { createPeerCertificate } from '../databroker/peers/fixtures.js';

const ALICE = TEST_USERS[0]!;
const BOB = TEST_USERS[1]!;
const NODES = ['a', 'b', 'c'] as const;
type NodeId = (typeof NODES)[number];

describe('a databroker peer group of three postern processes', () => {
  const clientSecret = randomBytes(16).toString('hex');
  const secrets = { shared_secret: randomBytes(32).toString('base64'), cookie_secret: randomBytes(32).toString('base64') };
  const dir = mkdtempSync(join(tmpdir(), 'postern-peers-'));
  let ca: CertificateAuthority;
  let idp: TestIdp;
  const httpPorts = {} as Record<NodeId, number>;
  const peerPorts = {} as Record<NodeId, number>;
  const proxies = {} as Record<NodeId, AuthProxy>;

  /** The cluster settings of node `id` with `leader` as the configured leader. */
  const clusterSettings = (id: NodeId, leader: NodeId): Record<string, unknown> => ({
    // Each member keeps its own encrypted file store: the one it serves from when it leads.
    databroker_storage_type: 'file',
    databroker_storage_connection_string: `file://${join(dir, `store-${id}`)}`,
    databroker_cluster_nodes: NODES.map((n) => ({ id: n, address: `127.0.0.1:${peerPorts[n]}` })),
    databroker_cluster_node_id: id,
    databroker_cluster_leader_id: leader,
    databroker_cluster_certificate_file: join(dir, `${id}.pem`),
    databroker_cluster_certificate_key_file: join(dir, `${id}.key`),
    databroker_cluster_ca_file: ca.certFile,
  });

  before(async () => {
    ca = createCertificateAuthority('Peers process test CA');
    for (const id of NODES) {
      httpPorts[id] = await freePort();
      peerPorts[id] = await freePort();
      const cert = createPeerCertificate(ca, { commonName: id, dnsNames: [id] });
      writeFileSync(join(dir, `${id}.pem`), cert.certPem);
      writeFileSync(join(dir, `${id}.key`), cert.keyPem, { mode: 0o600 });
    }
    idp = await startTestIdp({
      clients: [{ clientId: 'postern', clientSecret, redirectUris: NODES.map((id) => `http://authenticate.localhost:${httpPorts[id]}/oauth2/callback`) }],
    });
    // The leader first: followers that start before it would only wait for it.
    for (const id of NODES) {
      proxies[id] = await startAuthProxy({
        provider: { issuer: idp.issuer, clientId: 'postern', clientSecret },
        port: httpPorts[id],
        extra: { ...secrets, ...clusterSettings(id, 'a') },
      });
    }
  });

  after(async () => {
    for (const id of NODES) await proxies[id]?.close();
    await idp?.close();
    ca?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signIn(px: AuthProxy, user = ALICE): Promise<{ status: number; cookie: string | undefined }> {
    const browser = new Browser();
    const page = await browser.signIn(px.app('/start'), user);
    return { status: page.status, cookie: browser.jar.get('_pomerium', px.app('/'))?.value };
  }

  async function statusWith(px: AuthProxy, cookie: string): Promise<number> {
    const b = new Browser();
    b.jar.store(px.app('/'), `_pomerium=${cookie}; Path=/; Secure; HttpOnly`);
    return (await b.fetch(px.app('/private'))).status;
  }

  async function signOut(px: AuthProxy, cookie: string): Promise<void> {
    const b = new Browser();
    b.jar.store(px.app('/'), `_pomerium=${cookie}; Path=/; Secure; HttpOnly`);
    await b.navigate(px.app('/.pomerium/sign_out'), { follow: false });
  }

  /** Polls until `cookie` gets `status` on `px`; resolves with how long that took (ms), or fails after `timeoutMs`. */
  async function until(px: AuthProxy, cookie: string, status: number, timeoutMs = 1_000): Promise<number> {
    const started = performance.now();
    let last = 0;
    const ok = await waitUntil(async () => (last = await statusWith(px, cookie)) === status, timeoutMs);
    assert.ok(ok, `expected ${status} within ${timeoutMs} ms on port ${px.port}, still ${last}`);
    return performance.now() - started;
  }

  async function health(px: AuthProxy): Promise<{ status: number; body: string }> {
    const res = await request(px.url('anything.localhost', '/healthz'));
    return { status: res.status, body: res.text() };
  }

  /** Rewrites node `id`'s config file with `leader` as the leader and reloads it. */
  async function setLeader(id: NodeId, leader: NodeId): Promise<void> {
    const px = proxies[id];
    const config = parse(readFileSync(px.proxy.configFile, 'utf8')) as Record<string, unknown>;
    const line = await px.proxy.reload({ ...config, databroker_cluster_leader_id: leader });
    assert.equal(line.msg, 'configuration reloaded', JSON.stringify(line));
    assert.equal(line['leader'], leader);
  }

  test('sign in through one, use the session through another, sign out through a third: refused everywhere', async () => {
    const { status, cookie } = await signIn(proxies.a);
    assert.equal(status, 200);
    assert.ok(cookie !== undefined);
    for (const id of NODES) await until(proxies[id], cookie, 200);

    // A sign-in through a follower is forwarded to the leader and seen everywhere too.
    const viaFollower = await signIn(proxies.c, BOB);
    assert.equal(viaFollower.status, 200);
    for (const id of NODES) await until(proxies[id], viaFollower.cookie!, 200);

    await signOut(proxies.c, cookie);
    for (const id of NODES) await until(proxies[id], cookie, 401);
    assert.equal(await statusWith(proxies.b, viaFollower.cookie!), 200, "another user's session is untouched");
  });

  test('losing the leader keeps existing sessions working read-only; promoting a follower by reload resumes sign-ins', async () => {
    const kept = await signIn(proxies.b);
    assert.equal(kept.status, 200);
    for (const id of NODES) await until(proxies[id], kept.cookie!, 200);

    // kill -9: no goodbye to the followers.
    await proxies.a.proxy.stop('SIGKILL');
    for (const id of ['b', 'c'] as const) {
      // Still 200: a follower without its leader serves reads, so load balancers keep sending it users.
      assert.ok(await waitUntil(async () => /^DEGRADED: .*leader/.test((await health(proxies[id])).body), 5_000), `node ${id} reports the lost leader`);
      assert.equal((await health(proxies[id])).status, 200);
      assert.equal(await statusWith(proxies[id], kept.cookie!), 200, `node ${id} still serves the existing session`);
    }
    const refused = await signIn(proxies.b, BOB);
    assert.notEqual(refused.status, 200, 'no sign-in without a leader');

    // The operator names b the leader on b and c, and reloads them (a stays down).
    await setLeader('b', 'b');
    await setLeader('c', 'b');
    for (const id of ['b', 'c'] as const) {
      assert.ok(await waitUntil(async () => !(await health(proxies[id])).body.includes('DEGRADED'), 5_000), `node ${id} is healthy again: ${(await health(proxies[id])).body}`);
    }
    assert.equal(await statusWith(proxies.c, kept.cookie!), 200, 'sessions from before the promotion still work');

    const fresh = await signIn(proxies.c, BOB);
    assert.equal(fresh.status, 200, 'sign-in works again, through a follower of the new leader');
    await until(proxies.b, fresh.cookie!, 200);
    await signOut(proxies.b, kept.cookie!);
    for (const id of ['b', 'c'] as const) await until(proxies[id], kept.cookie!, 401);

    // The old leader comes back from its own store, configured to follow b: it
    // takes b's history over its own, so it knows the new session and the sign-out.
    await proxies.a.close();
    proxies.a = await startAuthProxy({
      provider: { issuer: idp.issuer, clientId: 'postern', clientSecret },
      port: httpPorts.a,
      extra: { ...secrets, ...clusterSettings('a', 'b') },
    });
    await until(proxies.a, fresh.cookie!, 200, 5_000);
    assert.equal(await statusWith(proxies.a, kept.cookie!), 401, 'a sign-out made while it was down holds on the old leader');
  });
});
