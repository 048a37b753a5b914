import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Change, StoreSnapshot } from '../../src/databroker/backend.js';
import { ChangeFeed, newServerVersion } from '../../src/databroker/feed.js';
import { MemoryDatabroker } from '../../src/databroker/memory.js';
import type { DataRecord } from '../../src/databroker/types.js';
import { silentLogger } from './support.js';

function change(version: number, id = `r${version}`): Change {
  return { version, type: 't', id, record: { type: 't', id, version, data: version, modifiedAt: 0, expiresAt: null } };
}

function feedAt(version: number, capacity: number): ChangeFeed {
  return new ChangeFeed({ serverVersion: 'h', version, capacity, records: () => [] });
}

test('a reader up to date gets no changes; one behind gets exactly the changes it misses, in order', () => {
  const feed = feedAt(0, 10);
  for (let v = 1; v <= 5; v++) feed.append(change(v));
  assert.deepEqual(feed.changesSince('h', 5), []);
  assert.deepEqual(
    (feed.changesSince('h', 2) as Change[]).map((c) => c.version),
    [3, 4, 5],
  );
  assert.deepEqual(
    (feed.changesSince('h', 0) as Change[]).map((c) => c.version),
    [1, 2, 3, 4, 5],
  );
});

test('a reader behind the changes kept is told it is too far behind', () => {
  const feed = feedAt(0, 3);
  for (let v = 1; v <= 5; v++) feed.append(change(v));
  assert.equal(feed.earliestVersion, 2);
  assert.deepEqual(
    (feed.changesSince('h', 2) as Change[]).map((c) => c.version),
    [3, 4, 5],
  );
  assert.equal(feed.changesSince('h', 1), 'too-far-behind');
  assert.equal(feed.changesSince('h', 0), 'too-far-behind');
});

test('a feed that starts at a version keeps nothing from before it', () => {
  const feed = feedAt(7, 3);
  assert.deepEqual(feed.changesSince('h', 7), []);
  assert.equal(feed.changesSince('h', 6), 'too-far-behind');
  feed.append(change(8));
  assert.deepEqual(
    (feed.changesSince('h', 7) as Change[]).map((c) => c.version),
    [8],
  );
});

test('another server version, a version this history never reached, or a malformed one is a different history', () => {
  const feed = feedAt(0, 10);
  feed.append(change(1));
  assert.equal(feed.changesSince('other', 1), 'different-history');
  assert.equal(feed.changesSince('h', 2), 'different-history');
  for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(feed.changesSince('h', bad), 'different-history');
});

test('changes must be appended in version order, one by one', () => {
  const feed = feedAt(0, 10);
  feed.append(change(1));
  assert.throws(() => feed.append(change(3)), RangeError);
  assert.throws(() => feed.append(change(1)), RangeError);
});

test('after a reset the feed answers for the new position only', () => {
  const feed = feedAt(0, 10);
  for (let v = 1; v <= 3; v++) feed.append(change(v));
  feed.reset('h2', 40);
  assert.equal(feed.changesSince('h', 3), 'different-history');
  assert.equal(feed.changesSince('h2', 39), 'too-far-behind');
  assert.deepEqual(feed.changesSince('h2', 40), []);
});

test('server versions are 64 random bits in hex', () => {
  const versions = new Set(Array.from({ length: 100 }, () => newServerVersion()));
  assert.equal(versions.size, 100);
  for (const v of versions) assert.match(v, /^[0-9a-f]{16}$/);
});

test('a capacity that is not a positive integer is refused', () => {
  for (const capacity of [0, -1, 1.5]) assert.throws(() => feedAt(0, capacity), RangeError);
});

/** A reader's copy of the store, built from a snapshot and the changes after it. */
class Reader {
  serverVersion = '';
  version = 0;
  readonly records = new Map<string, DataRecord>();

  load(snapshot: StoreSnapshot): void {
    this.serverVersion = snapshot.serverVersion;
    this.version = snapshot.version;
    this.records.clear();
    for (const r of snapshot.records) this.records.set(`${r.type}/${r.id}`, r);
  }

  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      assert.equal(c.version, this.version + 1);
      if (c.record === null) this.records.delete(`${c.type}/${c.id}`);
      else this.records.set(`${c.type}/${c.id}`, c.record);
      this.version = c.version;
    }
  }
}

type Op = { readonly op: 'put'; readonly id: string; readonly data: number } | { readonly op: 'delete'; readonly id: string } | { readonly op: 'read'; readonly reader: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('put' as const), id: fc.constantFrom('a', 'b', 'c', 'd'), data: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), id: fc.constantFrom('a', 'b', 'c', 'd') }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), reader: fc.integer({ min: 0, max: 2 }) }) },
);

test('a reader that takes a snapshot and then catches up from any point ends equal to the store, or is told to take a snapshot again', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 80 }), fc.integer({ min: 1, max: 12 }), async (ops, capacity) => {
      const db = new MemoryDatabroker({ logger: silentLogger(), sweepIntervalMs: 0, feedCapacity: capacity });
      const readers = [new Reader(), new Reader(), new Reader()];
      for (const reader of readers) reader.load(db.snapshot());
      const catchUp = (reader: Reader): void => {
        const answer = db.changesSince(reader.serverVersion, reader.version);
        if (answer === 'too-far-behind') {
          // Told so exactly when it missed more than the feed keeps.
          assert.ok(db.version - reader.version > capacity);
          reader.load(db.snapshot());
        } else {
          assert.notEqual(answer, 'different-history');
          assert.ok(db.version - reader.version <= capacity);
          reader.apply(answer as Change[]);
        }
      };
      for (const op of ops) {
        if (op.op === 'put') await db.put('t', op.id, op.data);
        else if (op.op === 'delete') await db.delete('t', op.id);
        else catchUp(readers[op.reader]!);
      }
      for (const reader of readers) {
        catchUp(reader);
        assert.equal(reader.version, db.version);
        const expected = new Map(db.list('t').map((r) => [`t/${r.id}`, r]));
        assert.deepEqual(reader.records, expected);
      }
      await db.close();
    }),
    { numRuns: 200 },
  );
});

test('a reader of another history is told so, and catches up from a snapshot', async () => {
  const first = new MemoryDatabroker({ logger: silentLogger(), sweepIntervalMs: 0 });
  const second = new MemoryDatabroker({ logger: silentLogger(), sweepIntervalMs: 0 });
  await first.put('t', 'a', 1);
  await second.put('t', 'b', 2);
  assert.notEqual(first.serverVersion, second.serverVersion);
  assert.equal(second.changesSince(first.serverVersion, first.version), 'different-history');
  const reader = new Reader();
  reader.load(second.snapshot());
  assert.deepEqual([...reader.records.keys()], ['t/b']);
});
