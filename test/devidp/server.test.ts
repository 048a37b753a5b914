// The dev IdP as an OpenID provider, driven by plain HTTP the way the proxy
// drives it: authorization code flow with PKCE and nonce, the ID token and
// userinfo claims, refresh, RP-initiated logout, and the refusals.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { pino } from 'pino';
import { Errors, PosternError } from '../../src/errors.js';
import { hashPassword } from '../../src/devidp/password.js';
import { startDevIdp } from '../../src/devidp/server.js';
import type { DevIdpConfig } from '../../src/devidp/types.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';

const CLIENT = {
  clientId: 'postern',
  clientSecret: 'test-client-secret',
  redirectUris: ['https://authenticate.localhost/oauth2/callback'],
  postLogoutRedirectUris: ['https://authenticate.localhost/.pomerium/signed_out'],
};

let idp: TestIdp;
let discovery: Record<string, unknown>;

before(async () => {
  idp = await startTestIdp({ clients: [CLIENT], accessTokenTtlSeconds: 120 });
  discovery = (await (await fetch(idp.discoveryUrl)).json()) as Record<string, unknown>;
});
after(() => idp.close());

interface Authorization {
  readonly url: string;
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

function authorization(params: Record<string, string> = {}): Authorization {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const url = new URL(String(discovery.authorization_endpoint));
  const query: Record<string, string> = {
    client_id: CLIENT.clientId,
    response_type: 'code',
    redirect_uri: CLIENT.redirectUris[0]!,
    scope: 'openid profile email offline_access',
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [k, v] of Object.entries(query)) if (v !== '') url.searchParams.set(k, v);
  return { url: url.href, state, nonce, verifier };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function token(form: Record<string, string>, client: { clientId: string; clientSecret: string } = CLIENT, post = false): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const fields = post ? { ...form, client_id: client.clientId, client_secret: client.clientSecret } : form;
  if (!post) headers.authorization = basic(client.clientId, client.clientSecret);
  const res = await fetch(String(discovery.token_endpoint), { method: 'POST', headers, body: new URLSearchParams(fields).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function verifyIdToken(idToken: unknown): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(String(discovery.jwks_uri)));
  const { payload, protectedHeader } = await jwtVerify(String(idToken), jwks, { issuer: idp.issuer, audience: CLIENT.clientId, algorithms: ['RS256'] });
  assert.equal(protectedHeader.alg, 'RS256');
  return payload;
}

/** Signs in and exchanges the code: the whole front-channel and back-channel flow. */
async function signIn(username = 'alice', password = 'alice-password'): Promise<{ auth: Authorization; tokens: Record<string, unknown> }> {
  const auth = authorization();
  const callback = new URL(await idp.login(auth.url, username, password));
  assert.equal(`${callback.origin}${callback.pathname}`, CLIENT.redirectUris[0]);
  assert.equal(callback.searchParams.get('state'), auth.state);
  assert.equal(callback.searchParams.get('iss'), idp.issuer);
  const code = callback.searchParams.get('code');
  assert.ok(code);
  const { status, body } = await token({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]!, code_verifier: auth.verifier });
  assert.equal(status, 200, JSON.stringify(body));
  return { auth, tokens: body };
}

test('discovery names the issuer exactly, with code flow, S256 PKCE, refresh, userinfo and end_session', () => {
  assert.equal(discovery.issuer, idp.issuer);
  assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(idp.issuer, `http://127.0.0.1:${idp.port}`);
  assert.deepEqual(discovery.response_types_supported, ['code']);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  assert.ok((discovery.grant_types_supported as string[]).includes('refresh_token'));
  assert.ok((discovery.scopes_supported as string[]).includes('groups'));
  assert.ok((discovery.claims_supported as string[]).includes('groups'));
  assert.equal(typeof discovery.userinfo_endpoint, 'string');
  assert.equal(typeof discovery.end_session_endpoint, 'string');
  assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256']);
});

test('the code flow with PKCE returns an ID token with the nonce and the user’s email, name and groups', async () => {
  const { auth, tokens } = await signIn();
  assert.equal(tokens.token_type, 'Bearer');
  assert.equal(tokens.expires_in, 120);
  assert.equal(typeof tokens.refresh_token, 'string');
  const claims = await verifyIdToken(tokens.id_token);
  assert.equal(claims.nonce, auth.nonce);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.email, 'alice@example.com');
  assert.equal(claims.email_verified, true);
  assert.equal(claims.name, 'Alice Example');
  assert.deepEqual(claims.groups, ['admins', 'staff']);
});

test('userinfo answers the access token with the same claims', async () => {
  const { tokens } = await signIn('bob', 'bob-password');
  const res = await fetch(String(discovery.userinfo_endpoint), { headers: { authorization: `Bearer ${String(tokens.access_token)}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { sub: 'bob', email: 'bob@example.com', email_verified: true, name: 'Bob Example', groups: ['staff'] });
});

test('the groups scope alone releases groups', async () => {
  const auth = authorization({ scope: 'openid groups' });
  const code = new URL(await idp.login(auth.url, 'alice', 'alice-password')).searchParams.get('code')!;
  const { body } = await token({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]!, code_verifier: auth.verifier });
  const claims = await verifyIdToken(body.id_token);
  assert.deepEqual(claims.groups, ['admins', 'staff']);
  assert.equal(claims.email, undefined);
});

test('the refresh token grant returns new tokens for the same user', async () => {
  const { tokens } = await signIn();
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  assert.notEqual(refreshed.body.access_token, tokens.access_token);
  const claims = await verifyIdToken(refreshed.body.id_token);
  assert.equal(claims.sub, 'alice');
  assert.deepEqual(claims.groups, ['admins', 'staff']);
});

test('a refresh token is refused once the user’s grants are revoked', async () => {
  const { tokens } = await signIn('bob', 'bob-password');
  assert.ok(idp.revokeGrants('bob') >= 1);
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
  assert.equal(refreshed.status, 400);
  assert.equal(refreshed.body.error, 'invalid_grant');
  const userinfo = await fetch(String(discovery.userinfo_endpoint), { headers: { authorization: `Bearer ${String(tokens.access_token)}` } });
  assert.equal(userinfo.status, 401);
});

test('a code exchange without the PKCE verifier, or with a wrong one, is refused', async () => {
  for (const verifier of [undefined, randomBytes(32).toString('base64url')]) {
    const auth = authorization();
    const code = new URL(await idp.login(auth.url, 'alice', 'alice-password')).searchParams.get('code')!;
    const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]! };
    if (verifier !== undefined) form.code_verifier = verifier;
    const { status, body } = await token(form);
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_grant');
  }
});

test('an authorization request without PKCE, with plain PKCE or without redirect_uri goes back with an error', async () => {
  const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
    [{ code_challenge: '', code_challenge_method: '' }, 'invalid_request'],
    [{ code_challenge_method: 'plain' }, 'invalid_request'],
  ];
  for (const [params, error] of cases) {
    const outcome = await idp.browser().navigate(authorization(params).url);
    assert.ok('location' in outcome, JSON.stringify(params));
    const back = new URL(outcome.location);
    assert.equal(back.searchParams.get('error'), error, JSON.stringify(params));
  }
  const missing = await idp.browser().navigate(authorization({ redirect_uri: '' }).url);
  assert.ok('page' in missing);
  assert.equal(missing.page.status, 400);
});

test('a redirect_uri that is not registered gets an error page, never a redirect', async () => {
  const outcome = await idp.browser().navigate(authorization({ redirect_uri: 'https://evil.example/cb' }).url);
  assert.ok('page' in outcome);
  assert.equal(outcome.page.status, 400);
  assert.match(outcome.page.html, /redirect_uri/);
});

test('a wrong password is refused with an error on the form, and the right one still works after', async () => {
  const browser = idp.browser();
  const auth = authorization();
  const first = await browser.navigate(auth.url);
  assert.ok('page' in first);
  assert.equal(first.page.status, 200);
  assert.match(first.page.html, /<form method="post" action="\/interaction\/[A-Za-z0-9_-]+\/login">/);
  assert.equal(first.page.html.includes('autocomplete="current-password"'), true);
  await assert.rejects(browser.login(auth.url, 'alice', 'wrong'), (err: Error & { page?: { status: number } }) => {
    assert.equal(err.message, 'Wrong username or password.');
    assert.equal(err.page?.status, 401);
    return true;
  });
  await assert.rejects(browser.login(auth.url, 'nobody', 'alice-password'), /Wrong username or password/);
  const callback = new URL(await browser.login(auth.url, 'ALICE', 'alice-password'));
  assert.ok(callback.searchParams.get('code'));
});

test('a second authorization in the same browser is answered without a password (single sign-on)', async () => {
  const browser = idp.browser();
  await browser.login(authorization().url, 'alice', 'alice-password');
  const outcome = await browser.navigate(authorization().url);
  assert.ok('location' in outcome);
  assert.ok(new URL(outcome.location).searchParams.get('code'));
  assert.ok(idp.endSessions('alice') >= 1);
  const again = await browser.navigate(authorization().url);
  assert.ok('page' in again, 'after endSessions the form is shown again');
  assert.match(again.page.html, /name="password"/);
});

test('prompt=login asks for the password even with a session', async () => {
  const browser = idp.browser();
  await browser.login(authorization().url, 'alice', 'alice-password');
  const outcome = await browser.navigate(authorization({ prompt: 'login' }).url);
  assert.ok('page' in outcome);
  assert.match(outcome.page.html, /name="password"/);
});

test('login_hint prefills the username, HTML-escaped', async () => {
  const outcome = await idp.browser().navigate(authorization({ login_hint: '"><script>alert(1)</script>' }).url);
  assert.ok('page' in outcome);
  assert.ok(!outcome.page.html.includes('<script>alert(1)'));
  assert.ok(outcome.page.html.includes('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"'));
});

test('the sign-in form is refused without the interaction cookie (cross-site post)', async () => {
  const browser = idp.browser();
  const first = await browser.navigate(authorization().url);
  assert.ok('page' in first);
  const action = /action="([^"]+)"/.exec(first.page.html)![1]!;
  const res = await fetch(new URL(action, idp.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=alice&password=alice-password',
    redirect: 'manual',
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /unknown or has expired/);
});

test('a client may send its secret in the body instead of Basic auth; a wrong secret is refused', async () => {
  const auth = authorization();
  const code = new URL(await idp.login(auth.url, 'alice', 'alice-password')).searchParams.get('code')!;
  const form = { grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]!, code_verifier: auth.verifier };
  const wrong = await token(form, { clientId: CLIENT.clientId, clientSecret: 'not-the-secret' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
  const ok = await token(form, CLIENT, true);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test('end_session with id_token_hint signs out, returns to post_logout_redirect_uri with state, and revokes the refresh token', async () => {
  const browser = idp.browser();
  const auth = authorization();
  const code = new URL(await browser.login(auth.url, 'alice', 'alice-password')).searchParams.get('code')!;
  const { body: tokens } = await token({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]!, code_verifier: auth.verifier });
  const endSession = new URL(String(discovery.end_session_endpoint));
  endSession.searchParams.set('id_token_hint', String(tokens.id_token));
  endSession.searchParams.set('post_logout_redirect_uri', CLIENT.postLogoutRedirectUris[0]!);
  endSession.searchParams.set('state', 'bye');

  const confirm = await browser.navigate(endSession.href);
  assert.ok('page' in confirm);
  assert.match(confirm.page.html, /<script>document\.getElementById\('sign-out'\)\.click\(\);<\/script>/, 'the hint matches the session: confirms by itself');

  const back = new URL(await browser.logout(endSession.href));
  assert.equal(`${back.origin}${back.pathname}`, CLIENT.postLogoutRedirectUris[0]);
  assert.equal(back.searchParams.get('state'), 'bye');
  assert.equal(browser.signedIn, false);
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
  assert.equal(refreshed.body.error, 'invalid_grant');
  const again = await browser.navigate(authorization().url);
  assert.ok('page' in again, 'signed out: the form is shown again');
});

test('end_session refuses a post_logout_redirect_uri that is not registered', async () => {
  const { tokens } = await signIn();
  const endSession = new URL(String(discovery.end_session_endpoint));
  endSession.searchParams.set('id_token_hint', String(tokens.id_token));
  endSession.searchParams.set('post_logout_redirect_uri', 'https://evil.example/');
  const outcome = await idp.browser().navigate(endSession.href);
  assert.ok('page' in outcome);
  assert.equal(outcome.page.status, 400);
});

test('pages carry a strict Content-Security-Policy and are not cached', async () => {
  const start = await fetch(authorization().url, { redirect: 'manual' });
  const cookie = start.headers.getSetCookie().map((c) => c.split(';', 1)[0]).join('; ');
  const res = await fetch(new URL(start.headers.get('location')!, idp.issuer), { headers: { cookie } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  await res.body?.cancel();
});

// startDevIdp itself, as `postern dev-idp` and the demo call it.

async function devConfig(overrides: Partial<DevIdpConfig> = {}): Promise<DevIdpConfig> {
  return {
    issuer: null,
    address: { host: '127.0.0.1', port: 0 },
    clients: [{ ...CLIENT, postLogoutRedirectUris: [] }],
    users: [{ username: 'carol', passwordHash: await hashPassword('carol-password'), email: 'carol@example.com', emailVerified: false, name: 'Carol', groups: [] }],
    accessTokenTtlSeconds: 600,
    idTokenTtlSeconds: 3600,
    refreshTokenTtlSeconds: 86_400,
    keysFile: null,
    ...overrides,
  };
}

const silent = pino({ level: 'silent' });

test('startDevIdp refuses any address that is not loopback, before listening', async () => {
  for (const host of ['0.0.0.0', '', '::', 'localhost', '192.168.1.10']) {
    await assert.rejects(startDevIdp(await devConfig({ address: { host, port: 0 } }), { logger: silent }), (err: unknown) => {
      assert.ok(err instanceof PosternError);
      assert.equal(err.code, Errors.DEV_IDP_NOT_LOOPBACK.code);
      return true;
    }, host);
  }
});

test('a configured issuer is used verbatim; without one the issuer names the bound IPv6 loopback and port', async () => {
  const named = await startDevIdp(await devConfig({ issuer: 'http://localhost:9999' }), { logger: silent });
  try {
    assert.equal(named.issuer, 'http://localhost:9999');
    const meta = (await (await fetch(`http://127.0.0.1:${named.port}/.well-known/openid-configuration`)).json()) as { issuer: string };
    assert.equal(meta.issuer, 'http://localhost:9999');
  } finally {
    await named.close();
  }
  const v6 = await startDevIdp(await devConfig({ address: { host: '::1', port: 0 } }), { logger: silent });
  try {
    assert.equal(v6.issuer, `http://[::1]:${v6.port}`);
    assert.equal((await fetch(`${v6.issuer}/.well-known/openid-configuration`)).status, 200);
  } finally {
    await v6.close();
  }
});

test('with a keys_file the signing key survives a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-devidp-restart-'));
  try {
    const config = await devConfig({ keysFile: join(dir, 'keys.json') });
    const kid = async (): Promise<string> => {
      const idp = await startDevIdp(config, { logger: silent });
      try {
        const { keys } = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
        assert.equal(keys.length, 1);
        assert.equal(keys[0]?.d, undefined, 'the JWKS publishes public keys only');
        return keys[0]!.kid;
      } finally {
        await idp.close();
      }
    };
    assert.equal(await kid(), await kid());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('logs are JSON lines: start-up, refused and accepted sign-ins, tokens; never a password', async () => {
  const out = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  out.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const idp = await startDevIdp(await devConfig(), { logger: pino({ level: 'info' }, out) });
  try {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${idp.issuer}/auth`);
    for (const [k, v] of Object.entries({
      client_id: CLIENT.clientId, response_type: 'code', redirect_uri: CLIENT.redirectUris[0]!, scope: 'openid email',
      state: 's', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    })) url.searchParams.set(k, v);
    const { IdpBrowser } = await import('../helpers/idp.js');
    const browser = new IdpBrowser(idp.issuer);
    await assert.rejects(browser.login(url.href, 'carol', 'not-carols-password'));
    const code = new URL(await browser.login(url.href, 'Carol', 'carol-password')).searchParams.get('code')!;
    const res = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(CLIENT.clientId, CLIENT.clientSecret) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]!, code_verifier: verifier }).toString(),
    });
    const body = (await res.json()) as { id_token: string };
    const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims.email_verified, false);
  } finally {
    await idp.close();
  }
  const events = lines.map((l) => l.event);
  assert.deepEqual(events, ['listening', 'login_failed', 'login', 'token_issued']);
  assert.equal(lines[0]?.issuer, idp.issuer);
  assert.deepEqual([lines[1]?.username, lines[1]?.level], ['carol', 40]);
  assert.equal(lines[3]?.grant_type, 'authorization_code');
  const text = JSON.stringify(lines);
  assert.ok(!text.includes('carol-password') && !text.includes('not-carols-password'));
});
