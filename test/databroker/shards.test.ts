import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { shardIndex, ShardedRecords } from '../../src/databroker/shards.js';
import type { DataRecord } from '../../src/databroker/types.js';

function record(type: string, id: string, data: unknown, version = 1): DataRecord {
  return { type, id, version, data, modifiedAt: 0, expiresAt: null };
}

test('shard indexes stay in range and spread ids over every shard', () => {
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (id, shards) => {
      const i = shardIndex(id, shards);
      return Number.isInteger(i) && i >= 0 && i < shards;
    }),
  );
  const used = new Set<number>();
  for (let n = 0; n < 256; n++) used.add(shardIndex(`session-${n}`, 16));
  assert.equal(used.size, 16);
});

test('set returns the record it replaces, remove the one it removes, and size counts records', () => {
  const table = new ShardedRecords(4);
  const a1 = record('t', 'a', 1);
  const a2 = record('t', 'a', 2, 2);
  assert.equal(table.set(a1), undefined);
  assert.equal(table.set(a2), a1);
  assert.equal(table.set(record('u', 'a', 3)), undefined);
  assert.equal(table.size, 2);
  assert.equal(table.get('t', 'a'), a2);
  assert.equal(table.remove('t', 'a'), a2);
  assert.equal(table.remove('t', 'a'), undefined);
  assert.equal(table.size, 1);
});

test('only declared fields are indexed, and only their string values', () => {
  const table = new ShardedRecords(4, { session: ['userId'] });
  table.set(record('session', 's1', { userId: 'alice', n: 1 }));
  table.set(record('session', 's2', { userId: 42 }));
  table.set(record('session', 's3', 'not an object'));
  table.set(record('user', 'u1', { userId: 'alice' }));
  assert.ok(table.isIndexed('session', 'userId'));
  assert.ok(!table.isIndexed('session', 'n'));
  assert.ok(!table.isIndexed('user', 'userId'));
  assert.deepEqual(
    table.lookup('session', 'userId', 'alice').map((r) => r.id),
    ['s1'],
  );
  assert.deepEqual(table.lookup('session', 'userId', '42'), []);
  assert.deepEqual(table.lookup('user', 'userId', 'alice'), []);
});

// Model: the index must always equal a scan of the table.
type Op = { readonly op: 'set'; readonly id: string; readonly user: string | null } | { readonly op: 'remove'; readonly id: string };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), id: fc.constantFrom('s1', 's2', 's3', 's4', 's5'), user: fc.option(fc.constantFrom('alice', 'bob', 'carol')) }),
  fc.record({ op: fc.constant('remove' as const), id: fc.constantFrom('s1', 's2', 's3', 's4', 's5') }),
);

test('lookups always agree with a scan of the table, whatever the sequence of writes', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), (ops, shards) => {
      const table = new ShardedRecords(shards, { session: ['userId'] });
      for (const op of ops) {
        if (op.op === 'set') table.set(record('session', op.id, op.user === null ? { other: true } : { userId: op.user }));
        else table.remove('session', op.id);
        for (const user of ['alice', 'bob', 'carol']) {
          const scanned: string[] = [];
          table.forEachOfType('session', (r) => {
            if ((r.data as { userId?: string }).userId === user) scanned.push(r.id);
          });
          assert.deepEqual(
            table
              .lookup('session', 'userId', user)
              .map((r) => r.id)
              .sort(),
            scanned.sort(),
          );
        }
      }
    }),
    { numRuns: 300 },
  );
});
