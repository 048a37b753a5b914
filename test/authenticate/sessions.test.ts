import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { headerCredential, CredentialResolver } from '../../src/authenticate/credentials.js';
import { AuthKeys } from '../../src/authenticate/keys.js';
import type { IdentityProfile } from '../../src/authenticate/identity-provider.js';
import type { SessionData } from '../../src/authenticate/records.js';
import { refreshDueAt } from '../../src/authenticate/refresher.js';
import { ServiceAccounts } from '../../src/authenticate/service-accounts.js';
import { SessionHandles } from '../../src/authenticate/session-handle.js';
import { SessionJwts } from '../../src/authenticate/session-jwt.js';
import { isSessionLive, Sessions } from '../../src/authenticate/sessions.js';
import { MemoryDatabroker } from '../../src/databroker/memory.js';
import type { ProxyRequest } from '../../src/proxy/request.js';

const HOUR = 3_600_000;

function profile(overrides: Partial<IdentityProfile> = {}): IdentityProfile {
  const now = Math.floor(Date.now() / 1000);
  return {
    subject: 'user-1',
    issuer: 'https://idp.example.com',
    idToken: 'header.payload.signature',
    idTokenIssuedAt: now,
    idTokenExpiresAt: now + 3600,
    accessToken: 'access',
    tokenType: 'Bearer',
    accessTokenExpiresAt: Date.now() + HOUR,
    refreshToken: 'refresh',
    claims: { email: 'alice@example.com', name: 'Alice', groups: ['staff'] },
    ...overrides,
  };
}

function setup() {
  const db = new MemoryDatabroker({ logger: pino({ level: 'silent' }), sweepIntervalMs: 0 });
  const keys = new AuthKeys(Buffer.alloc(32, 1), Buffer.alloc(32, 2));
  const sessions = new Sessions(db, 14 * HOUR);
  const handles = new SessionHandles(keys.sessionHandle);
  const jwts = new SessionJwts(keys.sessionJwt);
  const accounts = new ServiceAccounts(db, keys.serviceAccountPepper);
  const resolver = new CredentialResolver('_pomerium', handles, jwts, sessions, accounts);
  return { db, sessions, handles, jwts, accounts, resolver };
}

function req(headers: string[], host = 'app.example.com'): ProxyRequest {
  return { method: 'GET', path: '/', query: '', host, port: null, headers: ['host', host, ...headers], remoteAddress: '127.0.0.1', secure: true, requestId: 'r' };
}

describe('headerCredential', () => {
  const cases: Array<[string[], string | null]> = [
    [['authorization', 'Pomerium abc'], 'abc'],
    [['authorization', 'pomerium abc'], 'abc'],
    [['authorization', 'Bearer Pomerium-abc'], 'abc'],
    [['authorization', 'Bearer abc'], null],
    [['authorization', 'Basic abc'], null],
    [['x-pomerium-authorization', 'abc'], 'abc'],
    [['authorization', 'Pomerium '], null],
    [[], null],
  ];
  for (const [headers, expected] of cases) {
    it(`${JSON.stringify(headers)} → ${expected}`, () => assert.equal(headerCredential(headers), expected));
  }
});

describe('sessions and credentials', () => {
  it('a new session always gets a fresh random id and is live', async () => {
    const { sessions } = setup();
    const a = await sessions.create(profile(), 'idp-1');
    const b = await sessions.create(profile(), 'idp-1');
    assert.notEqual(a.id, b.id);
    assert.ok(sessions.live(a.id, 'idp-1'));
    assert.equal(sessions.live(a.id, 'idp-2'), null, 'a session is valid only for its provider');
    assert.ok(sessions.live(a.id, null));
  });

  it('liveness: expired, other provider, or an expired access token without refresh token end a session', () => {
    const now = Date.now();
    const base: SessionData = {
      userId: 'u', idpId: 'idp-1', issuedAt: now, expiresAt: now + HOUR,
      idToken: { raw: '', issuer: '', subject: 'u', issuedAt: now, expiresAt: now + HOUR },
      oauth: { accessToken: 'a', tokenType: 'Bearer', expiresAt: now + HOUR, refreshToken: 'r' }, claims: {}, refreshedAt: 0,
    };
    assert.equal(isSessionLive(base, 'idp-1', now), true);
    assert.equal(isSessionLive({ ...base, expiresAt: now - 1 }, 'idp-1', now), false);
    assert.equal(isSessionLive(base, 'idp-2', now), false);
    assert.equal(isSessionLive({ ...base, oauth: { ...base.oauth, expiresAt: now - 1 } }, 'idp-1', now), true, 'refreshable');
    assert.equal(isSessionLive({ ...base, oauth: { ...base.oauth, expiresAt: now - 1, refreshToken: '' } }, 'idp-1', now), false);
  });

  it('the cookie handle resolves to the session; a tampered one is a bad cookie; after end() it is no session', async () => {
    const { sessions, handles, resolver } = setup();
    const s = await sessions.create(profile(), 'idp-1');
    const cookie = handles.issue(s.id);
    const ok = resolver.resolve(req(['cookie', `other=1; _pomerium=${cookie}`]), 'idp-1');
    assert.equal(resolver.resolve(req(['cookie', `_pomerium=${cookie}`]), 'idp-2').identity, null, 'another provider’s route');
    assert.equal(ok.identity?.email, 'alice@example.com');
    assert.deepEqual(ok.identity?.groups, ['staff']);
    const tampered = resolver.resolve(req(['cookie', `_pomerium=${cookie.slice(0, -2)}xx`]), 'idp-1');
    assert.deepEqual([tampered.identity, tampered.badCookie], [null, true]);
    await sessions.end(s.id);
    const ended = resolver.resolve(req(['cookie', `_pomerium=${cookie}`]), 'idp-1');
    assert.deepEqual([ended.identity, ended.badCookie], [null, true]);
  });

  it('one good copy among bad ones wins', async () => {
    const { sessions, handles, resolver } = setup();
    const s = await sessions.create(profile(), 'idp-1');
    const res = resolver.resolve(req(['cookie', `_pomerium=v1.bogus.x; _pomerium=${handles.issue(s.id)}`]), 'idp-1');
    assert.equal(res.identity?.sessionId, s.id);
  });

  it('a session JWT works only on the route host it was minted for', async () => {
    const { sessions, jwts, resolver } = setup();
    const s = await sessions.create(profile(), 'idp-1');
    const jwt = jwts.issue({ sessionId: s.id, userId: 'user-1', issuer: 'auth.example.com', audience: 'app.example.com' }, Date.now());
    assert.equal(resolver.resolve(req(['authorization', `Pomerium ${jwt}`]), 'idp-1').identity?.sessionId, s.id);
    assert.equal(resolver.resolve(req(['x-pomerium-authorization', jwt]), 'idp-1').identity?.sessionId, s.id);
    const elsewhere = resolver.resolve(req(['authorization', `Pomerium ${jwt}`], 'other.example.com'), 'idp-1');
    assert.deepEqual([elsewhere.identity, elsewhere.fromHeader], [null, true]);
  });

  it('a service-account token resolves to its account until revoked', async () => {
    const { accounts, resolver } = setup();
    const { token, account } = await accounts.create('ci-bot');
    const who = resolver.resolve(req(['authorization', `Bearer Pomerium-${token}`]), 'idp-1').identity;
    assert.deepEqual([who?.kind, who?.userId], ['service_account', 'sa:ci-bot']);
    await accounts.revoke(account.id);
    assert.equal(resolver.resolve(req(['authorization', `Pomerium ${token}`]), 'idp-1').identity, null);
  });
});

describe('refreshDueAt', () => {
  const now = 1_000_000_000_000;
  const data = (accessExp: number, idExp: number, refreshToken = 'r', refreshedAt = 0): SessionData => ({
    userId: 'u', idpId: 'i', issuedAt: now, expiresAt: now + 14 * HOUR,
    idToken: { raw: '', issuer: '', subject: 'u', issuedAt: now, expiresAt: idExp },
    oauth: { accessToken: 'a', tokenType: 'Bearer', expiresAt: accessExp, refreshToken }, claims: {}, refreshedAt,
  });
  it('a minute before the earlier of the access token and the ID token', () => {
    assert.equal(refreshDueAt(data(now + HOUR, now + 2 * HOUR)), now + HOUR - 60_000);
    assert.equal(refreshDueAt(data(now + 2 * HOUR, now + HOUR)), now + HOUR - 60_000);
  });
  it('never without a refresh token, never sooner than 10 s after the last refresh', () => {
    assert.equal(refreshDueAt(data(now + HOUR, now + HOUR, '')), Infinity);
    assert.equal(refreshDueAt(data(now, now, 'r', now)), now + 10_000);
  });
});
