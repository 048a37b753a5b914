// The peers' wire format: each message is one frame, a 4-byte big-endian
// length followed by that many bytes of UTF-8 JSON. JSON because every record
// the databroker holds is plain data (sessions, users, service accounts), and
// a frame length checked before any byte of the body is buffered is what
// keeps a misbehaving peer from making us hold more than one frame's worth.

export const FRAME_HEADER_BYTES = 4;

/** A frame that cannot be sent or was received malformed; the connection it belongs to is closed. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** One frame holding `json`, which must already be the JSON text of a message. */
export function encodeJsonFrame(json: string, maxFrameBytes: number): Buffer {
  const bodyBytes = Buffer.byteLength(json);
  if (bodyBytes > maxFrameBytes) throw new FrameError(`a frame of ${bodyBytes} bytes exceeds the limit of ${maxFrameBytes}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  frame.write(json, FRAME_HEADER_BYTES, 'utf8');
  return frame;
}

export function encodeFrame(message: unknown, maxFrameBytes: number): Buffer {
  return encodeJsonFrame(JSON.stringify(message), maxFrameBytes);
}

/**
 * Cuts a byte stream into decoded messages. Chunks are kept as received and
 * copied once, when a frame is complete, so a large frame arriving in many
 * small chunks costs linear time.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  /** Body length of the frame being read, or -1 while its header is incomplete. */
  #bodyBytes = -1;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received and not yet decoded. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds a chunk and returns every message it completes; throws FrameError on an oversized or malformed frame. */
  push(chunk: Buffer): unknown[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const messages: unknown[] = [];
    for (;;) {
      if (this.#bodyBytes < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) return messages;
        const length = this.#take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length > this.#maxFrameBytes) throw new FrameError(`the peer announced a frame of ${length} bytes; the limit is ${this.#maxFrameBytes}`);
        this.#bodyBytes = length;
      }
      if (this.#buffered < this.#bodyBytes) return messages;
      const body = this.#take(this.#bodyBytes);
      this.#bodyBytes = -1;
      try {
        messages.push(JSON.parse(body.toString('utf8')));
      } catch {
        throw new FrameError('the peer sent a frame that is not JSON');
      }
    }
  }

  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
      filled += used;
    }
    return out;
  }
}
