import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseChange, parseFollowerMessage, parseLeaderMessage, parseRecord, parseWriteOp, MAX_NAME_CHARS } from '../../../src/databroker/peers/messages.js';

const record = { type: 'session', id: 's1', version: 7, data: { userId: 'u' }, modifiedAt: 1_000, expiresAt: null };

test('records: every field checked, unknown fields dropped', () => {
  assert.deepEqual(parseRecord({ ...record, extra: 'dropped' }), record);
  assert.deepEqual(parseRecord({ ...record, expiresAt: 2_000, data: null }), { ...record, expiresAt: 2_000, data: null });
  const bad: Array<[string, unknown]> = [
    ['not an object', 'record'],
    ['an array', [record]],
    ['no data', { type: 'session', id: 's1', version: 7, modifiedAt: 1_000, expiresAt: null }],
    ['empty type', { ...record, type: '' }],
    ['type too long', { ...record, type: 't'.repeat(MAX_NAME_CHARS + 1) }],
    ['numeric id', { ...record, id: 1 }],
    ['version 0', { ...record, version: 0 }],
    ['fractional version', { ...record, version: 1.5 }],
    ['version beyond 2^53', { ...record, version: 2 ** 53 }],
    ['modifiedAt as text', { ...record, modifiedAt: '1000' }],
    ['expiry missing', { type: 'session', id: 's1', version: 7, data: 1, modifiedAt: 1_000 }],
    ['expiry not finite', { ...record, expiresAt: Infinity }],
  ];
  for (const [name, value] of bad) assert.equal(parseRecord(value), null, name);
});

test('changes: a deletion has a null record; a put\'s record must be the record the change names', () => {
  assert.deepEqual(parseChange({ version: 8, type: 'session', id: 's1', record: null }), { version: 8, type: 'session', id: 's1', record: null });
  assert.deepEqual(parseChange({ version: 7, type: 'session', id: 's1', record }), { version: 7, type: 'session', id: 's1', record });
  assert.equal(parseChange({ version: 8, type: 'session', id: 's1', record }), null, 'record of another version');
  assert.equal(parseChange({ version: 7, type: 'user', id: 's1', record }), null, 'record of another type');
  assert.equal(parseChange({ version: 7, type: 'session', id: 's2', record }), null, 'record of another id');
  assert.equal(parseChange({ version: 7, type: 'session', id: 's1' }), null, 'no record field at all');
});

test('write ops: data may be null (a deletion) but must be present', () => {
  const op = { type: 'session', id: 's1', data: { a: 1 }, expiresAt: null, modifiedAt: 5 };
  assert.deepEqual(parseWriteOp(op), op);
  assert.deepEqual(parseWriteOp({ ...op, data: null }), { ...op, data: null });
  assert.equal(parseWriteOp({ type: 'session', id: 's1', expiresAt: null, modifiedAt: 5 }), null);
  assert.equal(parseWriteOp({ ...op, modifiedAt: null }), null);
});

test('follower messages', () => {
  assert.deepEqual(parseFollowerMessage({ t: 'hello', node: 'b', serverVersion: '', version: 0 }), { t: 'hello', node: 'b', serverVersion: '', version: 0 });
  assert.deepEqual(parseFollowerMessage({ t: 'ping', extra: 1 }), { t: 'ping' });
  const op = { type: 'session', id: 's1', data: null, expiresAt: null, modifiedAt: 5 };
  assert.deepEqual(parseFollowerMessage({ t: 'write', id: 3, op }), { t: 'write', id: 3, op });
  const bad: unknown[] = [
    null,
    [],
    { t: 'hello', node: '', serverVersion: '', version: 0 },
    { t: 'hello', node: 'b', serverVersion: 'x'.repeat(129), version: 0 },
    { t: 'hello', node: 'b', serverVersion: '', version: -1 },
    { t: 'write', id: 0, op },
    { t: 'write', id: 1, op: { ...op, type: 7 } },
    { t: 'change', change: {} },
    { t: '__proto__' },
    {},
  ];
  for (const value of bad) assert.equal(parseFollowerMessage(value), null, JSON.stringify(value));
});

test('leader messages', () => {
  const good: unknown[] = [
    { t: 'resume', serverVersion: 'abc' },
    { t: 'snapshot-begin', serverVersion: 'abc', version: 0 },
    { t: 'records', records: [record] },
    { t: 'records', records: [] },
    { t: 'snapshot-end' },
    { t: 'change', change: { version: 7, type: 'session', id: 's1', record } },
    { t: 'ack', id: 1, version: 9 },
    { t: 'nack', id: 1, reason: 'too many writes' },
    { t: 'refused', reason: 'not a node' },
    { t: 'ping' },
  ];
  for (const value of good) assert.deepEqual(parseLeaderMessage(value), value, JSON.stringify(value));
  const bad: unknown[] = [
    { t: 'resume', serverVersion: '' },
    { t: 'snapshot-begin', serverVersion: 'abc' },
    { t: 'records', records: [record, { ...record, version: 0 }] },
    { t: 'records', records: 'all' },
    { t: 'ack', id: 1, version: 0 },
    { t: 'nack', id: 1, reason: 'r'.repeat(MAX_NAME_CHARS + 1) },
    { t: 'hello', node: 'a', serverVersion: '', version: 0 },
  ];
  for (const value of bad) assert.equal(parseLeaderMessage(value), null, JSON.stringify(value));
});

test('no JSON value makes a parser throw, and whatever parses again parses to itself', () => {
  const arbitrary = fc.oneof(
    fc.jsonValue(),
    fc.record({ t: fc.constantFrom('hello', 'write', 'ping', 'resume', 'snapshot-begin', 'records', 'snapshot-end', 'change', 'ack', 'nack', 'refused'), node: fc.jsonValue(), serverVersion: fc.jsonValue(), version: fc.jsonValue(), id: fc.jsonValue(), op: fc.jsonValue(), records: fc.jsonValue(), change: fc.jsonValue(), reason: fc.jsonValue() }, { requiredKeys: ['t'] }),
  );
  fc.assert(
    fc.property(arbitrary, (raw) => {
      const value = JSON.parse(JSON.stringify(raw)) as unknown;
      for (const parse of [parseFollowerMessage, parseLeaderMessage]) {
        const parsed = parse(value);
        if (parsed !== null) assert.deepEqual(parse(JSON.parse(JSON.stringify(parsed))), parsed);
      }
    }),
  );
});
