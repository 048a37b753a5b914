import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Errors, PosternError } from '../../src/errors.js';
import { MemoryDatabroker } from '../../src/databroker/memory.js';
import type { DataRecord } from '../../src/databroker/types.js';
import { capturingLogger } from './support.js';

interface Seen {
  readonly type: string;
  readonly id: string;
  readonly record: DataRecord | null;
  readonly version: number;
}

function broker(now: () => number = () => 1_000, shards?: number): MemoryDatabroker {
  return new MemoryDatabroker({ logger: capturingLogger().logger, now, sweepIntervalMs: 0, sweepGraceMs: 0, ...(shards ? { shards } : {}) });
}

function watch(db: MemoryDatabroker): Seen[] {
  const seen: Seen[] = [];
  db.onChange((change) => seen.push(change as Seen));
  return seen;
}

test('put returns the stored record with the next version, and get returns the same frozen record', async () => {
  const db = broker(() => 5_000);
  const first = await db.put('session', 's1', { user: 'alice', groups: ['a'] });
  const second = await db.put('user', 'u1', { email: 'a@example.com' }, { expiresAt: 9_000 });
  assert.deepEqual(first, { type: 'session', id: 's1', version: 1, data: { user: 'alice', groups: ['a'] }, modifiedAt: 5_000, expiresAt: null });
  assert.deepEqual(second, { type: 'user', id: 'u1', version: 2, data: { email: 'a@example.com' }, modifiedAt: 5_000, expiresAt: 9_000 });
  assert.equal(db.get('session', 's1'), first);
  assert.equal(db.get('user', 'u1'), second);
  assert.equal(db.version, 2);
  assert.ok(Object.isFrozen(first));
  assert.ok(Object.isFrozen(first.data));
  assert.ok(Object.isFrozen((first.data as { groups: string[] }).groups));
});

test('types are separate namespaces: the same id under two types is two records', async () => {
  const db = broker();
  await db.put('session', 'x', 1);
  await db.put('user', 'x', 2);
  assert.equal(db.get<number>('session', 'x')?.data, 1);
  assert.equal(db.get<number>('user', 'x')?.data, 2);
  assert.equal(db.get('group', 'x'), null);
  assert.deepEqual(db.list('session').map((r) => r.data), [1]);
});

test('a put replaces the record and takes a new version', async () => {
  const db = broker();
  await db.put('t', 'a', 'one');
  const replaced = await db.put('t', 'a', 'two');
  assert.equal(replaced.version, 2);
  assert.equal(db.get('t', 'a'), replaced);
  assert.equal(db.list('t').length, 1);
});

test('delete resolves true for a live record, false for a missing one, and counts as a change', async () => {
  const db = broker();
  const seen = watch(db);
  await db.put('t', 'a', 1);
  assert.equal(await db.delete('t', 'a'), true);
  assert.equal(db.get('t', 'a'), null);
  assert.equal(await db.delete('t', 'a'), false);
  assert.equal(await db.delete('never', 'a'), false);
  assert.equal(db.version, 2);
  assert.deepEqual(
    seen.map((c) => [c.type, c.id, c.record?.data ?? null, c.version]),
    [
      ['t', 'a', 1, 1],
      ['t', 'a', null, 2],
    ],
  );
});

test('an expired record reads as absent at once, before any sweep', async () => {
  let now = 1_000;
  const db = broker(() => now);
  await db.put('t', 'a', 1, { expiresAt: 1_500 });
  await db.put('t', 'b', 2);
  now = 1_499;
  assert.notEqual(db.get('t', 'a'), null);
  now = 1_500;
  assert.equal(db.get('t', 'a'), null);
  assert.deepEqual(db.list('t').map((r) => r.id), ['b']);
});

test('deleting an expired record removes it as a change but resolves false: it was not live', async () => {
  let now = 1_000;
  const db = broker(() => now);
  const seen = watch(db);
  await db.put('t', 'a', 1, { expiresAt: 1_100 });
  now = 2_000;
  assert.equal(await db.delete('t', 'a'), false);
  assert.deepEqual(seen.at(-1), { type: 't', id: 'a', record: null, version: 2 });
  assert.equal(await db.sweep(), 0);
});

test('the sweep removes expired records only, one change each', async () => {
  let now = 1_000;
  const db = broker(() => now);
  await db.put('t', 'a', 1, { expiresAt: 1_100 });
  await db.put('t', 'b', 2, { expiresAt: 5_000 });
  await db.put('u', 'c', 3, { expiresAt: 1_200 });
  const seen = watch(db);
  now = 2_000;
  assert.equal(await db.sweep(), 2);
  // Shard order decides which expired record goes first.
  assert.deepEqual(seen.map((c) => `${c.type}/${c.id}`).sort(), ['t/a', 'u/c']);
  assert.deepEqual(seen.map((c) => [c.record, c.version]), [
    [null, 4],
    [null, 5],
  ]);
  assert.equal(db.version, 5);
  assert.deepEqual(db.list('t').map((r) => r.id), ['b']);
  assert.equal(await db.sweep(), 0);
});

test('the periodic sweep runs on its interval and stops at close, after which records stay readable and writes are refused', async () => {
  let now = 1_000;
  const db = new MemoryDatabroker({ logger: capturingLogger().logger, now: () => now, sweepIntervalMs: 10, sweepGraceMs: 0 });
  await db.put('t', 'a', 1, { expiresAt: 1_001 });
  const kept = await db.put('t', 'b', 2, { expiresAt: 5_000 });
  const seen = watch(db);
  now = 2_000;
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.deepEqual(seen.map((c) => [c.id, c.record]), [['a', null]]);
  await db.close();
  assert.equal(db.get('t', 'b'), kept);
  await assert.rejects(db.put('t', 'c', 1), (err: unknown) => err instanceof PosternError && err.spec === Errors.DATABROKER_CLOSED);
  await assert.rejects(db.delete('t', 'b'), (err: unknown) => err instanceof PosternError && err.spec === Errors.DATABROKER_CLOSED);
  now = 6_000;
  const version = db.version;
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(db.version, version);
});

test('the sweep leaves records alone for the grace period after they expire', async () => {
  let now = 1_000;
  const db = new MemoryDatabroker({ logger: capturingLogger().logger, now: () => now, sweepIntervalMs: 0, sweepGraceMs: 500 });
  await db.put('t', 'a', 1, { expiresAt: 1_100 });
  now = 1_599;
  assert.equal(db.get('t', 'a'), null);
  assert.equal(await db.sweep(), 0);
  now = 1_600;
  assert.equal(await db.sweep(), 1);
});

test('an expiresAt that is not a finite number is refused', async () => {
  const db = broker();
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(db.put('t', 'a', 1, { expiresAt: bad }), RangeError);
  }
  assert.equal(db.version, 0);
});

test('a listener that throws is logged and neither breaks the write nor other listeners', async () => {
  const { logger, lines } = capturingLogger();
  const db = new MemoryDatabroker({ logger, sweepIntervalMs: 0 });
  db.onChange(() => {
    throw new Error('listener broke');
  });
  const seen = watch(db);
  const record = await db.put('t', 'a', 1);
  assert.equal(db.get('t', 'a'), record);
  assert.equal(seen.length, 1);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!['msg'], 'databroker change listener failed');
  assert.equal((lines[0]!['err'] as { message: string }).message, 'listener broke');
});

test('listeners run before put resolves', async () => {
  const db = broker();
  const seen = watch(db);
  const putting = db.put('t', 'a', 1).then(() => seen.length);
  assert.equal(await putting, 1);
});

test('put refuses null or undefined data: deleting is what delete is for', async () => {
  const db = broker();
  await assert.rejects(db.put('t', 'a', null), TypeError);
  await assert.rejects(db.put('t', 'a', undefined), TypeError);
  assert.equal(db.version, 0);
});

test('changes made by a listener reach every listener after the change being delivered, in version order', async () => {
  const db = broker();
  const first: number[] = [];
  const second: number[] = [];
  let nested: Promise<unknown> = Promise.resolve();
  db.onChange((c) => {
    first.push(c.version);
    if (c.id === 'a') nested = db.put('t', 'b', 2);
  });
  db.onChange((c) => second.push(c.version));
  await db.put('t', 'a', 1);
  await nested;
  assert.deepEqual(first, [1, 2]);
  assert.deepEqual(second, [1, 2]);
});

test('unsubscribing stops delivery to that listener only, even when the same function was added twice', async () => {
  const db = broker();
  const calls: string[] = [];
  const fn = (c: { id: string }): void => void calls.push(c.id);
  const off = db.onChange(fn);
  db.onChange(fn);
  await db.put('t', 'a', 1);
  off();
  await db.put('t', 'b', 1);
  assert.deepEqual(calls, ['a', 'a', 'b']);
});

test('a shard count that is not a positive integer is refused', () => {
  for (const shards of [-1, 1.5, Number.NaN]) {
    assert.throws(() => new MemoryDatabroker({ logger: capturingLogger().logger, shards, sweepIntervalMs: 0 }), RangeError);
  }
});

// A naive model: one Map of everything stored (expired included, until removed),
// and the same rules for versions and changes.
type Op =
  | { readonly op: 'put'; readonly type: string; readonly id: string; readonly data: number; readonly ttl: number | null }
  | { readonly op: 'delete'; readonly type: string; readonly id: string }
  | { readonly op: 'advance'; readonly ms: number }
  | { readonly op: 'sweep' };

const TYPES = ['session', 'user'];
const IDS = ['a', 'b', 'c', 'd', 'e'];
const typeArb = fc.constantFrom(...TYPES);
const idArb = fc.constantFrom(...IDS);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), type: typeArb, id: idArb, data: fc.integer(), ttl: fc.option(fc.integer({ min: 0, max: 50 })) }),
  fc.record({ op: fc.constant('delete' as const), type: typeArb, id: idArb }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ op: fc.constant('sweep' as const) }),
);

test('matches a naive model under any sequence of puts, deletes, clock advances and sweeps', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), async (ops, shards) => {
      let now = 0;
      const db = broker(() => now, shards);
      const seen = watch(db);
      const model = new Map<string, { data: number; expiresAt: number | null; version: number }>();
      let version = 0;
      const live = (e: { expiresAt: number | null }): boolean => e.expiresAt === null || e.expiresAt > now;
      for (const op of ops) {
        const before = version;
        switch (op.op) {
          case 'put': {
            const expiresAt = op.ttl === null ? null : now + op.ttl;
            const record = await db.put(op.type, op.id, op.data, { expiresAt });
            model.set(`${op.type}/${op.id}`, { data: op.data, expiresAt, version: ++version });
            assert.equal(record.version, version);
            break;
          }
          case 'delete': {
            const key = `${op.type}/${op.id}`;
            const entry = model.get(key);
            const expected = entry !== undefined && live(entry);
            if (entry !== undefined) {
              model.delete(key);
              version++;
            }
            assert.equal(await db.delete(op.type, op.id), expected);
            break;
          }
          case 'advance':
            now += op.ms;
            break;
          case 'sweep': {
            let expired = 0;
            for (const [key, entry] of model) {
              if (live(entry)) continue;
              model.delete(key);
              expired++;
            }
            version += expired;
            assert.equal(await db.sweep(), expired);
            break;
          }
        }
        assert.equal(db.version, version);
        assert.deepEqual(
          seen.slice(before).map((c) => c.version),
          Array.from({ length: version - before }, (_, i) => before + i + 1),
        );
        for (const type of TYPES) {
          for (const id of IDS) {
            const entry = model.get(`${type}/${id}`);
            const got = db.get<number>(type, id);
            if (entry === undefined || !live(entry)) assert.equal(got, null);
            else assert.deepEqual([got?.data, got?.version, got?.expiresAt], [entry.data, entry.version, entry.expiresAt]);
          }
          const listed = db.list<number>(type).map((r) => `${r.id}=${r.data}`).sort();
          const expected = [...model]
            .filter(([key, e]) => key.startsWith(`${type}/`) && live(e))
            .map(([key, e]) => `${key.slice(type.length + 1)}=${e.data}`)
            .sort();
          assert.deepEqual(listed, expected);
        }
      }
      await db.close();
    }),
    { numRuns: 300 },
  );
});
