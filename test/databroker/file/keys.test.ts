// Keys: a store opens only with a key that sealed it; rotation seals new
// blocks with the newest key while the older ones stay readable, and a
// snapshot under the new key is what lets the old key go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabrokerCorruptError } from '../../../src/databroker/file/index.js';
import { KEY_A, KEY_B, openStore, put, reload, tempDir, testKey } from './helpers.js';

const LOG1 = 'log-0000000001.pst';

async function refusedAt(promise: Promise<unknown>, file: string, offset: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DatabrokerCorruptError, String(err));
    assert.equal(err.file, file);
    assert.equal(err.offset, offset);
    assert.match(err.message, /sealed with a key that is not configured/);
    return true;
  });
}

test('a store written with one key is refused with another, at the first block it cannot open', async () => {
  const { path, remove } = await tempDir('wrongkey');
  try {
    const { backend } = await openStore(path, { keys: [KEY_A] });
    await backend.write(put('session', 's1', { email: 'a@example.com' }));
    await backend.close();
    await refusedAt(reload(path, { keys: [testKey('wrong')] }), join(path, LOG1), 0);
    // Recovery does not "recover" an unreadable store into an empty one.
    await assert.rejects(reload(path, { keys: [testKey('wrong')], recoverValidPrefix: true }), /is the encryption key right/);
    assert.deepEqual(await readdir(path), [LOG1]);
    // Nothing was changed by the refusal: the right key still opens everything.
    assert.equal((await reload(path, { keys: [KEY_A] })).records.length, 1);
  } finally {
    await remove();
  }
});

test('key rotation: old blocks stay readable, new blocks use the new key, and the old key can go once a snapshot was written under the new one', async () => {
  const { path, remove } = await tempDir('rotation');
  try {
    // Written with A: a snapshot (records 1–2) and a segment after it (record 3).
    const first = await openStore(path, { keys: [KEY_A] });
    await first.backend.write(put('session', 's1', 1));
    await first.backend.write(put('session', 's2', 2));
    await first.backend.compact!({ ...first.snapshot, version: 2 });
    await first.backend.write(put('session', 's3', 3));
    await first.backend.close();
    const segment = (await readdir(path)).find((n) => n.startsWith('log-'))!;
    const sizeWithA = (await readFile(join(path, segment))).length;

    // Rotated to [B, A]: everything reads; a new write is sealed with B.
    const rotated = await openStore(path, { keys: [KEY_B, KEY_A] });
    assert.deepEqual(rotated.snapshot.records.map((r) => r.id).sort(), ['s1', 's2', 's3']);
    await rotated.backend.write(put('session', 's4', 4));
    await rotated.backend.close();
    assert.deepEqual((await reload(path, { keys: [KEY_B, KEY_A] })).records.map((r) => r.id).sort(), ['s1', 's2', 's3', 's4']);

    // B alone cannot open what A sealed (the snapshot comes first), and says so.
    await refusedAt(reload(path, { keys: [KEY_B] }), join(path, 'snapshot.pst'), 0);
    // A alone cannot open the block written after the rotation: proof it was sealed with B.
    await assert.rejects(reload(path, { keys: [KEY_A] }), (err: unknown) => err instanceof DatabrokerCorruptError && err.offset === sizeWithA);

    // A compaction under [B, A] rewrites everything with B; then B alone suffices.
    const compacting = await openStore(path, { keys: [KEY_B, KEY_A] });
    await compacting.backend.compact!(compacting.snapshot);
    await compacting.backend.close();
    const afterRotation = await openStore(path, { keys: [KEY_B] });
    assert.deepEqual(afterRotation.snapshot.records.map((r) => r.id).sort(), ['s1', 's2', 's3', 's4']);
    await afterRotation.backend.write(put('session', 's5', 5));
    await afterRotation.backend.close();
    assert.equal((await reload(path, { keys: [KEY_B] })).version, 5);
  } finally {
    await remove();
  }
});
