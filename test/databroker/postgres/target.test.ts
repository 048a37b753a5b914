import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import pg from 'pg';
import { describeTarget, describeTls } from '../../../src/databroker/postgres/target.js';

/** What Postern logs for a DSN: the description of the parameters pg parsed from it. */
function shown(dsn: string): string {
  return describeTarget(new pg.Client({ connectionString: dsn }));
}

test('the target names user, host, port, database and TLS mode, and nothing else of the DSN', () => {
  const table: [string, string][] = [
    ['postgres://postern:hunter2@db.internal:5432/sessions', 'postern@db.internal:5432/sessions (no TLS)'],
    ['postgres://postern@db.internal/sessions?sslmode=verify-full', 'postern@db.internal:5432/sessions (TLS, certificate verified)'],
    ['postgres://u:p@db/x?sslmode=require', 'u@db:5432/x (TLS, certificate verified)'],
    ['postgres://u@db/x?sslmode=no-verify&password=hunter2', 'u@db:5432/x (TLS, certificate NOT verified)'],
    ['postgres://u@db/x?sslmode=disable', 'u@db:5432/x (no TLS)'],
    ['postgres://u@[::1]:6543/x', 'u@[::1]:6543/x (no TLS)'],
    ['postgres://u:p@%2Fvar%2Frun%2Fpostgresql/x', 'u@/var/run/postgresql:5432/x (no TLS)'],
  ];
  for (const [dsn, expected] of table) assert.equal(shown(dsn), expected, dsn);
});

test('TLS in words, from pg\'s ssl setting', () => {
  assert.equal(describeTls(false), 'no TLS');
  assert.equal(describeTls(true), 'TLS, certificate verified');
  assert.equal(describeTls({}), 'TLS, certificate verified');
  assert.equal(describeTls({ rejectUnauthorized: false }), 'TLS, certificate NOT verified');
  assert.equal(describeTls({ checkServerIdentity: () => undefined }), 'TLS, certificate verified, host name not checked');
});

test('property: a password, in the userinfo or as a parameter, never appears in the target', () => {
  const password = fc.stringMatching(/^[A-Za-z0-9!*'()~._-]{6,24}$/).map((p) => `PW${p}`);
  fc.assert(
    fc.property(password, fc.boolean(), fc.constantFrom('', 'sslmode=disable', 'sslmode=no-verify', 'sslmode=verify-full'), (pw, inQuery, mode) => {
      const encoded = encodeURIComponent(pw);
      const query = [mode, inQuery ? `password=${encoded}` : ''].filter(Boolean).join('&');
      const dsn = inQuery ? `postgres://postern@db.example:5432/db?${query}` : `postgres://postern:${encoded}@db.example:5432/db${query ? `?${query}` : ''}`;
      const text = shown(dsn);
      assert.ok(!text.includes(pw) && !text.includes(encoded), text);
    }),
  );
});
