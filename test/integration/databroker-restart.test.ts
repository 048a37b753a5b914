// Sessions outlive the process: with `file` storage a user signed in before
// a restart is still signed in after it, the store's files hold nothing
// readable, and a sign-out before the restart stays a sign-out after it.
// With Postgres, two instances share sessions and a sign-out on one is
// refused on the other at once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { Browser } from '../helpers/browser.js';
import { startAuthProxy, type AuthProxy, freePort } from '../helpers/auth-proxy.js';
import { startTestIdp, TEST_USERS, type TestIdp } from '../helpers/idp.js';

const ALICE = TEST_USERS[0]!;
const PG_DSN = process.env.PG_DSN ?? 'postgres://postgres@127.0.0.1:5432/test';

let idp: TestIdp;
let port: number;
let secrets: Record<string, string>;
const clientSecret = randomBytes(16).toString('hex');

before(async () => {
  port = await freePort();
  idp = await startTestIdp({
    clients: [{ clientId: 'postern', clientSecret, redirectUris: [`http://authenticate.localhost:${port}/oauth2/callback`] }],
  });
  secrets = { shared_secret: randomBytes(32).toString('base64'), cookie_secret: randomBytes(32).toString('base64') };
});

after(async () => {
  await idp?.close();
});

function start(extra: Record<string, unknown>, atPort = port): Promise<AuthProxy> {
  return startAuthProxy({ provider: { issuer: idp.issuer, clientId: 'postern', clientSecret }, port: atPort, extra: { ...secrets, ...extra } });
}

async function signIn(px: AuthProxy): Promise<string> {
  const browser = new Browser();
  const page = await browser.signIn(px.app('/start'), ALICE);
  assert.equal(page.status, 200, `${page.url}: ${page.text().slice(0, 200)}`);
  return browser.jar.get('_pomerium', px.app('/'))!.value;
}

async function statusWith(px: AuthProxy, cookie: string): Promise<number> {
  const b = new Browser();
  b.jar.store(px.app('/'), `_pomerium=${cookie}; Path=/; Secure; HttpOnly`);
  return (await b.fetch(px.app('/private'))).status;
}

describe('file storage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const storage = { databroker_storage_type: 'file', databroker_storage_connection_string: `file://${dir}` };

  test('a session survives a restart; a sign-out before it stays one after it; nothing on disk is readable', async () => {
    let px = await start(storage);
    const kept = await signIn(px);
    const ended = await signIn(px);
    assert.equal(await statusWith(px, kept), 200);
    const out = new Browser();
    out.jar.store(px.app('/'), `_pomerium=${ended}; Path=/; Secure; HttpOnly`);
    await out.navigate(px.app('/.pomerium/sign_out'), { follow: false });
    assert.equal(await statusWith(px, ended), 401);
    await px.close();

    const bytes = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');
    assert.ok(bytes.length > 0, 'the store wrote files');
    for (const secret of [ALICE.email!, 'alice-password', kept.split('.')[1]!]) {
      assert.ok(!bytes.includes(secret), `${secret} is readable in the store's files`);
    }

    px = await start(storage);
    try {
      assert.equal(await statusWith(px, kept), 200, 'the session from before the restart still works');
      assert.equal(await statusWith(px, ended), 401, 'the ended session is still ended');
    } finally {
      await px.close();
    }
  });
});

describe('postgres storage', () => {
  const schemaOk = { reachable: false };
  before(async () => {
    const client = new pg.Client({ connectionString: PG_DSN, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      // The proxy keeps its tables in schema `postern`; a previous run's rows
      // were sealed with other keys and would (rightly) stop it from starting.
      await client.query('DROP SCHEMA IF EXISTS postern CASCADE');
      await client.end();
      schemaOk.reachable = true;
    } catch {
      if (process.env.POSTERN_REQUIRE_PG === '1') throw new Error(`POSTERN_REQUIRE_PG=1 but no PostgreSQL answers at ${PG_DSN}`);
    }
  });

  test('two instances share a session, and a sign-out on one is refused on the other at once', async (t) => {
    if (!schemaOk.reachable) {
      t.skip(`no PostgreSQL at ${PG_DSN} (set PG_DSN; POSTERN_REQUIRE_PG=1 makes this a failure)`);
      return;
    }
    // The authenticate URL names the first instance's port; the second serves the same hosts on its own port.
    const dsn = `${PG_DSN}${PG_DSN.includes('?') ? '&' : '?'}application_name=postern-test`;
    const storage = { databroker_storage_type: 'postgres', databroker_storage_connection_string: dsn };
    const a = await start(storage);
    const b = await start({ ...storage, authenticate_service_url: `http://authenticate.localhost:${port}` }, await freePort());
    try {
      const cookie = await signIn(a);
      assert.equal(await statusWith(a, cookie), 200);
      assert.equal(await statusWith(b, cookie), 200, 'the other instance knows the session');
      const out = new Browser();
      out.jar.store(a.app('/'), `_pomerium=${cookie}; Path=/; Secure; HttpOnly`);
      await out.navigate(a.app('/.pomerium/sign_out'), { follow: false });
      const started = Date.now();
      let status = 0;
      while (Date.now() - started < 1_000) {
        status = await statusWith(b, cookie);
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(status, 401, 'refused on the other instance within a second');
    } finally {
      await b.close();
      await a.close();
      const client = new pg.Client({ connectionString: PG_DSN });
      await client.connect();
      await client.query('DROP SCHEMA IF EXISTS postern CASCADE');
      await client.end();
    }
  });
});
