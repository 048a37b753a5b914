import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeFrame, encodeJsonFrame, FrameDecoder, FrameError, FRAME_HEADER_BYTES } from '../../../src/databroker/peers/frames.js';

const jsonValue = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/** Cuts `bytes` at the given offsets (sorted, deduplicated, within range). */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

test('any sequence of messages, cut anywhere, decodes to the same messages in order', () => {
  fc.assert(
    fc.property(fc.array(jsonValue, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (messages, offsets) => {
      const stream = Buffer.concat(messages.map((m) => encodeFrame(m, 1 << 20)));
      const decoder = new FrameDecoder(1 << 20);
      const decoded: unknown[] = [];
      for (const piece of cut(stream, offsets)) decoded.push(...decoder.push(piece));
      assert.deepEqual(decoded, messages);
      assert.equal(decoder.buffered, 0);
    }),
  );
});

test('a frame announced larger than the limit is refused from its header, before its body arrives', () => {
  const decoder = new FrameDecoder(100);
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(101, 0);
  assert.throws(() => decoder.push(header), (err: unknown) => err instanceof FrameError && /101 bytes/.test(err.message));
  const atLimit = new FrameDecoder(100);
  const body = JSON.stringify('x'.repeat(98));
  assert.equal(Buffer.byteLength(body), 100);
  assert.deepEqual(atLimit.push(encodeJsonFrame(body, 100)), ['x'.repeat(98)]);
});

test('a body that is not JSON, or empty, is a FrameError', () => {
  const notJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
  assert.throws(() => new FrameDecoder(100).push(notJson), FrameError);
  assert.throws(() => new FrameDecoder(100).push(Buffer.from([0, 0, 0, 0])), FrameError);
});

test('encoding a message larger than the limit throws instead of sending it', () => {
  assert.throws(() => encodeFrame({ data: 'é'.repeat(60) }, 100), (err: unknown) => err instanceof FrameError && /exceeds the limit of 100/.test(err.message));
});

test('the length prefix counts UTF-8 bytes, not characters', () => {
  const frame = encodeFrame('€', 100);
  assert.equal(frame.readUInt32BE(0), Buffer.byteLength('"€"'));
  assert.deepEqual(new FrameDecoder(100).push(frame), ['€']);
});
