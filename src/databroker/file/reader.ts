// Reads a file's frames in order, through a buffer of about a megabyte, so
// a log of a hundred thousand small blocks costs a hundred reads rather than
// two hundred thousand, and a snapshot of any size never sits in memory
// whole. It only frames: opening bodies and checking sequences is the
// caller's.
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { couldBeTornHeader, decodeFrameHeader, FRAME_HEADER_BYTES, isAllZero, type FrameHeader } from './frame.js';

const READ_CHUNK = 1024 * 1024;

export type FrameStep =
  /** A whole frame; `body` stays valid after later reads. */
  | { readonly kind: 'frame'; readonly offset: number; readonly header: FrameHeader; readonly body: Buffer }
  /** The file ends exactly after the last frame. */
  | { readonly kind: 'end'; readonly offset: number }
  /** The file ends inside a frame whose header, as far as it goes, is sound: what a crash during an append leaves. */
  | { readonly kind: 'torn'; readonly offset: number; readonly reason: string }
  /** Damage: a header that is not one. */
  | { readonly kind: 'bad'; readonly offset: number; readonly reason: string };

export class FrameReader {
  readonly #handle: FileHandle;
  readonly size: number;
  #buf = Buffer.alloc(0);
  /** File offset of #buf[0]. */
  #bufStart = 0;
  #pos = 0;

  private constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.size = size;
  }

  static async open(path: string): Promise<FrameReader> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      return new FrameReader(handle, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async next(): Promise<FrameStep> {
    const offset = this.#pos;
    if (offset === this.size) return { kind: 'end', offset };
    if (!(await this.#ensure(FRAME_HEADER_BYTES))) {
      const rest = this.#slice(this.size - offset);
      return couldBeTornHeader(rest)
        ? { kind: 'torn', offset, reason: `the file ends ${rest.length} bytes into a block header` }
        : { kind: 'bad', offset, reason: `${rest.length} stray bytes after the last block` };
    }
    const decoded = decodeFrameHeader(this.#buf, offset - this.#bufStart);
    if (!decoded.ok) return { kind: 'bad', offset, reason: decoded.reason };
    const { length } = decoded.header;
    if (!(await this.#ensure(FRAME_HEADER_BYTES + length))) {
      return { kind: 'torn', offset, reason: `the file ends ${this.size - offset - FRAME_HEADER_BYTES} bytes into a block body of ${length}` };
    }
    const start = offset - this.#bufStart + FRAME_HEADER_BYTES;
    const body = this.#buf.subarray(start, start + length);
    this.#pos = offset + FRAME_HEADER_BYTES + length;
    return { kind: 'frame', offset, header: decoded.header, body };
  }

  /** Whether every byte from `offset` to the end is zero: space a file system allocated before a crash, not data. */
  async zeroFrom(offset: number): Promise<boolean> {
    const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, this.size - offset)));
    for (let at = offset; at < this.size; ) {
      const { bytesRead } = await this.#handle.read(chunk, 0, Math.min(chunk.length, this.size - at), at);
      if (bytesRead === 0) return true;
      if (!isAllZero(chunk.subarray(0, bytesRead))) return false;
      at += bytesRead;
    }
    return true;
  }

  close(): Promise<void> {
    return this.#handle.close();
  }

  /** `n` bytes from the current position, already buffered. */
  #slice(n: number): Buffer {
    const start = this.#pos - this.#bufStart;
    return this.#buf.subarray(start, start + n);
  }

  /**
   * Buffers [pos, pos + n) if the file has that many bytes; otherwise buffers
   * what it has and returns false. A fresh buffer each time, so bodies handed
   * out earlier are never overwritten.
   */
  async #ensure(n: number): Promise<boolean> {
    const buffered = this.#bufStart + this.#buf.length - this.#pos;
    if (buffered >= n) return true;
    const wanted = Math.min(Math.max(n, READ_CHUNK), this.size - this.#pos);
    const next = Buffer.allocUnsafe(wanted);
    this.#buf.copy(next, 0, this.#pos - this.#bufStart);
    let filled = buffered;
    while (filled < wanted) {
      const { bytesRead } = await this.#handle.read(next, filled, wanted - filled, this.#pos + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.#buf = next.subarray(0, filled);
    this.#bufStart = this.#pos;
    return filled >= n;
  }
}
