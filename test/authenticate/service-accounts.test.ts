import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pino } from 'pino';
import { PosternError } from '../../src/errors.js';
import { MemoryDatabroker } from '../../src/databroker/memory.js';
import { SERVICE_ACCOUNT, type ServiceAccountData } from '../../src/authenticate/records.js';
import {
  isServiceAccountEmail,
  isServiceAccountName,
  parseServiceAccountLifetime,
  ServiceAccounts,
} from '../../src/authenticate/service-accounts.js';
import { hashServiceAccountSecret, parseServiceAccountToken } from '../../src/authenticate/service-account-token.js';

const PEPPER = Buffer.alloc(32, 7);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function setup(start = 1_700_000_000_000): { db: MemoryDatabroker; accounts: ServiceAccounts; clock: { now: number } } {
  const clock = { now: start };
  const db = new MemoryDatabroker({ logger: pino({ level: 'silent' }), now: () => clock.now, sweepIntervalMs: 0 });
  return { db, accounts: new ServiceAccounts(db, PEPPER, () => clock.now), clock };
}

test('names: lower-case letters, digits and hyphens, 1 to 63, not starting with a hyphen', () => {
  const good = ['a', '0', 'ci-deploy', 'a-', 'x'.repeat(63), '9lives', 'a--b'];
  const bad = ['', '-a', 'A', 'ci_deploy', 'ci.deploy', 'x'.repeat(64), 'a b', 'é', 'sa:x', 'a\n'];
  for (const name of good) assert.equal(isServiceAccountName(name), true, name);
  for (const name of bad) assert.equal(isServiceAccountName(name), false, JSON.stringify(name));
  fc.assert(fc.property(fc.string(), (name) => isServiceAccountName(name) === /^[a-z0-9][a-z0-9-]{0,62}$/.test(name)));
});

test('emails: one @ between non-empty parts, visible ASCII only', () => {
  const good = ['ci@example.com', 'a@b', 'first.last+tag@sub.example.org'];
  const bad = ['', 'example.com', '@example.com', 'ci@', 'a@b@c', 'ci @example.com', 'ci@example.com\r\nX-Evil: 1', 'ci@exämple.com', `${'a'.repeat(250)}@b.co`];
  for (const email of good) assert.equal(isServiceAccountEmail(email), true, email);
  for (const email of bad) assert.equal(isServiceAccountEmail(email), false, JSON.stringify(email));
});

test('lifetimes: days, Go durations, or days then a duration; positive only', () => {
  const good: ReadonlyArray<readonly [string, number]> = [
    ['30d', 30 * DAY],
    ['1d', DAY],
    ['12h', 12 * HOUR],
    ['1d12h', DAY + 12 * HOUR],
    ['90m', 90 * 60_000],
    ['1.5h', 1.5 * HOUR],
    ['720h', 30 * DAY],
  ];
  for (const [text, ms] of good) assert.deepEqual(parseServiceAccountLifetime(text), { ok: true, value: ms }, text);
  for (const text of ['', 'd', '30', '30 d', '1.5d', '-1h', '1d-1h', '1d+1h', '-0', 'forever', '30days', 'h1']) {
    const parsed = parseServiceAccountLifetime(text);
    assert.equal(parsed.ok, false, text);
  }
  for (const text of ['0', '0d', '0s', '0d0h']) assert.deepEqual(parseServiceAccountLifetime(text), { ok: false, error: `the lifetime ${JSON.stringify(text)} must be positive` });
  assert.equal(parseServiceAccountLifetime('9'.repeat(400) + 'd').ok, false);
});

test('create returns a token that verifies as sa:<name>, and stores only a keyed hash of its secret', async () => {
  const { db, accounts, clock } = setup();
  const { token, account } = await accounts.create('ci-deploy', { email: 'ci@example.com', expiresInMs: 30 * DAY });
  const parsed = parseServiceAccountToken(token);
  assert.ok(parsed);
  assert.deepEqual(account, {
    id: parsed.id,
    name: 'ci-deploy',
    userId: 'sa:ci-deploy',
    email: 'ci@example.com',
    createdAt: clock.now,
    expiresAt: clock.now + 30 * DAY,
  });
  const record = db.get<ServiceAccountData>(SERVICE_ACCOUNT, parsed.id);
  assert.ok(record);
  assert.equal(record.expiresAt, clock.now + 30 * DAY);
  assert.equal(record.data.keyHash, hashServiceAccountSecret(PEPPER, parsed.id, parsed.secret));
  assert.doesNotMatch(JSON.stringify(record), new RegExp(parsed.secret));
  assert.deepEqual(accounts.verify(token), { id: parsed.id, userId: 'sa:ci-deploy', email: 'ci@example.com', name: 'ci-deploy' });
});

test('an account without a lifetime never expires; one with a lifetime is refused from its expiry on', async () => {
  const { accounts, clock } = setup();
  const forever = await accounts.create('forever');
  const brief = await accounts.create('brief', { expiresInMs: HOUR });
  assert.equal(forever.account.expiresAt, 0);
  assert.equal(forever.account.email, '');
  clock.now += HOUR - 1;
  assert.ok(accounts.verify(brief.token));
  clock.now += 1;
  assert.equal(accounts.verify(brief.token), null);
  clock.now += 1_000 * DAY;
  assert.ok(accounts.verify(forever.token));
  assert.deepEqual(accounts.list().map((a) => a.name), ['forever']);
});

test('revoke refuses the token at once and reports whether there was a live account', async () => {
  const { accounts } = setup();
  const { token, account } = await accounts.create('ci');
  assert.ok(accounts.verify(token));
  assert.equal(await accounts.revoke(account.id), true);
  assert.equal(accounts.verify(token), null);
  assert.equal(await accounts.revoke(account.id), false);
  assert.equal(await accounts.revoke('no-such-id'), false);
});

test('a wrong secret, a foreign pepper, a malformed token or an unknown id is refused', async () => {
  const { db, accounts } = setup();
  const { token } = await accounts.create('ci');
  const parsed = parseServiceAccountToken(token)!;
  const flip = (s: string, at: number): string => s.slice(0, at) + (s[at] === '0' ? '1' : '0') + s.slice(at + 1);
  const refused = [
    `pst_sa_${parsed.id}_${flip(parsed.secret, 0)}`,
    `pst_sa_${parsed.id}_${flip(parsed.secret, 63)}`,
    `pst_sa_${flip(parsed.id, 5)}_${parsed.secret}`,
    token.toUpperCase(),
    token.slice(0, -1),
    `${token}0`,
    ` ${token}`,
    '',
    'pst_sa_',
  ];
  for (const t of refused) assert.equal(accounts.verify(t), null, t);
  const otherPepper = new ServiceAccounts(db, Buffer.alloc(32, 8));
  assert.equal(otherPepper.verify(token), null);
  fc.assert(fc.property(fc.string({ maxLength: 120 }), (t) => t === token || accounts.verify(t) === null));
});

test('list shows every live account oldest first, and never a hash', async () => {
  const { accounts, clock } = setup();
  const a = await accounts.create('alpha');
  clock.now += 1_000;
  const b = await accounts.create('beta', { expiresInMs: DAY, email: 'b@example.com' });
  clock.now += 1_000;
  // Same name twice: how a token is rotated without downtime.
  const c = await accounts.create('alpha');
  const listed = accounts.list();
  assert.deepEqual(listed, [a.account, b.account, c.account]);
  for (const entry of listed) assert.deepEqual(Object.keys(entry).sort(), ['createdAt', 'email', 'expiresAt', 'id', 'name', 'userId']);
  assert.ok(accounts.verify(a.token) && accounts.verify(c.token));
});

test('invalid names, emails and lifetimes are refused before anything is stored', async () => {
  const { db, accounts } = setup();
  const cases: ReadonlyArray<readonly [string, { expiresInMs?: number; email?: string }, RegExp]> = [
    ['Bad_Name', {}, /the name must be/],
    ['', {}, /the name must be/],
    ['ok', { email: 'nope' }, /the email must be/],
    ['ok', { expiresInMs: 0 }, /must be positive/],
    ['ok', { expiresInMs: -5 }, /must be positive/],
    ['ok', { expiresInMs: Number.NaN }, /must be positive/],
    ['ok', { expiresInMs: 9e15 }, /past the year/],
  ];
  for (const [name, options, message] of cases) {
    await assert.rejects(accounts.create(name, options), (err: unknown) => {
      assert.ok(err instanceof PosternError);
      assert.equal(err.code, 'PST_SERVICE_ACCOUNT_INVALID');
      assert.match(err.message, message);
      return true;
    });
  }
  assert.equal(db.version, 0);
});
