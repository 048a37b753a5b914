// Who may use a route once signed in: allowed_users (by user id, or by
// e-mail without regard to case), allowed_domains (the e-mail's domain,
// without regard to case, exactly: no subdomains, no suffix tricks, and an
// address with two @ never matches), or any signed-in user. Allowed → 200
// from the upstream; signed in but not allowed → 403 without reaching it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { assertNothingOfOursUpstream, startWithFakeIdp, type FakeIdpSetup } from '../helpers/auth-proxy.js';
import type { FakeUser } from '../helpers/fake-idp.js';

let s: FakeIdpSetup;

before(async () => {
  s = await startWithFakeIdp({
    routes: [
      { from: 'http://any.localhost', allow_any_authenticated_user: true },
      { from: 'http://users.localhost', allowed_users: ['alice@example.com', 'bob-id'] },
      { from: 'http://domain.localhost', allowed_domains: ['Example.COM'] },
    ],
  });
});

after(async () => {
  await s?.close();
});

function user(sub: string, email: string): FakeUser {
  return { sub, email, name: sub, groups: [] };
}

interface Row {
  readonly who: FakeUser;
  readonly users: 200 | 403;
  readonly domain: 200 | 403;
}

const TABLE: readonly Row[] = [
  { who: user('alice-id', 'alice@example.com'), users: 200, domain: 200 },
  { who: user('bob-id', 'bob@other.org'), users: 200, domain: 403 },
  { who: user('carol-id', 'carol@EXAMPLE.com'), users: 403, domain: 200 },
  // allowed_users compares the address exactly, as Pomerium does; only domains ignore case.
  { who: user('upper-id', 'ALICE@EXAMPLE.COM'), users: 403, domain: 200 },
  { who: user('two-ats', 'a@b@example.com'), users: 403, domain: 403 },
  { who: user('suffix', 'eve@example.com.evil.org'), users: 403, domain: 403 },
  { who: user('prefix', 'eve@evilexample.com'), users: 403, domain: 403 },
  { who: user('sub', 'dave@sub.example.com'), users: 403, domain: 403 },
  { who: user('no-email', ''), users: 403, domain: 403 },
  { who: user('alice@example.com', 'mallory@other.org'), users: 200, domain: 403 },
];

describe('allowed_users and allowed_domains', () => {
  for (const row of TABLE) {
    test(`${row.who.sub} <${row.who.email}>: allowed_users ${row.users}, allowed_domains ${row.domain}`, async (t) => {
      s.idp.knobs.user = row.who;
      t.after(() => {
        s.idp.knobs.user = user('alice-id', 'alice@example.com');
      });
      const b = new Browser();
      const any = await b.navigate(s.px.url('any.localhost', '/'));
      assert.equal(any.status, 200, `any signed-in user: ${any.status} at ${any.url}`);
      const before = s.px.upstream.requests.length;
      const users = await b.navigate(s.px.url('users.localhost', '/x'));
      assert.equal(users.status, row.users, `allowed_users: ${users.url}`);
      const domain = await b.navigate(s.px.url('domain.localhost', '/x'));
      assert.equal(domain.status, row.domain, `allowed_domains: ${domain.url}`);
      const allowed = (row.users === 200 ? 1 : 0) + (row.domain === 200 ? 1 : 0);
      assert.equal(s.px.upstream.requests.length - before, allowed, 'only allowed requests reached the upstream');
      for (const page of [users, domain]) {
        if (page.status === 403) assert.equal(page.hops.at(-1)!.location, null, 'a refusal, not a new sign-in');
      }
    });
  }

  test('nothing of ours reached the upstream', () => {
    assertNothingOfOursUpstream(s.px.upstream, s.idp.log.issued);
  });
});
