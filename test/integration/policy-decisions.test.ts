// Routes guarded by Pomerium policies (PPL `policy:` blocks), decided by the
// real proxy for people who signed in at a real OpenID provider (the
// development IdP): allow by e-mail domain, by group (the provider's
// `groups` claim), by path and method; deny winning over allow; `not` and
// several blocks under one action; the 403 page in HTML and JSON, with the
// reasons only where show_error_details asks for them; sign-in asked of
// anonymous callers (302 for browsers, 401 for API clients) whenever a
// policy needs an identity, public routes with an identity deny rule
// included; and one authorize-check log line per decision with Pomerium's
// fields.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Browser, type Page } from '../helpers/browser.js';
import { assertNothingOfOursUpstream, startWithDevIdp, type DevIdpSetup } from '../helpers/auth-proxy.js';
import { retryOnListenFailure } from '../helpers/listen-retry.js';
import { TEST_USERS, type TestUser } from '../helpers/idp.js';
import { KeepAliveClient } from '../helpers/keep-alive.js';
import type { LogLine } from '../helpers/postern.js';
import type { EchoReply } from '../helpers/upstreams.js';

const ALICE = TEST_USERS[0]!; // alice@example.com, groups admins + staff
const BOB = TEST_USERS[1]!; // bob@example.com, group staff
const CAROL: TestUser = { username: 'carol', password: 'carol-password', email: 'carol@other.org', name: 'Carol Other', groups: [] };
type Who = 'alice' | 'bob' | 'carol';
const USERS: Readonly<Record<Who, TestUser>> = { alice: ALICE, bob: BOB, carol: CAROL };

/** Every reason string Pomerium defines that these routes can produce: none may leak without show_error_details. */
const REASONS = ['domain-ok', 'domain-unauthorized', 'email-ok', 'email-unauthorized', 'groups-ok', 'groups-unauthorized', 'http-path-ok', 'http-method-unauthorized', 'user-ok'];

const DENY_POLICY = {
  allow: { or: [{ authenticated_user: true }] },
  deny: { or: [{ email: { is: 'bob@example.com' } }, { http_path: { starts_with: '/blocked/' } }] },
};

const ROUTES: readonly Record<string, unknown>[] = [
  { name: 'by-domain', from: 'http://domain.localhost', show_error_details: true, policy: { allow: { or: [{ domain: { is: 'example.com' } }] } } },
  { name: 'by-group', from: 'http://admins.localhost', policy: { allow: { and: [{ groups: { has: 'admins' } }] } } },
  { name: 'by-group-claim', from: 'http://staff.localhost', policy: { allow: { and: [{ 'claim/groups': 'staff' }] } } },
  {
    name: 'by-path-and-method',
    from: 'http://paths.localhost',
    policy: [
      { allow: { or: [{ http_path: { starts_with: '/public/' } }] } },
      { allow: { and: [{ groups: { has: 'staff' } }, { http_method: { in: ['GET', 'HEAD'] } }] } },
      { allow: { and: [{ groups: { has: 'admins' } }, { http_path: { starts_with: '/admin/' } }] } },
    ],
  },
  { name: 'deny-wins', from: 'http://deny.localhost', show_error_details: true, policy: DENY_POLICY },
  { name: 'deny-quiet', from: 'http://quiet.localhost', policy: DENY_POLICY },
  // `not` inverts each criterion and ANDs them: neither bob nor an admin.
  { name: 'not-block', from: 'http://not.localhost', policy: { allow: { not: [{ email: { is: 'bob@example.com' } }, { groups: { has: 'admins' } }] } } },
  // Blocks under one action are ORed (Pomerium's generator): (admins ∧ POST) ∨ path /open.
  {
    name: 'blocks-or',
    from: 'http://combo.localhost',
    policy: { allow: { and: [{ groups: { has: 'admins' } }, { http_method: 'POST' }], or: [{ http_path: '/open' }] } },
  },
  { name: 'public-deny', from: 'http://public.localhost', allow_public_unauthenticated_access: true, policy: { deny: { or: [{ email: { is: 'bob@example.com' } }] } } },
];
const HOSTS = ROUTES.map((r) => new URL(r['from'] as string).hostname);

/** Routes whose criteria need nobody (no session cookie is made for them). */
const ANONYMOUS_ROUTES: readonly Record<string, unknown>[] = [
  { name: 'from-ten', from: 'http://ten.localhost', show_error_details: true, policy: { allow: { or: [{ source_ip: '10.0.0.0/8' }] } } },
  { name: 'from-loopback', from: 'http://loopback.localhost', policy: { allow: { or: [{ source_ip: ['127.0.0.1', '::1'] }] } } },
  { name: 'preflight', from: 'http://cors.localhost', policy: { allow: { or: [{ cors_preflight: true }, { domain: { is: 'example.com' } }] } } },
];

let s: DevIdpSetup;
const browsers = new Map<Who, Browser>();

before(async () => {
  s = await retryOnListenFailure(() => startWithDevIdp({ routes: [...ROUTES, ...ANONYMOUS_ROUTES], idp: { users: [ALICE, BOB, CAROL] } }));
  // Each user signs in once at the provider and then holds a session cookie for every route host.
  for (const who of Object.keys(USERS) as Who[]) {
    const b = new Browser();
    for (const host of HOSTS) {
      const page = await b.signIn(s.px.url(host, '/'), USERS[who]);
      assert.ok(page.status === 200 || page.status === 403, `${who} on ${host}: ${page.status} at ${page.url}`);
      assert.ok(b.jar.get('_pomerium', s.px.url(host, '/')), `${who} has a session cookie on ${host}`);
    }
    browsers.set(who, b);
  }
});

after(async () => {
  await s?.close();
});

/** One request by a signed-in user (or nobody), no redirect followed. */
function call(who: Who | null, host: string, path: string, opts: { method?: string; json?: boolean } = {}): Promise<Page> {
  const b = who === null ? new Browser() : browsers.get(who)!;
  const url = s.px.url(host, path);
  const method = opts.method ?? 'GET';
  return opts.json ? b.fetch(url, { method }) : b.navigate(url, { method, follow: false });
}

interface Row {
  readonly who: Who;
  readonly method?: string;
  readonly path?: string;
  readonly status: 200 | 403;
}

async function assertTable(host: string, rows: readonly Row[]): Promise<void> {
  for (const row of rows) {
    const before = s.px.upstream.requests.length;
    const page = await call(row.who, host, row.path ?? '/x', { method: row.method ?? 'GET' });
    const what = `${row.who} ${row.method ?? 'GET'} ${host}${row.path ?? '/x'}`;
    assert.equal(page.status, row.status, `${what}: ${page.status} ${page.text().slice(0, 200)}`);
    assert.equal(s.px.upstream.requests.length - before, row.status === 200 ? 1 : 0, `${what}: only an allowed request reaches the upstream`);
    if (row.status === 200) assert.equal(page.json<EchoReply>().name, 'app');
  }
}

/** The authorize-check line of the request that got this response. */
function authorizeLine(page: Page): Promise<LogLine> {
  const id = page.headers['x-request-id'];
  assert.equal(typeof id, 'string', 'every answer carries its request id');
  return s.px.proxy.waitForLog((l) => l.msg === 'authorize check' && l['request-id'] === id, 3_000);
}

/** The session id a `_pomerium` handle names (`v1.<session id>.<mac>`). */
function sessionIdOf(who: Who, host: string): string {
  const value = browsers.get(who)!.jar.get('_pomerium', s.px.url(host, '/'))!.value;
  const [, id] = value.split('.');
  assert.ok(id, `a session handle: ${value}`);
  return id;
}

describe('allow and deny by policy', () => {
  test('email domain: alice and bob (example.com) in, carol (other.org) out', async () => {
    await assertTable('domain.localhost', [
      { who: 'alice', status: 200 },
      { who: 'bob', status: 200 },
      { who: 'carol', status: 403 },
    ]);
  });

  test("group from the provider's groups claim: only alice is in admins", async () => {
    await assertTable('admins.localhost', [
      { who: 'alice', status: 200 },
      { who: 'bob', status: 403 },
      { who: 'carol', status: 403 },
    ]);
  });

  test('claim/groups reads the same claim: alice and bob are staff', async () => {
    await assertTable('staff.localhost', [
      { who: 'alice', status: 200 },
      { who: 'bob', status: 200 },
      { who: 'carol', status: 403 },
    ]);
  });

  test('http_path and http_method rules: staff may read, admins may write under /admin/, anyone under /public/', async () => {
    await assertTable('paths.localhost', [
      { who: 'bob', method: 'GET', path: '/docs', status: 200 },
      { who: 'bob', method: 'POST', path: '/docs', status: 403 },
      { who: 'bob', method: 'POST', path: '/admin/x', status: 403 },
      { who: 'alice', method: 'POST', path: '/admin/x', status: 200 },
      { who: 'alice', method: 'DELETE', path: '/docs', status: 403 },
      { who: 'carol', method: 'GET', path: '/docs', status: 403 },
      { who: 'carol', method: 'POST', path: '/public/form', status: 200 },
    ]);
    // A path rule alone needs nobody: an anonymous caller gets /public/ without signing in.
    const before = s.px.upstream.requests.length;
    const anon = await call(null, 'paths.localhost', '/public/page');
    assert.equal(anon.status, 200, anon.text().slice(0, 200));
    assert.equal(s.px.upstream.requests.length - before, 1);
  });

  test('deny wins over allow: any signed-in user is allowed, but bob and /blocked/ are denied', async () => {
    await assertTable('deny.localhost', [
      { who: 'alice', path: '/x', status: 200 },
      { who: 'carol', path: '/x', status: 200 },
      { who: 'bob', path: '/x', status: 403 },
      { who: 'alice', path: '/blocked/x', status: 403 },
    ]);
  });

  test('path rules see the normalised path: no spelling of a denied path gets past the deny rule', async () => {
    const cookie = `_pomerium=${browsers.get('alice')!.jar.get('_pomerium', s.px.url('deny.localhost', '/'))!.value}`;
    const client = new KeepAliveClient(s.px.port);
    try {
      const before = s.px.upstream.requests.length;
      for (const path of ['/blocked/x', '/%62locked/x', '/blocked/%78', '//blocked/x', '/./blocked/x', '/open/../blocked/x', '/open/%2e%2e/blocked/x', '/blocked//x']) {
        const res = await client.request('deny.localhost', path, { cookie, accept: 'application/json' });
        assert.equal(res.status, 403, `${path}: ${res.status} ${res.body.slice(0, 200)}`);
      }
      // An encoded slash is refused before any policy (Envoy's REJECT_REQUEST).
      assert.equal((await client.request('deny.localhost', '/blocked%2Fx', { cookie, accept: 'application/json' })).status, 400);
      assert.equal(s.px.upstream.requests.length, before, 'none reached the upstream');
      // And the upstream receives the path the policy judged.
      const allowed = await client.request('deny.localhost', '/%61llowed//x/./y', { cookie, accept: 'application/json' });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.json<EchoReply>().url, '/allowed/x/y');
    } finally {
      client.close();
    }
  });

  test('not: every criterion inverted and ANDed — carol (neither bob nor admin) only', async () => {
    await assertTable('not.localhost', [
      { who: 'carol', status: 200 },
      { who: 'bob', status: 403 },
      { who: 'alice', status: 403 },
    ]);
  });

  test('and + or under one allow are ORed: (admins and POST) or path /open', async () => {
    await assertTable('combo.localhost', [
      { who: 'alice', method: 'POST', path: '/x', status: 200 },
      { who: 'alice', method: 'GET', path: '/x', status: 403 },
      { who: 'bob', method: 'POST', path: '/x', status: 403 },
      { who: 'bob', method: 'GET', path: '/open', status: 200 },
      { who: 'carol', method: 'PUT', path: '/open', status: 200 },
    ]);
  });

  test('a public route with an identity deny rule: alice and carol in, bob denied', async () => {
    await assertTable('public.localhost', [
      { who: 'alice', status: 200 },
      { who: 'carol', status: 200 },
      { who: 'bob', status: 403 },
    ]);
  });
});

describe('criteria about the request, not the person', () => {
  test('source_ip is the connection address: a client-sent X-Forwarded-For changes nothing', async () => {
    const spoofed = await new Browser().fetch(s.px.url('ten.localhost', '/x'), { headers: { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3' } });
    assert.equal(spoofed.status, 403, spoofed.text().slice(0, 200));
    assert.match(spoofed.json<{ detail?: string }>().detail ?? '', /source-ip-unauthorized/);
    const line = await authorizeLine(spoofed);
    assert.equal(line.ip, '127.0.0.1');
    const loopback = await new Browser().fetch(s.px.url('loopback.localhost', '/x'), { headers: { 'x-forwarded-for': '10.1.2.3' } });
    assert.equal(loopback.status, 200);
  });

  test('cors_preflight lets an anonymous preflight through; the real request still needs a session', async () => {
    const preflight = await new Browser().fetch(s.px.url('cors.localhost', '/api'), {
      method: 'OPTIONS',
      headers: { origin: 'http://app.localhost', 'access-control-request-method': 'PUT' },
    });
    assert.equal(preflight.status, 200, preflight.text().slice(0, 200));
    assert.equal(preflight.json<EchoReply>().method, 'OPTIONS');
    assert.equal((await new Browser().fetch(s.px.url('cors.localhost', '/api'), { method: 'OPTIONS' })).status, 401, 'an OPTIONS that is no preflight');
    assert.equal((await new Browser().fetch(s.px.url('cors.localhost', '/api'), { method: 'PUT', headers: { origin: 'http://app.localhost' } })).status, 401);
  });
});

describe('deny pages', () => {
  test('403 as JSON for API clients, with the request id and, under show_error_details, the reasons', async () => {
    const page = await call('bob', 'deny.localhost', '/x', { json: true });
    assert.equal(page.status, 403);
    assert.match(String(page.headers['content-type']), /^application\/json/);
    assert.equal(page.headers['x-pomerium-intercepted-response'], 'true');
    const body = page.json<{ error: string; status: number; request_id: string; detail?: string }>();
    assert.equal(body.error, 'Forbidden');
    assert.equal(body.status, 403);
    assert.equal(body.request_id, page.headers['x-request-id']);
    assert.match(body.detail ?? '', /email-ok/, `the deny reason is shown: ${page.text()}`);
  });

  test('403 as HTML for browsers, with the reasons under show_error_details', async () => {
    const page = await call('bob', 'deny.localhost', '/x');
    assert.equal(page.status, 403);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const html = page.text();
    assert.ok(html.includes(String(page.headers['x-request-id'])), 'the request id is on the page');
    assert.ok(html.includes('email-ok'), `the deny reason is on the page:\n${html}`);
    const path = await call('alice', 'deny.localhost', '/blocked/x');
    assert.equal(path.status, 403);
    assert.ok(path.text().includes('http-path-ok'), 'the reason the path rule denied');
  });

  test('without show_error_details neither format says why', async () => {
    for (const json of [false, true]) {
      const page = await call('bob', 'quiet.localhost', '/x', { json });
      assert.equal(page.status, 403);
      assert.match(String(page.headers['content-type']), json ? /^application\/json/ : /^text\/html/);
      const text = page.text();
      assert.ok(text.includes(String(page.headers['x-request-id'])), 'the request id is still there');
      for (const reason of REASONS) assert.ok(!text.includes(reason), `${json ? 'JSON' : 'HTML'} page names ${reason}:\n${text}`);
    }
  });

  test('when no allow rule matches, the page shows the allow reasons (show_error_details)', async () => {
    const page = await call('carol', 'domain.localhost', '/x', { json: true });
    assert.equal(page.status, 403);
    assert.match(page.json<{ detail?: string }>().detail ?? '', /domain-unauthorized/, page.text());
  });
});

describe('sign-in required', () => {
  test('a policy that needs identity sends an anonymous browser to sign in (302)', async () => {
    for (const host of ['domain.localhost', 'admins.localhost', 'deny.localhost', 'paths.localhost']) {
      const page = await call(null, host, '/private?q=1');
      assert.equal(page.status, 302, `${host}: ${page.status}`);
      const location = new URL(page.headers.location!);
      assert.equal(`${location.origin}${location.pathname}`, s.px.auth('/.pomerium/sign_in'), host);
      assert.equal(location.searchParams.get('pomerium_redirect_uri'), s.px.url(host, '/private?q=1'));
    }
  });

  test('and answers an anonymous API client 401, not a redirect', async () => {
    for (const host of ['domain.localhost', 'admins.localhost', 'deny.localhost']) {
      const page = await call(null, host, '/api', { json: true });
      assert.equal(page.status, 401, `${host}: ${page.status}`);
      assert.equal(page.headers.location, undefined);
      assert.match(String(page.headers['content-type']), /^application\/json/);
    }
  });

  test('a public route with an identity deny rule asks an anonymous caller to sign in', async () => {
    const before = s.px.upstream.requests.length;
    const page = await call(null, 'public.localhost', '/x');
    assert.equal(page.status, 302);
    assert.ok(page.headers.location?.startsWith(s.px.auth('/.pomerium/sign_in')), page.headers.location);
    assert.equal((await call(null, 'public.localhost', '/x', { json: true })).status, 401);
    assert.equal(s.px.upstream.requests.length, before, 'nothing reached the upstream');
  });
});

describe('the authorize log', () => {
  test('an allowed request: one line with the request, the session and the reasons', async () => {
    const page = await call('alice', 'admins.localhost', '/reports/q?x=1', { method: 'POST' });
    assert.equal(page.status, 200);
    const echoed = page.json<EchoReply>();
    const line = await authorizeLine(page);
    assert.equal(line['request-id'], echoed.headers['x-request-id'], 'the same request id as the upstream saw');
    assert.equal(line.method, 'POST');
    assert.equal(line.path, '/reports/q');
    assert.equal(line.host, 'admins.localhost');
    assert.equal(line.ip, '127.0.0.1');
    assert.equal(line['session-id'], sessionIdOf('alice', 'admins.localhost'));
    assert.equal(line.user, 'alice');
    assert.equal(line.email, 'alice@example.com');
    assert.equal(line.allow, true);
    assert.deepEqual(line['allow-why-true'], ['groups-ok']);
    assert.equal(line.deny, false);
    assert.deepEqual(line['deny-why-false'], []);
    assert.equal(line['allow-why-false'], undefined);
    assert.equal(line['deny-why-true'], undefined);
  });

  test('a denied request: allow false with why, deny true with why', async () => {
    const page = await call('bob', 'deny.localhost', '/x', { json: true });
    const line = await authorizeLine(page);
    assert.equal(line.user, 'bob');
    assert.equal(line.email, 'bob@example.com');
    assert.equal(line['session-id'], sessionIdOf('bob', 'deny.localhost'));
    assert.equal(line.allow, true);
    assert.deepEqual(line['allow-why-true'], ['user-ok']);
    assert.equal(line.deny, true);
    assert.deepEqual(line['deny-why-true'], ['email-ok']);
  });

  test('not keeps the reasons of the criteria it inverts', async () => {
    const allowed = await authorizeLine(await call('carol', 'not.localhost', '/x'));
    assert.equal(allowed.allow, true);
    assert.deepEqual([...(allowed['allow-why-true'] as string[])].sort(), ['email-unauthorized', 'groups-unauthorized']);
    const denied = await authorizeLine(await call('bob', 'not.localhost', '/x'));
    assert.equal(denied.allow, false);
    assert.deepEqual(denied['allow-why-false'], ['email-ok']);
  });

  test('an anonymous request: no session, no user, user-unauthenticated', async () => {
    const page = await call(null, 'domain.localhost', '/x', { json: true });
    assert.equal(page.status, 401);
    const line = await authorizeLine(page);
    assert.equal(line['session-id'], '');
    assert.equal(line.user, '');
    assert.equal(line.email, '');
    assert.equal(line.allow, false);
    assert.deepEqual(line['allow-why-false'], ['user-unauthenticated']);
  });

  test('exactly one line per decision, every request of a keep-alive connection included', async () => {
    const cookie = `_pomerium=${browsers.get('alice')!.jar.get('_pomerium', s.px.url('staff.localhost', '/'))!.value}`;
    const client = new KeepAliveClient(s.px.port);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await client.request('staff.localhost', `/n/${i}`, { cookie, accept: 'application/json' });
        assert.equal(res.status, 200);
        if (i > 0) assert.ok(res.reusedSocket, 'the same connection');
        ids.push(String(res.headers['x-request-id']));
      }
      // Postern's own endpoints are not policy decisions.
      const ping = await client.request('staff.localhost', '/ping', { cookie });
      assert.equal(ping.status, 200);
      for (const id of ids) {
        await s.px.proxy.waitForLog((l) => l.msg === 'authorize check' && l['request-id'] === id, 3_000);
        assert.equal(s.px.proxy.logs.filter((l) => l.msg === 'authorize check' && l['request-id'] === id).length, 1, id);
      }
      assert.equal(s.px.proxy.logs.filter((l) => l.msg === 'authorize check' && l['request-id'] === ping.headers['x-request-id']).length, 0);
    } finally {
      client.close();
    }
  });

  test('nothing of ours reached the upstream', () => {
    assertNothingOfOursUpstream(s.px.upstream, []);
    for (const rec of s.px.upstream.requests) assert.equal(rec.headers['x-pomerium-jwt-assertion'], undefined, 'identity headers are off');
  });
});
