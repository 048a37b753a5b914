import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { deriveKey } from '../../src/crypto/hkdf.js';
import { RECORD_KEY_PURPOSE, recordSealer, RecordSealer } from '../../src/databroker/sealer.js';

const plaintext = Buffer.from('{"email":"alice@example.com","refreshToken":"r-123"}');

test('a sealed value opens with its key and context, and shows nothing of the plaintext', () => {
  const sealer = new RecordSealer([randomBytes(32)]);
  const blob = sealer.seal(plaintext, 'session/s1');
  assert.ok(!blob.includes(Buffer.from('alice')));
  assert.deepEqual(sealer.open(blob, 'session/s1'), plaintext);
  assert.notDeepEqual(sealer.seal(plaintext, 'session/s1'), blob, 'every seal uses a fresh IV');
});

test('a value sealed for one record does not open as another', () => {
  const sealer = new RecordSealer([randomBytes(32)]);
  const blob = sealer.seal(plaintext, 'session/s1');
  assert.equal(sealer.open(blob, 'session/s2'), null);
  assert.equal(sealer.open(blob, 'user/s1'), null);
});

test('any change to a blob makes it unopenable', () => {
  const sealer = new RecordSealer([randomBytes(32)]);
  const blob = sealer.seal(plaintext, 'ctx');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: blob.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const tampered = Buffer.from(blob);
      tampered[at]! ^= flip;
      return sealer.open(tampered, 'ctx') === null;
    }),
  );
  assert.equal(sealer.open(blob.subarray(0, blob.length - 1), 'ctx'), null);
  assert.equal(sealer.open(Buffer.alloc(0), 'ctx'), null);
});

test('rotation: the first key seals, every key opens, and a removed key no longer does', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const before = new RecordSealer([oldKey]);
  const during = new RecordSealer([newKey, oldKey]);
  const after = new RecordSealer([newKey]);
  const oldBlob = before.seal(plaintext, 'ctx');
  const newBlob = during.seal(plaintext, 'ctx');
  assert.deepEqual(during.open(oldBlob, 'ctx'), plaintext);
  assert.deepEqual(after.open(newBlob, 'ctx'), plaintext);
  assert.equal(before.open(newBlob, 'ctx'), null, 'new writes use the new key');
  assert.equal(after.open(oldBlob, 'ctx'), null);
});

test('without configured keys the key comes from shared_secret and its purpose; configured keys seal first and the derived one still opens', () => {
  const shared = randomBytes(32);
  const derivedOnly = recordSealer([], shared);
  const blob = derivedOnly.seal(plaintext, 'ctx');
  assert.deepEqual(new RecordSealer([deriveKey(shared, RECORD_KEY_PURPOSE)]).open(blob, 'ctx'), plaintext);
  assert.equal(new RecordSealer([deriveKey(shared, 'some other purpose')]).open(blob, 'ctx'), null);
  assert.equal(new RecordSealer([shared]).open(blob, 'ctx'), null, 'never the shared secret itself');
  const configured = randomBytes(32);
  const migrated = recordSealer([configured], shared);
  assert.deepEqual(migrated.open(blob, 'ctx'), plaintext);
  assert.deepEqual(new RecordSealer([configured]).open(migrated.seal(plaintext, 'ctx'), 'ctx'), plaintext);
});

test('a sealer needs 32-byte keys, and at least one', () => {
  assert.throws(() => new RecordSealer([]), RangeError);
  assert.throws(() => new RecordSealer([randomBytes(16)]), RangeError);
});
