import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  couldBeTornHeader,
  decodeFrameHeader,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  FrameKind,
  frameAad,
  MAX_BODY_BYTES,
} from '../../../src/databroker/file/frame.js';
import { asideName, parseSegmentFileName, segmentFileName } from '../../../src/databroker/file/layout.js';

const kinds = Object.values(FrameKind);

test('a frame header decodes to the kind, length and sequence it was encoded with', () => {
  fc.assert(
    fc.property(fc.constantFrom(...kinds), fc.integer({ min: 1, max: MAX_BODY_BYTES }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), (kind, length, sequence) => {
      const header = encodeFrameHeader(kind, length, sequence);
      assert.equal(header.length, FRAME_HEADER_BYTES);
      assert.deepEqual(decodeFrameHeader(header, 0), { ok: true, header: { kind, length, sequence } });
    }),
  );
});

test('every single-bit change to a frame header is detected, so a damaged length never passes for a short file', () => {
  const header = encodeFrameHeader(FrameKind.Changes, 300, 12_345);
  for (let bit = 0; bit < FRAME_HEADER_BYTES * 8; bit++) {
    const damaged = Buffer.from(header);
    damaged[bit >> 3]! ^= 1 << (bit & 7);
    const result = decodeFrameHeader(damaged, 0);
    assert.equal(result.ok, false, `bit ${bit}`);
  }
});

test('a header is read at any offset inside a larger buffer', () => {
  const buf = Buffer.concat([Buffer.alloc(7, 0xaa), encodeFrameHeader(FrameKind.SnapshotEnd, 9, 3)]);
  assert.deepEqual(decodeFrameHeader(buf, 7), { ok: true, header: { kind: FrameKind.SnapshotEnd, length: 9, sequence: 3 } });
});

test('decoding names what is wrong: magic, checksum, version, kind, length', () => {
  const reasonOf = (mutate: (b: Buffer) => void, fixCrc: boolean): string => {
    const b = Buffer.from(encodeFrameHeader(FrameKind.Changes, 10, 1));
    mutate(b);
    if (fixCrc) b.writeUInt32BE(crc(b.subarray(0, 16)), 16);
    const r = decodeFrameHeader(b, 0);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.reason;
  };
  assert.match(reasonOf((b) => (b[0] = 0x41), false), /bad magic/);
  assert.match(reasonOf((b) => (b[12] = 0xff), false), /checksum/);
  assert.match(reasonOf((b) => (b[4] = 2), true), /format version 2/);
  assert.match(reasonOf((b) => (b[5] = 99), true), /unknown block kind 99/);
  assert.match(reasonOf((b) => b.writeUInt32BE(0, 6), true), /bad block length 0/);
  assert.match(reasonOf((b) => b.writeUInt32BE(MAX_BODY_BYTES + 1, 6), true), /bad block length/);
});

test('encoding refuses lengths and sequences the format cannot hold', () => {
  assert.throws(() => encodeFrameHeader(FrameKind.Changes, 0, 1), RangeError);
  assert.throws(() => encodeFrameHeader(FrameKind.Changes, MAX_BODY_BYTES + 1, 1), RangeError);
  assert.throws(() => encodeFrameHeader(FrameKind.Changes, 1, 2 ** 48), RangeError);
  assert.throws(() => encodeFrameHeader(FrameKind.Changes, 1, -1), RangeError);
});

test('a short remainder is a torn header only when it could be the start of one', () => {
  const table: [Buffer, boolean][] = [
    [Buffer.from(''), true],
    [Buffer.from('P'), true],
    [Buffer.from('PSD'), true],
    [Buffer.concat([Buffer.from('PSDB'), Buffer.from([1, 2, 0, 0])]), true],
    [Buffer.alloc(11), true],
    [Buffer.from('X'), false],
    [Buffer.from('PSX'), false],
    [Buffer.from([0, 0, 1]), false],
  ];
  for (const [bytes, torn] of table) assert.equal(couldBeTornHeader(bytes), torn, JSON.stringify(bytes.toString('latin1')));
});

test('the additional data differs whenever the file, kind, sequence or offset differs', () => {
  const base = frameAad('f', FrameKind.Changes, 1, 20);
  assert.notEqual(frameAad('g', FrameKind.Changes, 1, 20), base);
  assert.notEqual(frameAad('f', FrameKind.LogHeader, 1, 20), base);
  assert.notEqual(frameAad('f', FrameKind.Changes, 2, 20), base);
  assert.notEqual(frameAad('f', FrameKind.Changes, 1, 21), base);
  // The separator keeps fields from running into each other.
  assert.notEqual(frameAad('f', FrameKind.Changes, 11, 20), frameAad('f', FrameKind.Changes, 1, 120));
});

test('segment file names round-trip and sort in segment order; other names are not segments', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 9_999_999_999 }), fc.integer({ min: 0, max: 9_999_999_999 }), (a, b) => {
      assert.equal(parseSegmentFileName(segmentFileName(a)), a);
      assert.equal(segmentFileName(a) < segmentFileName(b), a < b);
    }),
  );
  for (const name of ['log-1.pst', 'log-000000000a.pst', 'log-0000000001.pst.tmp', 'snapshot.pst', 'log-0000000001.pst.corrupt-x', 'xog-0000000001.pst']) {
    assert.equal(parseSegmentFileName(name), null, name);
  }
});

test('names for data moved aside never collide with existing files', () => {
  const now = new Date('2026-01-02T03:04:05.678Z');
  const first = asideName('log-0000000001.pst', now, new Set());
  assert.equal(first, 'log-0000000001.pst.corrupt-2026-01-02T03-04-05-678Z');
  assert.equal(asideName('log-0000000001.pst', now, new Set([first])), `${first}-2`);
  assert.equal(parseSegmentFileName(first), null);
});

function crc(bytes: Buffer): number {
  // Same CRC-32 the format uses, computed independently of the module under test.
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
