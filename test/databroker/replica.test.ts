import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Change, StorageBackend, WriteOp } from '../../src/databroker/backend.js';
import { MemoryBackend } from '../../src/databroker/memory-backend.js';
import { Replica, type ReplicaOptions } from '../../src/databroker/replica.js';
import type { ChangeEvent, DataRecord } from '../../src/databroker/types.js';
import { capturingLogger, drain, settle, SharedLog, silentLogger, type SharedLogBackend } from './support.js';

async function replicaOn(log: SharedLog, options: Partial<ReplicaOptions> = {}): Promise<{ db: Replica; backend: SharedLogBackend; seen: ChangeEvent[] }> {
  const backend = log.backend();
  const db = await Replica.open(backend, { logger: silentLogger(), sweepIntervalMs: 0, sweepGraceMs: 0, ...options });
  const seen: ChangeEvent[] = [];
  db.onChange((change) => seen.push(change));
  return { db, backend, seen };
}

/** Resolves with true when `promise` settles before the others queued now have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return done;
}

test('a write resolves once the replica has applied it, after the earlier changes made elsewhere', async () => {
  const log = new SharedLog();
  const a = await replicaOn(log);
  const b = await replicaOn(log);
  const fromB = b.db.put('t', 'x', 'from b');
  const fromA = a.db.put('t', 'y', 'from a');
  await settle();
  // A's write (version 2) is acknowledged before A hears of B's (version 1).
  assert.ok(a.backend.ack());
  assert.equal(await isSettled(fromA), false);
  assert.equal(a.db.version, 0);
  assert.ok(a.backend.deliver());
  assert.equal(await isSettled(fromA), true);
  const record = await fromA;
  assert.equal(record.version, 2);
  assert.equal(a.db.get('t', 'x')?.data, 'from b');
  assert.equal(a.db.get('t', 'y'), record);
  assert.deepEqual(
    a.seen.map((c) => [c.version, c.id]),
    [
      [1, 'x'],
      [2, 'y'],
    ],
  );
  await drain([a.backend, b.backend]);
  assert.equal((await fromB).version, 1);
  assert.equal(b.db.version, 2);
});

test('a lost notification is noticed, and subscribing again brings what was missed', async () => {
  const log = new SharedLog();
  const { logger, lines } = capturingLogger('warn');
  const a = await replicaOn(log, { logger, gapTimeoutMs: 5 });
  const b = await replicaOn(log);
  await Promise.all([b.db.put('t', '1', 1), b.db.put('t', '2', 2), drain([b.backend])]);
  assert.ok(a.backend.drop());
  assert.ok(a.backend.deliver());
  assert.equal(a.db.version, 0);
  const calls = a.backend.subscribeCalls;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.ok(a.backend.subscribeCalls > calls);
  await drain([a.backend]);
  assert.equal(a.db.version, 2);
  assert.deepEqual(
    a.seen.map((c) => c.version),
    [1, 2],
  );
  assert.ok(lines.some((l) => l['msg'] === 'databroker change missing; subscribing again' && l['waitingFor'] === 1));
});

test('a replica behind what the backend keeps starts again from its snapshot, and listeners learn what changed', async () => {
  const log = new SharedLog();
  const a = await replicaOn(log, { gapTimeoutMs: 5 });
  const b = await replicaOn(log);
  await Promise.all([b.db.put('t', 'kept', 1), b.db.put('t', 'gone', 2), drain([b.backend])]);
  await drain([a.backend]);
  const kept = a.db.get('t', 'kept');
  await Promise.all([b.db.delete('t', 'gone'), b.db.put('t', 'new', 3), b.db.put('t', 'later', 4), drain([b.backend])]);
  log.forgetChanges();
  // A loses the deletion, sees the put after it, and the backend no longer has the deletion.
  assert.ok(a.backend.drop());
  assert.ok(a.backend.deliver());
  await new Promise((resolve) => setTimeout(resolve, 30));
  await drain([a.backend]);
  assert.equal(a.db.version, log.version);
  assert.equal(a.db.get('t', 'gone'), null);
  assert.equal(a.db.get('t', 'kept'), kept, 'records the snapshot did not change stay the same objects');
  const resync = a.seen.filter((c) => c.resync === true);
  assert.deepEqual(resync.map((c) => [c.id, c.record === null ? null : c.record.data, c.version]).sort(), [
    ['gone', null, 5],
    ['later', 4, 5],
    ['new', 3, 5],
  ]);
});

test('a new history replaces the replica, and a write acknowledged in the old one resolves', async () => {
  const log = new SharedLog();
  const a = await replicaOn(log);
  await Promise.all([a.db.put('t', 'x', 1), drain([a.backend])]);
  const pending = a.db.put('t', 'y', 2);
  await settle();
  log.newHistory('history-2');
  a.backend.pushResync();
  // The notification of y in the old history is lost; the resync arrives before the acknowledgement.
  assert.ok(a.backend.drop());
  assert.ok(a.backend.deliver());
  assert.equal(a.db.serverVersion, 'history-2');
  assert.ok(a.backend.ack());
  assert.equal(await isSettled(pending), true);
  assert.deepEqual(
    a.db
      .list('t')
      .map((r) => [r.id, r.version])
      .sort(),
    [
      ['x', 1],
      ['y', 2],
    ],
  );
  assert.deepEqual(
    a.seen.filter((c) => c.resync === true).map((c) => [c.id, c.version]).sort(),
    [
      ['x', 2],
      ['y', 2],
    ],
  );
  // Changes of the new history follow on, and the feed serves them to readers of the new history.
  await Promise.all([a.db.put('t', 'z', 3), drain([a.backend])]);
  assert.equal(a.db.version, 3);
  assert.deepEqual(a.db.changesSince('history-2', 2), [a.seen.at(-1)]);
  assert.equal(a.db.changesSince('history-1', 2), 'different-history');
});

test('a store behind the replica on its own history wins: the changes it lost are undone, listeners are told, an error says how many', async () => {
  const log = new SharedLog();
  const { logger, lines } = capturingLogger('info');
  const a = await replicaOn(log, { logger });
  const b = await replicaOn(log);
  await Promise.all([b.db.put('t', 'x', 1), b.db.put('t', 'y', 2), drain([a.backend, b.backend])]);
  const y = a.db.get('t', 'y');
  await Promise.all([a.db.put('t', 'z', 3), a.db.put('t', 'x', 10), drain([a.backend, b.backend])]);
  // A write the store numbers 5 and acknowledges, then loses along with 3 and 4.
  const lostWrite = a.db.put('t', 'w', 4);
  await settle();
  assert.equal(log.version, 5);
  log.loseLastChanges(3);
  a.backend.pushResync();
  b.backend.pushResync();
  const seenBefore = a.seen.length;
  await drain([a.backend, b.backend]);
  assert.equal(await isSettled(lostWrite), true, 'a write acknowledged in the lost changes is done, not waiting forever');

  for (const replica of [a, b]) {
    assert.equal(replica.db.version, 2);
    assert.equal(replica.db.serverVersion, 'history-1');
    assert.deepEqual(
      replica.db.list('t').map((r) => [r.id, r.data, r.version]).sort(),
      [
        ['x', 1, 1],
        ['y', 2, 2],
      ],
    );
  }
  assert.equal(a.db.get('t', 'y'), y, 'records the store still has at the same version stay the same objects');
  const resync = a.seen.slice(seenBefore).filter((c) => c.resync === true);
  assert.deepEqual(resync.map((c) => [c.id, c.record === null ? null : c.record.data, c.version]).sort(), [
    ['w', null, 2],
    ['x', 1, 2],
    ['z', null, 2],
  ]);
  const error = lines.find((l) => l['level'] === 50);
  assert.ok(error, 'the loss is logged as an error');
  assert.equal(error['lostVersions'], 3);
  assert.equal(error['replicaVersion'], 5);
  assert.equal(error['storeVersion'], 2);
  assert.match(String(error['msg']), /3 version\(s\) behind this replica/);

  // The store's next changes take the lost versions, and apply.
  await Promise.all([b.db.put('t', 'n', 5), drain([a.backend, b.backend])]);
  assert.equal(a.db.version, 3);
  assert.deepEqual(a.db.get('t', 'n')?.data, 5);
  assert.equal(a.db.get('t', 'w'), null);
  assert.equal(a.db.changesSince('history-1', 5), 'different-history', 'a reader at a lost version is told to start again');
});

test('deleting on a shared store writes even a record this replica has not seen yet', async () => {
  const log = new SharedLog();
  const a = await replicaOn(log);
  const b = await replicaOn(log);
  await Promise.all([b.db.put('t', 'x', 1), drain([b.backend])]);
  const deleting = a.db.delete('t', 'x');
  await drain([a.backend, b.backend]);
  assert.equal(await deleting, false, 'it was not live here');
  assert.equal(b.db.get('t', 'x'), null);
  assert.equal(log.version, 2);
});

test('a local backend that numbers a write it never acknowledges does not stall the replica', async () => {
  const memory = new MemoryBackend();
  let skipped = false;
  const skipping: StorageBackend = {
    kind: 'skipping',
    load: () => memory.load(),
    write: async (op: WriteOp): Promise<Change> => {
      if (!skipped && op.id === 'hole') {
        skipped = true;
        await memory.write(op);
        return new Promise<Change>(() => undefined);
      }
      return memory.write(op);
    },
    close: () => memory.close(),
  };
  const { logger, lines } = capturingLogger('error');
  const db = await Replica.open(skipping, { logger, sweepIntervalMs: 0, gapTimeoutMs: 5 });
  void db.put('t', 'hole', 0);
  // The replica's timers do not keep a process alive; this one keeps the test's.
  const alive = setTimeout(() => undefined, 1_000);
  const after = await db.put('t', 'after', 1);
  clearTimeout(alive);
  assert.equal(after.version, 2);
  assert.equal(db.get('t', 'after'), after);
  assert.ok(lines.some((l) => l['msg'] === 'databroker versions skipped by the storage backend' && l['skippedTo'] === 2));
  await db.close();
});

test('query finds live records by an indexed field, and refuses a field that is not indexed', async () => {
  let now = 1_000;
  const log = new SharedLog();
  const { db, backend } = await replicaOn(log, { indexes: { session: ['userId'] }, now: () => now });
  await Promise.all([
    db.put('session', 's1', { userId: 'alice' }),
    db.put('session', 's2', { userId: 'alice' }, { expiresAt: 1_500 }),
    db.put('session', 's3', { userId: 'bob' }),
    drain([backend]),
  ]);
  assert.deepEqual(
    db
      .query<{ userId: string }>('session', 'userId', 'alice')
      .map((r) => r.id)
      .sort(),
    ['s1', 's2'],
  );
  now = 1_500;
  assert.deepEqual(
    db.query('session', 'userId', 'alice').map((r) => r.id),
    ['s1'],
  );
  await Promise.all([db.put('session', 's1', { userId: 'bob' }), drain([backend])]);
  assert.deepEqual(db.query('session', 'userId', 'alice'), []);
  assert.deepEqual(
    db
      .query('session', 'userId', 'bob')
      .map((r) => r.id)
      .sort(),
    ['s1', 's3'],
  );
  assert.throws(() => db.query('session', 'idpId', 'x'), RangeError);
  assert.throws(() => db.query('user', 'userId', 'alice'), RangeError);
});

test('the sweep deletes expired records through the backend, so every replica loses them', async () => {
  let now = 1_000;
  const log = new SharedLog();
  const a = await replicaOn(log, { now: () => now });
  const b = await replicaOn(log, { now: () => now });
  await Promise.all([a.db.put('t', 'old', 1, { expiresAt: 1_100 }), a.db.put('t', 'fresh', 2, { expiresAt: 9_000 }), drain([a.backend, b.backend])]);
  now = 2_000;
  const sweeping = a.db.sweep();
  await drain([a.backend, b.backend]);
  assert.equal(await sweeping, 1);
  assert.equal(log.snapshot().records.length, 1);
  assert.deepEqual(
    b.seen.map((c) => [c.id, c.record === null]),
    [
      ['old', false],
      ['fresh', false],
      ['old', true],
    ],
  );
});

test('on a shared store, only the instance holding the sweeper lease sweeps', async () => {
  let now = 1_000;
  const log = new SharedLog();
  const a = await replicaOn(log, { now: () => now, sweepIntervalMs: 10, instanceId: 'a' });
  const b = await replicaOn(log, { now: () => now, sweepIntervalMs: 10, instanceId: 'b' });
  await Promise.all([a.db.put('t', 'old', 1, { expiresAt: 1_100 }), drain([a.backend, b.backend])]);
  now = 2_000;
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await drain([a.backend, b.backend]);
  }
  const holders = [a, b].filter((x) => x.db.leases.holds('databroker_sweeper', x.db.instanceId));
  assert.equal(holders.length, 1);
  const deletions = log.changes.filter((c) => c.type === 't' && c.record === null);
  assert.equal(deletions.length, 1, 'the expired record is deleted once');
  await Promise.all([a.db.close(), b.db.close(), drain([a.backend, b.backend])]);
});

test('close releases the leases this instance holds, so another can take over at once', async () => {
  const log = new SharedLog();
  const a = await replicaOn(log, { instanceId: 'a' });
  const b = await replicaOn(log, { instanceId: 'b' });
  const taking = a.db.lease('job').hold();
  await drain([a.backend, b.backend]);
  assert.equal(await taking, true);
  const closing = a.db.close();
  await drain([a.backend, b.backend]);
  await closing;
  const second = b.db.lease('job').hold();
  await drain([b.backend]);
  assert.equal(await second, true);
});

// Several replicas of one store, driven by random interleavings of writes,
// acknowledgements, notifications and clock advances. At every step each
// replica must be exactly the log's state at the replica's version (with
// expiry applied), and its listeners must have seen every version once, in order.
type Step =
  | { readonly kind: 'put'; readonly who: number; readonly id: string; readonly data: number; readonly ttl: number | null }
  | { readonly kind: 'delete'; readonly who: number; readonly id: string }
  | { readonly kind: 'deliver'; readonly who: number }
  | { readonly kind: 'ack'; readonly who: number; readonly pick: number }
  | { readonly kind: 'advance'; readonly ms: number };

const REPLICAS = 3;
const IDS = ['a', 'b', 'c'];
const whoArb = fc.integer({ min: 0, max: REPLICAS - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('put' as const), who: whoArb, id: fc.constantFrom(...IDS), data: fc.integer(), ttl: fc.option(fc.integer({ min: 1, max: 30 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), who: whoArb, id: fc.constantFrom(...IDS) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), who: whoArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ack' as const), who: whoArb, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20 }) }) },
);

/** The records by id after `changes`, in order (a change without a record deletes). */
function applied(changes: readonly { readonly id: string; readonly record: DataRecord | null }[]): Map<string, DataRecord> {
  const state = new Map<string, DataRecord>();
  for (const c of changes) {
    if (c.record === null) state.delete(c.id);
    else state.set(c.id, c.record);
  }
  return state;
}

type Running = Awaited<ReturnType<typeof replicaOn>>;

/** A step both properties take: a replica writes, or its backend delivers or acknowledges. */
function takeReplicaStep(step: Exclude<Step, { kind: 'advance' }>, replicas: readonly Running[], writes: Promise<unknown>[], now: number): void {
  switch (step.kind) {
    case 'put':
      writes.push(replicas[step.who]!.db.put('t', step.id, step.data, { expiresAt: step.ttl === null ? null : now + step.ttl }));
      break;
    case 'delete':
      writes.push(replicas[step.who]!.db.delete('t', step.id));
      break;
    case 'deliver':
      replicas[step.who]!.backend.deliver();
      break;
    case 'ack': {
      const backend = replicas[step.who]!.backend;
      if (backend.acks.length > 0) backend.ack(step.pick % backend.acks.length);
      break;
    }
  }
}

test('replicas of one store are always at a prefix of its history, whatever the interleaving, and end equal', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { maxLength: 70 }), async (steps) => {
      let now = 0;
      const log = new SharedLog();
      const replicas = await Promise.all(Array.from({ length: REPLICAS }, () => replicaOn(log, { now: () => now, gapTimeoutMs: 60_000 })));
      const writes: Promise<unknown>[] = [];
      const check = (): void => {
        for (const { db, seen } of replicas) {
          const state = applied(log.changes.slice(0, db.version));
          for (const id of IDS) {
            const expected = state.get(id);
            const live = expected !== undefined && (expected.expiresAt === null || expected.expiresAt > now) ? expected : null;
            assert.deepEqual(db.get('t', id), live);
          }
          assert.deepEqual(
            seen.map((c) => c.version),
            Array.from({ length: db.version }, (_, i) => i + 1),
          );
        }
      };
      for (const step of steps) {
        if (step.kind === 'advance') now += step.ms;
        else takeReplicaStep(step, replicas, writes, now);
        await settle();
        check();
      }
      await drain(replicas.map((r) => r.backend));
      await Promise.all(writes);
      check();
      for (const { db } of replicas) assert.equal(db.version, log.version);
    }),
    { numRuns: 150 },
  );
});

test('every read of a record returns the same frozen object until it changes', async () => {
  const log = new SharedLog();
  const a = await replicaOn(log);
  const b = await replicaOn(log);
  await Promise.all([b.db.put('t', 'x', { nested: { list: [1, 2] } }), drain([a.backend, b.backend])]);
  const record = a.db.get<{ nested: { list: number[] } }>('t', 'x');
  assert.ok(record !== null);
  assert.equal(a.db.get('t', 'x'), record);
  assert.ok(Object.isFrozen(record) && Object.isFrozen(record.data.nested.list));
});

// The store loses the tail of its history (keeping its server version) at
// random moments, while replicas write, acknowledge and receive changes in
// any order. Whatever a replica had seen of the lost changes, it must end
// with exactly the store's state, and its listeners must have been told
// every difference: replaying what they saw gives the replica's records.
type LossStep = Exclude<Step, { kind: 'advance' }> | { readonly kind: 'lose'; readonly count: number };

const lossStepArb: fc.Arbitrary<LossStep> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('put' as const), who: whoArb, id: fc.constantFrom(...IDS), data: fc.integer(), ttl: fc.constant(null) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), who: whoArb, id: fc.constantFrom(...IDS) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), who: whoArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ack' as const), who: whoArb, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lose' as const), count: fc.integer({ min: 1, max: 6 }) }) },
);

test('whatever tail of its history the store loses, every replica ends with exactly the store\'s state, and its listeners saw every difference', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(lossStepArb, { maxLength: 70 }), async (steps) => {
      const log = new SharedLog();
      const replicas = await Promise.all(Array.from({ length: REPLICAS }, () => replicaOn(log, { gapTimeoutMs: 60_000 })));
      const writes: Promise<unknown>[] = [];
      const checkListeners = (): void => {
        for (const { db, seen } of replicas) {
          assert.deepEqual(applied(seen), new Map(db.list('t').map((r) => [r.id, r])));
        }
      };
      for (const step of steps) {
        if (step.kind === 'lose') {
          log.loseLastChanges(Math.min(step.count, log.changes.length));
          for (const { backend } of replicas) backend.pushResync();
        } else {
          takeReplicaStep(step, replicas, writes, 0);
        }
        await settle();
        checkListeners();
      }
      await drain(replicas.map((r) => r.backend));
      await Promise.all(writes);
      checkListeners();
      const store = new Map(log.snapshot().records.map((r) => [r.id, r]));
      for (const { db } of replicas) {
        assert.equal(db.version, log.version);
        assert.deepEqual(new Map(db.list('t').map((r) => [r.id, r])), store);
      }
    }),
    { numRuns: 150 },
  );
});
