// Crashes and damage: what a kill mid-append, a flipped bit, a reordered,
// repeated or transplanted block, a missing segment, and a crash between
// the steps of a snapshot leave behind, and what load makes of each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreSnapshot } from '../../../src/databroker/backend.js';
import { DatabrokerCorruptError } from '../../../src/databroker/file/index.js';
import { contents, copyDir, openStore, put, reload, tempDir } from './helpers.js';

const LOG1 = 'log-0000000001.pst';
const LOG2 = 'log-0000000002.pst';
const LOG3 = 'log-0000000003.pst';

/** Writes `count` records one append each; returns the log's size before the first and after each. */
async function writeLog(dir: string, count: number): Promise<number[]> {
  const { backend } = await openStore(dir);
  const sizes = [(await stat(join(dir, LOG1))).size];
  for (let i = 1; i <= count; i++) {
    await backend.write(put('session', `s${i}`, { user: `u${i}`, n: i }, 1_000 + i));
    sizes.push((await stat(join(dir, LOG1))).size);
  }
  await backend.close();
  return sizes;
}

function ids(snapshot: StoreSnapshot): string[] {
  return snapshot.records.map((r) => r.id).sort();
}

function expectedIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `s${i + 1}`).sort();
}

async function assertCorrupt(promise: Promise<unknown>, file: string, offset: number, reason?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DatabrokerCorruptError, String(err));
    assert.equal(err.code, 'PST_DATABROKER_CORRUPT');
    assert.equal(err.file, file);
    assert.equal(err.offset, offset, err.message);
    assert.ok(err.message.includes(`${file} at byte ${offset}`), err.message);
    if (reason) assert.match(err.reason, reason);
    return true;
  });
}

test('a crash at any byte of the last append recovers exactly the acknowledged prefix, and the log goes on from there', async () => {
  const { path: root, remove } = await tempDir('torn');
  try {
    const base = join(root, 'base');
    const sizes = await writeLog(base, 4);
    const [before, after] = [sizes[3]!, sizes[4]!];
    for (let cut = before; cut <= after; cut++) {
      const dir = join(root, `cut-${cut}`);
      await copyDir(base, dir);
      await truncate(join(dir, LOG1), cut);
      const { backend, snapshot, lines } = await openStore(dir);
      const complete = cut === after;
      assert.equal(snapshot.version, complete ? 4 : 3, `cut at ${cut}`);
      assert.deepEqual(ids(snapshot), expectedIds(complete ? 4 : 3));
      assert.equal(lines.some((l) => l['level'] === 40 && String(l['msg']).includes('ends inside a block')), cut !== before && !complete, `cut at ${cut}`);
      assert.equal((await stat(join(dir, LOG1))).size, complete ? after : before, 'cut back to the last complete block');
      const next = await backend.write(put('session', 'next', 'after the crash'));
      assert.equal(next.version, complete ? 5 : 4);
      await backend.close();
      const reopened = await reload(dir);
      assert.deepEqual(ids(reopened), [...expectedIds(complete ? 4 : 3), 'next'].sort());
      await rm(dir, { recursive: true });
    }
  } finally {
    await remove();
  }
});

test('zero bytes after the last block (space allocated before a power cut) count as a torn write', async () => {
  const { path: root, remove } = await tempDir('zeros');
  try {
    const sizes = await writeLog(root, 3);
    await appendFile(join(root, LOG1), Buffer.alloc(4096));
    const { backend, snapshot } = await openStore(root);
    assert.deepEqual(ids(snapshot), expectedIds(3));
    assert.equal((await stat(join(root, LOG1))).size, sizes[3]);
    await backend.close();
  } finally {
    await remove();
  }
});

test('a flipped bit anywhere in a log is refused with the file and the position of the damaged block', async () => {
  const { path: root, remove } = await tempDir('flip');
  try {
    const base = join(root, 'base');
    const sizes = await writeLog(base, 3);
    const file = join(root, 'probe', LOG1);
    const original = await readFile(join(base, LOG1));
    assert.equal(original.length, sizes[3]);
    for (let at = 0; at < original.length; at++) {
      const damaged = Buffer.from(original);
      damaged[at]! ^= 1 << at % 8;
      await rm(join(root, 'probe'), { recursive: true, force: true });
      await copyDir(base, join(root, 'probe'));
      await writeFile(file, damaged);
      // The block that holds the byte: 0 is the segment header, sizes[i] the start of block i + 1.
      const blockStart = at < sizes[0]! ? 0 : sizes.filter((s) => s <= at).pop()!;
      await assertCorrupt(reload(join(root, 'probe')), file, blockStart);
    }
  } finally {
    await remove();
  }
});

test('with recoverValidPrefix a flipped bit keeps every block before it, moves the rest aside byte for byte, and says so', async () => {
  const { path: root, remove } = await tempDir('recover');
  try {
    const base = join(root, 'base');
    const sizes = await writeLog(base, 3);
    const original = await readFile(join(base, LOG1));
    // One flip in each block; the segment header's case is the next test.
    for (const [frame, at] of [[1, sizes[0]! + 3], [2, sizes[1]! + 25], [3, sizes[3]! - 1]] as const) {
      const dir = join(root, `frame-${frame}`);
      await copyDir(base, dir);
      const damaged = Buffer.from(original);
      damaged[at]! ^= 0x10;
      await writeFile(join(dir, LOG1), damaged);
      const blockStart = sizes[frame - 1]!;

      const { backend, snapshot, lines } = await openStore(dir, { recoverValidPrefix: true });
      const kept = frame - 1;
      assert.equal(snapshot.version, kept);
      assert.deepEqual(ids(snapshot), expectedIds(kept));
      const report = lines.find((l) => l['level'] === 50);
      assert.ok(report, 'the recovery is logged as an error');
      assert.equal(report['file'], join(dir, LOG1));
      assert.equal(report['offset'], blockStart);
      assert.equal(report['keptThroughVersion'], kept);
      const aside = (await readdir(dir)).filter((n) => n.startsWith(`${LOG1}.corrupt-`));
      assert.equal(aside.length, 1);
      assert.deepEqual(await readFile(join(dir, aside[0]!)), damaged.subarray(blockStart), 'the dropped bytes are kept aside, not deleted');

      await backend.write(put('session', 'after', 1));
      await backend.close();
      // Recovered once, the store loads cleanly without the option.
      assert.deepEqual(ids(await reload(dir)), [...expectedIds(kept), 'after'].sort());
    }
  } finally {
    await remove();
  }
});

test('recovery refuses when nothing at all could be read, and leaves the directory as it was', async () => {
  const { path: root, remove } = await tempDir('nothing');
  try {
    const sizes = await writeLog(root, 2);
    const damaged = await readFile(join(root, LOG1));
    damaged[sizes[0]! - 5]! ^= 0x10;
    await writeFile(join(root, LOG1), damaged);
    await assert.rejects(reload(root, { recoverValidPrefix: true }), (err: unknown) => {
      assert.ok(err instanceof DatabrokerCorruptError);
      assert.equal(err.offset, 0);
      assert.match(err.message, /nothing in the store could be read/);
      return true;
    });
    assert.deepEqual(await readdir(root), [LOG1]);
    assert.deepEqual(await readFile(join(root, LOG1)), damaged);
  } finally {
    await remove();
  }
});

test('blocks swapped, repeated or copied from another store are refused as out of sequence or unopenable', async () => {
  const { path: root, remove } = await tempDir('order');
  try {
    const base = join(root, 'base');
    const sizes = await writeLog(base, 3); // same-sized records, so blocks 2 and 3 are the same length
    const log = await readFile(join(base, LOG1));
    const block = (i: number): Buffer => log.subarray(sizes[i - 1]!, sizes[i]!);
    assert.equal(block(2).length, block(3).length);

    const swapped = join(root, 'swapped');
    await copyDir(base, swapped);
    await writeFile(join(swapped, LOG1), Buffer.concat([log.subarray(0, sizes[1]!), block(3), block(2)]));
    await assertCorrupt(reload(swapped), join(swapped, LOG1), sizes[1]!, /starts at version 3, expected 2/);

    const repeated = join(root, 'repeated');
    await copyDir(base, repeated);
    await appendFile(join(repeated, LOG1), block(3));
    await assertCorrupt(reload(repeated), join(repeated, LOG1), sizes[3]!, /starts at version 3, expected 4/);

    // Block 3 of another store (same key, same sequence number) grafted where this store's block 3 was.
    const other = join(root, 'other');
    const otherSizes = await writeLog(other, 3);
    const foreign = (await readFile(join(other, LOG1))).subarray(otherSizes[2]!, otherSizes[3]!);
    const grafted = join(root, 'grafted');
    await copyDir(base, grafted);
    await writeFile(join(grafted, LOG1), Buffer.concat([log.subarray(0, sizes[2]!), foreign]));
    await assertCorrupt(reload(grafted), join(grafted, LOG1), sizes[2]!, /does not open/);
  } finally {
    await remove();
  }
});

/**
 * Three moments of one store, for building the states a crash during a
 * snapshot leaves: A (three writes, no snapshot), B (just compacted: snapshot
 * naming segment 2, segment 2 empty), C (three more writes into segment 2).
 */
async function snapshotStages(root: string): Promise<{ A: string; B: string; C: string; all: string[] }> {
  const live = join(root, 'live');
  const [A, B, C] = [join(root, 'A'), join(root, 'B'), join(root, 'C')];
  const { backend, snapshot } = await openStore(live);
  for (let i = 1; i <= 3; i++) await backend.write(put('session', `s${i}`, { n: i }));
  await copyDir(live, A);
  await backend.compact!({ ...snapshot, version: 3 });
  await copyDir(live, B);
  for (let i = 4; i <= 6; i++) await backend.write(put('session', `s${i}`, { n: i }));
  await copyDir(live, C);
  await backend.close();
  for (const dir of [A, B, C]) await rm(join(dir, 'lock'), { force: true });
  return { A, B, C, all: expectedIds(6) };
}

test('snapshot and compaction are atomic: a crash between any two steps loads the old state or the new, never a mix', async () => {
  const { path: root, remove } = await tempDir('atomic');
  try {
    const { A, B, C, all } = await snapshotStages(root);
    assert.deepEqual((await readdir(A)).sort(), [LOG1]);
    assert.deepEqual((await readdir(B)).sort(), [LOG2, 'snapshot.pst']);
    const snapshotBytes = await readFile(join(B, 'snapshot.pst'));

    const state = async (name: string, files: [string, string | Buffer][]): Promise<string> => {
      const dir = join(root, name);
      await copyDir(A, dir);
      await unlink(join(dir, LOG1));
      for (const [file, source] of files) await writeFile(join(dir, file), typeof source === 'string' ? await readFile(source) : source);
      return dir;
    };

    // 1. Crash while the snapshot is being written (before its rename): a partial temporary file.
    const writing = await state('writing', [[LOG1, join(A, LOG1)], [LOG2, join(C, LOG2)], ['snapshot.pst.tmp', snapshotBytes.subarray(0, 40)]]);
    const loaded1 = await openStore(writing);
    assert.deepEqual(ids(loaded1.snapshot), all, 'old snapshot (none) plus both segments');
    assert.ok(loaded1.lines.some((l) => l['msg'] === 'removed an unfinished snapshot left by a crash'));
    await loaded1.backend.close();
    assert.deepEqual((await readdir(writing)).sort(), [LOG1, LOG2]);

    // 2. Crash after the temporary file was complete and synced, before the rename.
    const synced = await state('synced', [[LOG1, join(A, LOG1)], [LOG2, join(C, LOG2)], ['snapshot.pst.tmp', snapshotBytes]]);
    assert.deepEqual(ids(await reload(synced)), all);

    // 3. Crash after the rename, before the old segment was deleted.
    const renamed = await state('renamed', [[LOG1, join(A, LOG1)], [LOG2, join(C, LOG2)], ['snapshot.pst', join(C, 'snapshot.pst')]]);
    const loaded3 = await reload(renamed);
    assert.deepEqual(ids(loaded3), all);
    assert.deepEqual(contents(loaded3), contents(await reload(C)));
    assert.deepEqual((await readdir(renamed)).sort(), [LOG2, 'snapshot.pst'], 'the covered segment is removed');

    // 4. Crash while the new segment's header was being written (nothing was acknowledged in it).
    const rotating = await state('rotating', [[LOG1, join(A, LOG1)], [LOG2, (await readFile(join(B, LOG2))).subarray(0, 11)]]);
    const loaded4 = await openStore(rotating);
    assert.deepEqual(ids(loaded4.snapshot), expectedIds(3));
    assert.equal((await loaded4.backend.write(put('session', 's4', 4))).version, 4);
    await loaded4.backend.close();
    assert.deepEqual(ids(await reload(rotating)), expectedIds(4));
  } finally {
    await remove();
  }
});

test('adopt() is atomic: a crash between any two of its steps loads the old history or the adopted one, never a mix', async () => {
  const { path: root, remove } = await tempDir('adopt-atomic');
  try {
    // Old: C (a snapshot naming segment 2, and segment 2). New: C after adopt(), before any write into it.
    const { C } = await snapshotStages(root);
    const adopting = join(root, 'adopting');
    await copyDir(C, adopting);
    const { backend } = await openStore(adopting);
    const records = [{ type: 'session', id: 'adopted', version: 8, data: { user: 'erin' }, modifiedAt: 5, expiresAt: null }];
    await backend.adopt!({ serverVersion: 'adopted-history', version: 9, records });
    const N = join(root, 'N');
    await copyDir(adopting, N);
    await rm(join(N, 'lock'));
    await backend.close();
    assert.deepEqual((await readdir(N)).sort(), [LOG3, 'snapshot.pst']);

    const oldState = await reload(C);
    const newState = await reload(N);
    assert.equal(newState.serverVersion, 'adopted-history');
    assert.equal(newState.version, 9);
    const newSegment = await readFile(join(N, LOG3));
    const newSnapshot = await readFile(join(N, 'snapshot.pst'));

    const state = async (name: string, files: [string, Buffer][]): Promise<string> => {
      const dir = join(root, name);
      await copyDir(C, dir);
      for (const [file, bytes] of files) await writeFile(join(dir, file), bytes);
      return dir;
    };
    const same = (loaded: StoreSnapshot, expected: StoreSnapshot, label: string): void => {
      assert.equal(loaded.serverVersion, expected.serverVersion, label);
      assert.equal(loaded.version, expected.version, label);
      assert.deepEqual(contents(loaded), contents(expected), label);
    };
    const TMP3 = `${LOG3}.tmp`;

    // Before the snapshot is installed, the old history stands and the new segment is a leftover.
    const before: [string, [string, Buffer][]][] = [
      ['segment-being-created', [[TMP3, newSegment.subarray(0, 11)]]],
      ['segment-created', [[TMP3, newSegment]]],
      ['snapshot-being-written', [[TMP3, newSegment], ['snapshot.pst.tmp', newSnapshot.subarray(0, 60)]]],
      ['snapshot-written', [[TMP3, newSegment], ['snapshot.pst.tmp', newSnapshot]]],
    ];
    for (const [name, files] of before) {
      const dir = await state(name, files);
      const loaded = await openStore(dir);
      same(loaded.snapshot, oldState, name);
      assert.ok(loaded.lines.some((l) => l['msg'] === 'removed an unfinished log segment left by a crash'), name);
      assert.equal((await loaded.backend.write(put('session', 'next', 1))).version, oldState.version + 1, name);
      await loaded.backend.close();
      assert.deepEqual((await readdir(dir)).sort(), [LOG2, 'snapshot.pst'], name);
    }

    // Once it is installed, the adopted history stands, and the load finishes what the crash interrupted.
    const after: [string, [string, Buffer][]][] = [
      ['snapshot-installed', [[TMP3, newSegment], ['snapshot.pst', newSnapshot]]],
      ['segment-renamed', [[LOG3, newSegment], ['snapshot.pst', newSnapshot]]],
    ];
    for (const [name, files] of after) {
      const dir = await state(name, files);
      const loaded = await openStore(dir);
      same(loaded.snapshot, newState, name);
      assert.deepEqual((await readdir(dir)).filter((n) => n !== 'lock').sort(), [LOG3, 'snapshot.pst'], `${name}: the old log is removed`);
      assert.equal((await loaded.backend.write(put('session', 'next', 1))).version, 10, name);
      await loaded.backend.close();
      const reloaded = await reload(dir);
      assert.equal(reloaded.serverVersion, 'adopted-history', name);
      assert.deepEqual(reloaded.records.map((r) => r.id).sort(), ['adopted', 'next'], name);
    }
  } finally {
    await remove();
  }
});

test('a missing segment is refused; recovery keeps what comes before the gap and moves the later segments aside', async () => {
  const { path: root, remove } = await tempDir('gap');
  try {
    const { A, C } = await snapshotStages(root);
    // The segment the snapshot continues with is gone.
    const noNext = join(root, 'no-next');
    await copyDir(C, noNext);
    await unlink(join(noNext, LOG2));
    await assertCorrupt(reload(noNext), join(noNext, LOG2), 0, /continues the snapshot is missing/);
    const recovered = await reload(noNext, { recoverValidPrefix: true });
    assert.deepEqual(ids(recovered), expectedIds(3));

    // A gap: segment 1, then segment 3 (built by compacting C again), no snapshot.
    const later = join(root, 'later');
    await copyDir(C, later);
    const { backend, snapshot } = await openStore(later);
    await backend.compact!(snapshot);
    await backend.write(put('session', 's7', 7));
    await backend.close();
    assert.ok((await readdir(later)).includes(LOG3));
    const gap = join(root, 'gap');
    await copyDir(A, gap);
    await writeFile(join(gap, LOG3), await readFile(join(later, LOG3)));
    await assertCorrupt(reload(gap), join(gap, LOG2), 0, /missing, yet log-0000000003.pst exists/);
    const kept = await openStore(gap, { recoverValidPrefix: true });
    assert.deepEqual(ids(kept.snapshot), expectedIds(3));
    await kept.backend.close();
    assert.ok((await readdir(gap)).some((n) => n.startsWith(`${LOG3}.corrupt-`)));
  } finally {
    await remove();
  }
});

test('a damaged snapshot is refused with its position, even with recoverValidPrefix', async () => {
  const { path: root, remove } = await tempDir('snapdamage');
  try {
    const { C } = await snapshotStages(root);
    const original = await readFile(join(C, 'snapshot.pst'));
    for (let at = 0; at < original.length; at += 7) {
      const dir = join(root, `at-${at}`);
      await copyDir(C, dir);
      const damaged = Buffer.from(original);
      damaged[at]! ^= 0x01;
      await writeFile(join(dir, 'snapshot.pst'), damaged);
      await assert.rejects(reload(dir, { recoverValidPrefix: true }), (err: unknown) => {
        assert.ok(err instanceof DatabrokerCorruptError);
        assert.equal(err.file, join(dir, 'snapshot.pst'));
        assert.ok(err.offset <= at, `${err.offset} > ${at}`);
        assert.match(err.message, /no valid prefix/);
        return true;
      });
      await rm(dir, { recursive: true });
    }
    // A snapshot cut short (a chunk lost) is refused too.
    const cut = join(root, 'cut');
    await copyDir(C, cut);
    await truncate(join(cut, 'snapshot.pst'), original.length - 1);
    await assert.rejects(reload(cut), DatabrokerCorruptError);
  } finally {
    await remove();
  }
});
