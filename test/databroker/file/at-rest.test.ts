import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore, put, tempDir } from './helpers.js';

const EMAIL = 'alice.secret@example.com';
const TOKEN = 'ya29.a0AfB_byC-access-token-that-must-never-touch-disk';
const CLAIM = 'engineering-oncall-claim-value';
const SESSION_ID = 'cookie-session-id-3f9a7c2e';

/** Every way the test strings could appear in a file: UTF-8, UTF-16, base64, hex. */
function encodings(value: string): Buffer[] {
  return [Buffer.from(value, 'utf8'), Buffer.from(value, 'utf16le'), Buffer.from(Buffer.from(value).toString('base64')), Buffer.from(Buffer.from(value).toString('hex'))];
}

async function assertNothingReadable(path: string): Promise<void> {
  const names = await readdir(path);
  for (const name of names) {
    const file = join(path, name);
    const bytes = await readFile(file);
    for (const secret of [EMAIL, TOKEN, CLAIM, SESSION_ID, 'alice', 'session']) {
      for (const encoded of encodings(secret)) assert.equal(bytes.indexOf(encoded), -1, `${name} contains ${secret}`);
    }
    assert.equal((await stat(file)).mode & 0o077, 0, `${name} is readable by others`);
  }
}

test('nothing readable on disk: no email, token, claim value or session id in any file, log or snapshot', async () => {
  const { path, remove } = await tempDir('atrest');
  try {
    const { backend, snapshot } = await openStore(path, { fsync: 'always' });
    const session = { user: 'u1', email: EMAIL, idToken: TOKEN, accessToken: TOKEN, claims: { groups: [CLAIM], email: EMAIL } };
    await backend.write(put('session', SESSION_ID, session));
    await backend.write(put('user', 'u1', { email: EMAIL, claims: { department: CLAIM } }));
    await backend.compact!({ ...snapshot, version: 2 });
    // Once more after the snapshot, so the live segment holds them too.
    await backend.write(put('session', SESSION_ID, { ...session, refreshed: true }));
    await backend.close();

    const names = await readdir(path);
    assert.ok(names.includes('snapshot.pst') && names.some((n) => n.startsWith('log-')), names.join(' '));
    await assertNothingReadable(path);
  } finally {
    await remove();
  }
});

test('an adopted history is sealed like any other: its snapshot and the writes after it', async () => {
  const { path, remove } = await tempDir('atrest-adopt');
  try {
    const { backend } = await openStore(path, { fsync: 'always' });
    await backend.write(put('user', 'u1', { email: EMAIL }));
    const session = { user: 'u1', email: EMAIL, idToken: TOKEN, claims: { groups: [CLAIM] } };
    await backend.adopt!({
      serverVersion: 'adopted',
      version: 5,
      records: [{ type: 'session', id: SESSION_ID, version: 5, data: session, modifiedAt: 1, expiresAt: null }],
    });
    await backend.write(put('session', SESSION_ID, { ...session, refreshed: true }));
    await backend.close();
    const names = await readdir(path);
    assert.deepEqual(names.sort(), ['log-0000000002.pst', 'snapshot.pst']);
    await assertNothingReadable(path);
  } finally {
    await remove();
  }
});
