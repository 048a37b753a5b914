import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { keyProblem, openData, recordAad, sealData } from '../../../src/databroker/postgres/codec.js';
import { testSealer } from './fixtures.js';

const sealer = testSealer();
/** Record types and ids as Postgres can store them: non-empty, no NUL. */
const key = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\u0000'));

test('a sealed value opens, for the same record only, to what JSON round-trips', () => {
  fc.assert(
    fc.property(key, key, fc.jsonValue(), (type, id, data) => {
      const blob = sealData(sealer, type, id, data);
      assert.deepEqual(openData(sealer, type, id, blob), JSON.parse(JSON.stringify(data)));
    }),
  );
});

test('a value moved to another record (other type or other id) does not open', () => {
  fc.assert(
    fc.property(key, key, key, key, (type, id, otherType, otherId) => {
      fc.pre(type !== otherType || id !== otherId);
      const blob = sealData(sealer, type, id, { email: 'a@example.com' });
      assert.equal(openData(sealer, otherType, otherId, blob), undefined);
    }),
  );
});

test('the additional data names exactly one (type, id) pair', () => {
  fc.assert(
    fc.property(key, key, key, key, (a, b, c, d) => {
      if (recordAad(a, b) === recordAad(c, d)) assert.ok(a === c && b === d);
    }),
  );
  assert.notEqual(recordAad('ab', 'c'), recordAad('a', 'bc'));
});

test('a tampered blob, a wrong key or garbage does not open (and does not throw)', () => {
  const blob = sealData(sealer, 'session', 's1', { user: 'alice' });
  const flipped = Buffer.from(blob);
  flipped[flipped.length - 1]! ^= 1;
  assert.equal(openData(sealer, 'session', 's1', flipped), undefined);
  assert.equal(openData(testSealer([Buffer.alloc(32, 3)]), 'session', 's1', blob), undefined);
  assert.equal(openData(sealer, 'session', 's1', Buffer.from('not a sealed value')), undefined);
  assert.equal(openData(sealer, 'session', 's1', Buffer.alloc(0)), undefined);
});

test('rotation: a value sealed with an older key still opens when that key is kept', () => {
  const oldKey = Buffer.alloc(32, 1);
  const newKey = Buffer.alloc(32, 2);
  const blob = sealData(testSealer([oldKey]), 't', 'i', 42);
  assert.equal(openData(testSealer([newKey, oldKey]), 't', 'i', blob), 42);
  assert.equal(openData(testSealer([newKey]), 't', 'i', blob), undefined);
});

test('data that JSON cannot carry is refused before it is sealed', () => {
  assert.throws(() => sealData(sealer, 't', 'i', undefined), TypeError);
  assert.throws(() => sealData(sealer, 't', 'i', () => 1), TypeError);
});

test('record keys: non-empty strings without NUL', () => {
  const table: [string, boolean][] = [
    ['session', true],
    ['a', true],
    ['ünï código', true],
    ['', false],
    ['a\u0000b', false],
  ];
  for (const [value, ok] of table) {
    assert.equal(keyProblem('type', value) === null, ok, JSON.stringify(value));
    assert.equal(keyProblem('id', value) === null, ok, JSON.stringify(value));
  }
});
