import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Change } from '../../../src/databroker/backend.js';
import { ReplicatedHistory } from '../../../src/databroker/peers/history.js';

function put(version: number, id: string, data: unknown = { v: version }): Change {
  return { version, type: 'session', id, record: { type: 'session', id, version, data, modifiedAt: 0, expiresAt: null } };
}

function del(version: number, id: string): Change {
  return { version, type: 'session', id, record: null };
}

test('changes apply in version order; anything else throws and changes nothing', () => {
  const history = new ReplicatedHistory(10);
  history.reset({ serverVersion: 'h', version: 4, records: [] });
  history.apply(put(5, 'a'));
  assert.throws(() => history.apply(put(7, 'b')), /change 7 does not follow version 5/);
  assert.throws(() => history.apply(put(5, 'b')), /does not follow/);
  assert.equal(history.version, 5);
  assert.deepEqual(history.snapshot().records.map((r) => r.id), ['a']);
});

test('a deletion removes the record; the snapshot holds the live records at the current version', () => {
  const history = new ReplicatedHistory(10);
  history.reset({ serverVersion: 'h', version: 0, records: [] });
  history.apply(put(1, 'a'));
  history.apply(put(2, 'b'));
  history.apply(del(3, 'a'));
  const snapshot = history.snapshot();
  assert.equal(snapshot.serverVersion, 'h');
  assert.equal(snapshot.version, 3);
  assert.deepEqual(snapshot.records.map((r) => r.id), ['b']);
});

test('only the last `retainedChanges` changes are kept; earliest says which', () => {
  const history = new ReplicatedHistory(3);
  history.reset({ serverVersion: 'h', version: 10, records: [] });
  assert.equal(history.earliest, 11);
  for (let v = 11; v <= 15; v++) history.apply(put(v, `s${v}`));
  assert.equal(history.earliest, 13);
  assert.equal(history.changeAt(12), undefined);
  assert.equal(history.changeAt(13)?.id, 's13');
  assert.equal(history.changeAt(15)?.id, 's15');
  assert.equal(history.changeAt(16), undefined);
});

test('a reset forgets the retained changes and any fork', () => {
  const history = new ReplicatedHistory(3);
  history.reset({ serverVersion: 'h', version: 0, records: [] });
  history.apply(put(1, 'a'));
  history.fork('h2');
  history.reset({ serverVersion: 'h3', version: 9, records: [put(9, 'z').record!] });
  assert.deepEqual(history.position, { serverVersion: 'h3', version: 9, earliest: 10, fork: null });
  assert.deepEqual(history.snapshot().records.map((r) => [r.id, r.version]), [['z', 9]]);
});

test('a fork starts a new server_version that continues the old one at the current version', () => {
  const history = new ReplicatedHistory(10);
  history.reset({ serverVersion: 'old', version: 0, records: [] });
  history.apply(put(1, 'a'));
  history.fork('new');
  history.apply(put(2, 'b'));
  assert.deepEqual(history.position, { serverVersion: 'new', version: 2, earliest: 1, fork: { serverVersion: 'old', version: 1 } });
  history.adopt('newer');
  assert.deepEqual(history.position.fork, null);
  assert.equal(history.serverVersion, 'newer');
});

test('the records always equal a plain replay of every change, whatever the retention', () => {
  const ops = fc.array(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd'), deleted: fc.boolean() }), { maxLength: 60 });
  fc.assert(
    fc.property(ops, fc.integer({ min: 1, max: 8 }), (steps, retained) => {
      const history = new ReplicatedHistory(retained);
      history.reset({ serverVersion: 'h', version: 0, records: [] });
      const model = new Map<string, number>();
      steps.forEach((step, i) => {
        const version = i + 1;
        history.apply(step.deleted ? del(version, step.id) : put(version, step.id));
        if (step.deleted) model.delete(step.id);
        else model.set(step.id, version);
      });
      const got = new Map(history.snapshot().records.map((r) => [r.id, r.version] as const));
      assert.deepEqual(got, model);
      for (let v = history.earliest; v <= history.version; v++) assert.equal(history.changeAt(v)?.version, v);
    }),
  );
});
