import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Change, WriteOp } from '../../../src/databroker/backend.js';
import { openFileBackend } from '../../../src/databroker/file/index.js';
import type { DataRecord } from '../../../src/databroker/types.js';
import { capturingLogger, contents, copyDir, del, KEY_A, openStore, put, reload, tempDir, testSealer } from './helpers.js';

type Model = Map<string, { version: number; data: unknown; modifiedAt: number; expiresAt: number | null }>;

/** JSON-like values as MessagePack keeps them exactly (no -0, no `__proto__` key: see codec.ts). */
const dataArb = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => v !== null && !JSON.stringify(v).includes('"__proto__"'));

const opArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('put' as const), type: fc.constantFrom('session', 'user'), id: fc.constantFrom('a', 'b', 'c', 'd', 'é', ''), data: dataArb, modifiedAt: fc.integer({ min: 0, max: 2 ** 45 }), expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 45 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('del' as const), type: fc.constantFrom('session', 'user'), id: fc.constantFrom('a', 'b', 'c', 'd', 'é', '') }) },
);

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function toWrite(op: Op): WriteOp {
  return op.kind === 'put' ? put(op.type, op.id, op.data, op.modifiedAt, op.expiresAt) : del(op.type, op.id);
}

test('random sequences of writes, across close and reopen and with snapshots in between, load back equal to a Map model', async () => {
  const { path: root, remove } = await tempDir('model');
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { maxLength: 25 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 12 }), fc.boolean(), async (sessions, snapshotEvery, concurrent) => {
        const dir = join(root, String(run++));
        const model: Model = new Map();
        let version = 0;
        let serverVersion: string | null = null;
        for (const ops of sessions) {
          const { backend, snapshot } = await openStore(dir, { snapshotEvery });
          serverVersion ??= snapshot.serverVersion;
          assert.equal(snapshot.serverVersion, serverVersion, 'one history across restarts');
          assert.equal(snapshot.version, version);
          assert.deepEqual(contents(snapshot), model);
          const writes = ops.map(toWrite);
          const changes: Change[] = concurrent ? await Promise.all(writes.map((w) => backend.write(w))) : [];
          if (!concurrent) for (const w of writes) changes.push(await backend.write(w));
          for (const [i, w] of writes.entries()) {
            version++;
            assert.equal(changes[i]!.version, version, 'versions follow the order writes were issued');
            if (w.data === null) model.delete(`${w.type}/${w.id}`);
            else model.set(`${w.type}/${w.id}`, { version, data: w.data, modifiedAt: w.modifiedAt, expiresAt: w.expiresAt });
          }
          await backend.close();
        }
        const final = await reload(dir);
        assert.equal(final.version, version);
        assert.deepEqual(contents(final), model);
      }),
      { numRuns: 60 },
    );
  } finally {
    await remove();
  }
});

test('a fresh directory is a new, empty history; each new directory gets its own server version', async () => {
  const a = await tempDir('fresh');
  const b = await tempDir('fresh');
  try {
    const first = await reload(join(a.path, 'store'));
    const second = await reload(b.path);
    assert.equal(first.version, 0);
    assert.deepEqual(first.records, []);
    assert.match(first.serverVersion, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(first.serverVersion, second.serverVersion);
    assert.equal((await stat(join(a.path, 'store'))).mode & 0o777, 0o700);
  } finally {
    await a.remove();
    await b.remove();
  }
});

test('write resolves with the change: a put carries the frozen record, a deletion carries null', async () => {
  const { path, remove } = await tempDir('change');
  try {
    const { backend } = await openStore(path);
    const putChange = await backend.write(put('session', 's1', { user: 'alice', groups: ['g'] }, 5_000, 9_000));
    assert.deepEqual(putChange, {
      version: 1,
      type: 'session',
      id: 's1',
      record: { type: 'session', id: 's1', version: 1, data: { user: 'alice', groups: ['g'] }, modifiedAt: 5_000, expiresAt: 9_000 },
    });
    assert.ok(Object.isFrozen(putChange.record));
    assert.ok(Object.isFrozen((putChange.record!.data as { groups: string[] }).groups));
    assert.deepEqual(await backend.write(del('session', 's1')), { version: 2, type: 'session', id: 's1', record: null });
    // Deleting what is absent is still a change: the replica decides what to write.
    assert.equal((await backend.write(del('session', 'never'))).version, 3);
    await backend.close();
    const loaded = await reload(path);
    assert.equal(loaded.version, 3);
    assert.deepEqual(loaded.records, []);
  } finally {
    await remove();
  }
});

test('expired records are kept as they were written: the replica treats them as absent and its sweep deletes them', async () => {
  const { path, remove } = await tempDir('expired');
  try {
    const { backend } = await openStore(path);
    await backend.write(put('session', 'old', 1, 1_000, 2_000));
    await backend.close();
    assert.deepEqual(
      (await reload(path)).records.map((r) => [r.id, r.expiresAt]),
      [['old', 2_000]],
    );
  } finally {
    await remove();
  }
});

for (const fsync of ['always', 'batch', 'never'] as const) {
  test(`fsync ${fsync}: concurrent writes are all acknowledged in order and all survive a reopen`, async () => {
    const { path, remove } = await tempDir(`policy-${fsync}`);
    try {
      const { backend } = await openStore(path, { fsync, batchIntervalMs: 5 });
      const changes = await Promise.all(Array.from({ length: 200 }, (_, i) => backend.write(put('session', `s${i}`, { n: i }))));
      assert.deepEqual(
        changes.map((c) => c.version),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      await backend.close();
      const loaded = await reload(path);
      assert.equal(loaded.records.length, 200);
      assert.equal(loaded.version, 200);
    } finally {
      await remove();
    }
  });
}

test('writes that arrive while an fsync runs share the next one: a burst becomes a few blocks, not one per write', async () => {
  const { path, remove } = await tempDir('group');
  try {
    const { backend } = await openStore(path, { fsync: 'always' });
    await backend.write(put('t', 'first', 0));
    const sizeAfterOne = (await stat(join(path, 'log-0000000001.pst'))).size;
    await Promise.all(Array.from({ length: 500 }, (_, i) => backend.write(put('t', `k${i}`, i))));
    const grown = (await stat(join(path, 'log-0000000001.pst'))).size - sizeAfterOne;
    // One block per write would cost 500 block headers and 500 sealer overheads (> 50 bytes each).
    assert.ok(grown < 500 * 50, `the burst took ${grown} bytes`);
    await backend.close();
  } finally {
    await remove();
  }
});

test('batch policy: fsyncs are spaced by the interval, and each write still waits for one', async () => {
  const { path, remove } = await tempDir('batch');
  try {
    const { backend } = await openStore(path, { fsync: 'batch', batchIntervalMs: 60 });
    await backend.write(put('t', 'a', 1));
    const started = Date.now();
    await backend.write(put('t', 'b', 2));
    assert.ok(Date.now() - started >= 45, 'the second write waited for the next fsync slot');
    await backend.close();
  } finally {
    await remove();
  }
});

test('a snapshot replaces the log: segments before it are deleted and the state loads from snapshot plus the new segment', async () => {
  const { path, remove } = await tempDir('snapshot');
  try {
    const { backend, lines } = await openStore(path, { snapshotEvery: 10 });
    for (let i = 0; i < 25; i++) await backend.write(put('session', `s${i % 7}`, { i }));
    await backend.close();
    const names = (await readdir(path)).sort();
    assert.ok(names.includes('snapshot.pst'));
    assert.deepEqual(names.filter((n) => n.startsWith('log-')).length, 1, names.join(' '));
    assert.ok(lines.some((l) => l['msg'] === 'databroker snapshot written'));
    const loaded = await reload(path);
    assert.equal(loaded.version, 25);
    assert.deepEqual(
      loaded.records.map((r) => [r.id, (r.data as { i: number }).i]).sort(),
      [['s0', 21], ['s1', 22], ['s2', 23], ['s3', 24], ['s4', 18], ['s5', 19], ['s6', 20]],
    );
  } finally {
    await remove();
  }
});

test('compact() installs a snapshot of the current state and resolves once it is durable', async () => {
  const { path, remove } = await tempDir('compact');
  try {
    const { backend, snapshot } = await openStore(path);
    await backend.write(put('t', 'a', 1));
    await backend.write(put('t', 'b', 2));
    await backend.compact!({ ...snapshot, version: 2 });
    assert.deepEqual((await readdir(path)).filter((n) => n.endsWith('.pst')).sort(), ['log-0000000002.pst', 'snapshot.pst']);
    await assert.rejects(backend.compact!({ ...snapshot, serverVersion: 'other' }), RangeError);
    await assert.rejects(backend.compact!({ ...snapshot, version: 99 }), RangeError);
    await backend.write(put('t', 'c', 3));
    await backend.close();
    assert.deepEqual((await reload(path)).records.map((r) => r.id).sort(), ['a', 'b', 'c']);
  } finally {
    await remove();
  }
});

function record(type: string, id: string, version: number, data: unknown): DataRecord {
  return { type, id, version, data, modifiedAt: 7_000 + version, expiresAt: null };
}

test('adopt() replaces the store with another history: a reopen gives exactly the adopted records and the writes after them', async () => {
  const { path, remove } = await tempDir('adopt');
  try {
    // Several segments and a snapshot of the old history, all of which must go.
    const { backend, snapshot, lines } = await openStore(path);
    for (let i = 1; i <= 5; i++) await backend.write(put('session', `old${i}`, { i }));
    await backend.compact!({ ...snapshot, version: 5 });
    for (let i = 6; i <= 7; i++) await backend.write(put('session', `old${i}`, { i }));
    await backend.write(del('session', 'old2'));
    assert.deepEqual((await readdir(path)).filter((n) => n.endsWith('.pst')).sort(), ['log-0000000002.pst', 'snapshot.pst']);
    const adopted = { serverVersion: 'adopted-history', version: 40, records: [record('session', 'kept', 12, { user: 'alice' }), record('user', 'u1', 40, { name: 'Alice' })] };

    const queued = backend.write(put('session', 'queued', { before: true }));
    const adoption = backend.adopt!(adopted);
    const during = assert.rejects(backend.write(put('session', 'during', {})), { code: 'PST_DATABROKER_WRITE_REFUSED' }, 'a write issued while adopt() runs is refused');
    assert.equal((await queued).version, 9, 'a write issued before adopt() is made first, in the old history');
    await during;
    await adoption;
    assert.ok(lines.some((l) => l['msg'] === 'databroker file storage replaced by another history (adopted a snapshot)'));

    assert.equal((await backend.write(put('session', 'after', { n: 1 }))).version, 41, 'writes continue after the snapshot\'s version');
    assert.equal((await backend.write(del('session', 'kept'))).version, 42);
    await assert.rejects(backend.adopt!({ ...adopted, serverVersion: 'adopted-history' }), /starts another history/);
    await backend.close();

    assert.deepEqual((await readdir(path)).sort(), ['log-0000000003.pst', 'snapshot.pst'], 'the old history\'s log is gone');
    const loaded = await reload(path);
    assert.equal(loaded.serverVersion, 'adopted-history');
    assert.notEqual(loaded.serverVersion, snapshot.serverVersion);
    assert.equal(loaded.version, 42);
    assert.deepEqual(
      contents(loaded),
      new Map([
        ['user/u1', { version: 40, data: { name: 'Alice' }, modifiedAt: 7_040, expiresAt: null }],
        ['session/after', { version: 41, data: { n: 1 }, modifiedAt: 1_000, expiresAt: null }],
      ]),
    );
    await assert.rejects(backend.adopt!({ ...adopted, serverVersion: 'yet-another' }), { code: 'PST_DATABROKER_CLOSED' });
  } finally {
    await remove();
  }
});

test('adopt() waits for a snapshot of the old history being written, so that one never lands over the adopted one', async () => {
  const { path, remove } = await tempDir('adopt-during-snapshot');
  try {
    const { backend, snapshot } = await openStore(path);
    const pad = 'x'.repeat(1_000);
    for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 1_000 }, (_, j) => backend.write(put('session', `s${i}-${j}`, { pad }))));
    const compaction = backend.compact!(snapshot);
    // The old history's snapshot (some 20 MB) is being written.
    const deadline = Date.now() + 10_000;
    while (!(await readdir(path)).includes('snapshot.pst.tmp') && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.ok((await readdir(path)).includes('snapshot.pst.tmp'), 'caught the snapshot being written');
    await backend.adopt!({ serverVersion: 'fresh', version: 3, records: [record('t', 'only', 3, 1)] });
    await compaction;
    await backend.write(put('t', 'next', 2));
    await backend.close();
    const loaded = await reload(path);
    assert.equal(loaded.serverVersion, 'fresh');
    assert.deepEqual(loaded.records.map((r) => [r.id, r.version]).sort(), [['next', 4], ['only', 3]]);
  } finally {
    await remove();
  }
});

test('after a process ended without closing the store, the load starts a new history with the same records and versions', async () => {
  const { path: root, remove } = await tempDir('unclean');
  try {
    const live = join(root, 'live');
    const { backend, snapshot } = await openStore(live, { fsync: 'never' });
    for (let i = 1; i <= 3; i++) await backend.write(put('session', `s${i}`, { i }));
    // What a crash leaves: the files as they are, the lock still naming the process.
    const crashed = join(root, 'crashed');
    await copyDir(live, crashed);
    await backend.close();
    const cleanly = await reload(live);
    assert.equal(cleanly.serverVersion, snapshot.serverVersion, 'a store closed cleanly keeps its history');

    const restarted = await openStore(crashed);
    assert.notEqual(restarted.snapshot.serverVersion, snapshot.serverVersion);
    assert.equal(restarted.snapshot.version, 3);
    assert.deepEqual(contents(restarted.snapshot), contents(cleanly));
    assert.ok(restarted.lines.some((l) => l['level'] === 40 && l['previous'] === snapshot.serverVersion && String(l['msg']).includes('starting a new history')));
    assert.equal((await restarted.backend.write(put('session', 's4', { i: 4 }))).version, 4);
    await restarted.backend.close();
    const again = await reload(crashed);
    assert.equal(again.serverVersion, restarted.snapshot.serverVersion, 'the new history is kept from then on');
    assert.equal(again.version, 4);
  } finally {
    await remove();
  }
});

test('writes that cannot be stored fail their own caller only, and take no version', async () => {
  const { path, remove } = await tempDir('invalid');
  try {
    const { backend } = await openStore(path);
    await assert.rejects(backend.write({ ...put('t', 'a', 1), expiresAt: Number.NaN }), RangeError);
    await assert.rejects(backend.write({ ...put('t', 'a', 1), modifiedAt: Number.POSITIVE_INFINITY }), RangeError);
    await assert.rejects(backend.write({ ...put('t', 'a', 1), id: 7 as unknown as string }), TypeError);
    await assert.rejects(backend.write(put('t', 'big', 'x'.repeat(65 * 1024 * 1024))), RangeError);
    assert.equal((await backend.write(put('t', 'a', 1))).version, 1);
    await backend.close();
  } finally {
    await remove();
  }
});

test('the life cycle is enforced: write before load, load twice and write after close are refused', async () => {
  const { path, remove } = await tempDir('lifecycle');
  try {
    const { logger } = capturingLogger();
    const backend = await openFileBackend({ dir: path, sealer: testSealer([KEY_A]), fsync: 'never', logger });
    await assert.rejects(backend.write(put('t', 'a', 1)), /before load/);
    await backend.load();
    await assert.rejects(backend.load(), /called once/);
    assert.equal(backend.health!().ok, true);
    await backend.close();
    await assert.rejects(backend.write(put('t', 'a', 1)), { code: 'PST_DATABROKER_CLOSED' });
    assert.equal(backend.health!().ok, false);
    await backend.close();
  } finally {
    await remove();
  }
});

test('a failed append stops the store: the batch and every later write are refused, health says why, and what was durable stays', async () => {
  const { path, remove } = await tempDir('failstop');
  try {
    const real = testSealer([KEY_A]);
    let broken = false;
    const sealer = {
      seal: (plaintext: Buffer, aad: string) => {
        if (broken) throw new Error('simulated I/O failure');
        return real.seal(plaintext, aad);
      },
      open: (blob: Buffer, aad: string) => real.open(blob, aad),
    };
    const { backend } = await openStore(path, { sealer });
    await backend.write(put('t', 'kept', 1));
    broken = true;
    await assert.rejects(backend.write(put('t', 'lost', 2)), { code: 'PST_DATABROKER_WRITE_FAILED', message: /simulated I\/O failure/ });
    broken = false;
    await assert.rejects(backend.write(put('t', 'later', 3)), { code: 'PST_DATABROKER_WRITE_FAILED' });
    assert.deepEqual(backend.health!().ok, false);
    assert.match(backend.health!().detail, /simulated I\/O failure/);
    await backend.close();
    assert.deepEqual((await reload(path)).records.map((r) => r.id), ['kept']);
  } finally {
    await remove();
  }
});

test('fsync defaults to always', async () => {
  const { path, remove } = await tempDir('default');
  try {
    const { logger, lines } = capturingLogger();
    const backend = await openFileBackend({ dir: path, sealer: testSealer([KEY_A]), logger });
    await backend.load();
    assert.equal(lines.find((l) => l['msg'] === 'databroker file storage loaded')?.['fsync'], 'always');
    await backend.close();
  } finally {
    await remove();
  }
});

test('close acknowledges every write already issued before it returns', async () => {
  const { path, remove } = await tempDir('close');
  try {
    const { backend } = await openStore(path, { fsync: 'batch', batchIntervalMs: 30 });
    const writes = Array.from({ length: 50 }, (_, i) => backend.write(put('t', `k${i}`, i)));
    await backend.close();
    assert.equal((await Promise.all(writes)).length, 50);
    assert.equal((await reload(path)).records.length, 50);
  } finally {
    await remove();
  }
});

test('one process per directory: a second open is refused while the first holds it; a dead owner\'s lock is taken over', async () => {
  const { path, remove } = await tempDir('lock');
  try {
    const { backend } = await openStore(path);
    await assert.rejects(openStore(path), { code: 'PST_DATABROKER_IN_USE' });
    await backend.close();
    // A lock left by a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max default).
    await writeFile(join(path, 'lock'), `${2 ** 22 + 1}\n`);
    await reload(path);
    // A lock held by a live process (this test runner's parent) is respected.
    await writeFile(join(path, 'lock'), `${process.ppid}\n`);
    await assert.rejects(openStore(path), /locked by process/);
  } finally {
    await remove();
  }
});

test('invalid options are refused before anything touches the disk', async () => {
  const { logger } = capturingLogger();
  const base = { dir: '/nonexistent/never-created', sealer: testSealer([KEY_A]), logger };
  await assert.rejects(openFileBackend({ ...base, fsync: 'sometimes' as 'always' }), RangeError);
  await assert.rejects(openFileBackend({ ...base, fsync: 'always', snapshotEvery: 0 }), RangeError);
  await assert.rejects(openFileBackend({ ...base, fsync: 'batch', batchIntervalMs: -1 }), RangeError);
});
