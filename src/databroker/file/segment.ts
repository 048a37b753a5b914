// A log segment: a header frame (history, identity, first version) followed
// by blocks of changes, each block's sequence being the version of its first
// change. Versions run on without gaps across blocks and across segments,
// which is what lets the reader notice a block or a segment that is missing,
// repeated or out of order.
import type { FileHandle } from 'node:fs/promises';
import { open, rename } from 'node:fs/promises';
import type { Change, ValueSealer } from '../backend.js';
import { randomId } from '../../crypto/random.js';
import { decodeChanges, decodeValue, encodeValue } from './codec.js';
import type { Damage } from './corrupt.js';
import { FRAME_HEADER_BYTES, FrameKind, MAX_BODY_BYTES } from './frame.js';
import { FILE_MODE, pathIn, segmentFileName, syncDirectory, TEMP_SUFFIX } from './layout.js';
import { FrameReader, type FrameStep } from './reader.js';
import { openFrame, sealFrame, UNOPENABLE } from './seal.js';

/** Changes are grouped into blocks of about this much plaintext. */
const BLOCK_TARGET_BYTES = 1024 * 1024;
/** Room the sealer's own header and tag take in a body. */
const SEALER_OVERHEAD_ALLOWANCE = 1024;
/** The largest encoded change a block can carry. */
export const MAX_CHANGE_BYTES = MAX_BODY_BYTES - SEALER_OVERHEAD_ALLOWANCE;

export interface SegmentHeader {
  readonly segment: number;
  /** The history (server_version) this segment continues. */
  readonly serverVersion: string;
  /** Random per segment: binds every block to this file. */
  readonly fileId: string;
  /** Version of the first change this segment may hold. */
  readonly startVersion: number;
}

/** A change waiting to be appended, encoded when it was written. */
export interface EncodedChange {
  readonly version: number;
  readonly bytes: Buffer;
}

function headerFileId(segment: number): string {
  return `log-${segment}`;
}

/** Appends blocks to the segment being written; one per store at a time. */
export class SegmentWriter {
  readonly header: SegmentHeader;
  readonly #handle: FileHandle;
  readonly #sealer: ValueSealer;
  #path: string;
  #end: number;

  private constructor(header: SegmentHeader, path: string, handle: FileHandle, sealer: ValueSealer, end: number) {
    this.header = header;
    this.#path = path;
    this.#handle = handle;
    this.#sealer = sealer;
    this.#end = end;
  }

  /**
   * Creates (or replaces) segment `segment` with just its header, durable,
   * entry included, before anything may be appended: a snapshot or a later
   * segment can then rely on it being there.
   */
  static create(dir: string, segment: number, serverVersion: string, startVersion: number, sealer: ValueSealer): Promise<SegmentWriter> {
    return SegmentWriter.#create(pathIn(dir, segmentFileName(segment)), dir, segment, serverVersion, startVersion, sealer);
  }

  /**
   * The same, under a temporary name that a load ignores (and removes)
   * unless the installed snapshot names this segment: the first segment of
   * an adopted history must exist before the snapshot that makes it live,
   * yet must not be read as a continuation of the old history. install()
   * gives it its name.
   */
  static createTemporary(dir: string, segment: number, serverVersion: string, startVersion: number, sealer: ValueSealer): Promise<SegmentWriter> {
    return SegmentWriter.#create(pathIn(dir, segmentFileName(segment) + TEMP_SUFFIX), dir, segment, serverVersion, startVersion, sealer);
  }

  static async #create(path: string, dir: string, segment: number, serverVersion: string, startVersion: number, sealer: ValueSealer): Promise<SegmentWriter> {
    const header: SegmentHeader = { segment, serverVersion, fileId: randomId(), startVersion };
    const handle = await open(path, 'w+', FILE_MODE);
    try {
      const plaintext = encodeValue([serverVersion, header.fileId, startVersion]);
      const frame = Buffer.concat(sealFrame(sealer, headerFileId(segment), FrameKind.LogHeader, segment, 0, plaintext));
      await writeFully(handle, frame, 0);
      await handle.sync();
      await syncDirectory(dir);
      return new SegmentWriter(header, path, handle, sealer, frame.length);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Continues an existing segment after its last good block, cutting off anything after it (a torn write). */
  static async reopen(path: string, header: SegmentHeader, end: number, sealer: ValueSealer): Promise<SegmentWriter> {
    const handle = await open(path, 'r+');
    try {
      const { size } = await handle.stat();
      if (size !== end) {
        await handle.truncate(end);
        await handle.sync();
      }
      return new SegmentWriter(header, path, handle, sealer, end);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get path(): string {
    return this.#path;
  }

  /** Renames a segment made by createTemporary() to its own name, durably. */
  async install(dir: string): Promise<void> {
    const path = pathIn(dir, segmentFileName(this.header.segment));
    await rename(this.#path, path);
    await syncDirectory(dir);
    this.#path = path;
  }

  /** Byte length of the segment so far. */
  get end(): number {
    return this.#end;
  }

  /**
   * Seals `changes` (consecutive versions) into blocks at the end of the
   * segment and writes them with one system call. Durable only after sync().
   */
  async append(changes: readonly EncodedChange[]): Promise<void> {
    const parts: Buffer[] = [];
    let offset = this.#end;
    for (let i = 0; i < changes.length; ) {
      let size = changes[i]!.bytes.length;
      let j = i + 1;
      while (j < changes.length && size + changes[j]!.bytes.length <= BLOCK_TARGET_BYTES) size += changes[j++]!.bytes.length;
      const plaintext = j - i === 1 ? changes[i]!.bytes : Buffer.concat(changes.slice(i, j).map((c) => c.bytes), size);
      const frame = sealFrame(this.#sealer, this.header.fileId, FrameKind.Changes, changes[i]!.version, offset, plaintext);
      parts.push(frame[0]!, frame[1]!);
      offset += FRAME_HEADER_BYTES + frame[1]!.length;
      i = j;
    }
    const bytes = Buffer.concat(parts, offset - this.#end);
    await writeFully(this.#handle, bytes, this.#end);
    this.#end = offset;
  }

  /** fdatasync: the appended blocks (and the file's length) are on the disk. */
  sync(): Promise<void> {
    return this.#handle.datasync();
  }

  close(): Promise<void> {
    return this.#handle.close();
  }
}

async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

export interface SegmentExpectation {
  readonly segment: number;
  /** The history the segment must belong to; null when it defines it (a store with no snapshot, first segment). */
  readonly serverVersion: string | null;
  readonly startVersion: number;
  /** The last segment may end in a torn block; an earlier one may not. */
  readonly last: boolean;
}

export type SegmentReadResult =
  | { readonly status: 'complete'; readonly header: SegmentHeader; readonly end: number; readonly lastVersion: number }
  /** Ends inside a block (the last segment only): `end` is where the last good block ends. header null: even the header is torn. */
  | { readonly status: 'torn'; readonly header: SegmentHeader | null; readonly end: number; readonly lastVersion: number; readonly reason: string; readonly size: number }
  /** Damage at `damage.offset`; everything before `end` (= that offset) was good and applied. */
  | { readonly status: 'damaged'; readonly header: SegmentHeader | null; readonly end: number; readonly lastVersion: number; readonly damage: Damage; readonly size: number };

/**
 * Reads a segment, handing each change of each verified block to `apply` in
 * order (a block is applied only once all of it has opened and decoded).
 */
export async function readSegment(
  path: string,
  expect: SegmentExpectation,
  sealer: ValueSealer,
  apply: (change: Change) => void,
): Promise<SegmentReadResult> {
  const reader = await FrameReader.open(path);
  try {
    return await readFrames(reader, path, expect, sealer, apply);
  } finally {
    await reader.close();
  }
}

async function readFrames(
  reader: FrameReader,
  path: string,
  expect: SegmentExpectation,
  sealer: ValueSealer,
  apply: (change: Change) => void,
): Promise<SegmentReadResult> {
  const size = reader.size;
  let header: SegmentHeader | null = null;
  let lastVersion = expect.startVersion - 1;
  let end = 0;
  const damaged = (offset: number, reason: string): SegmentReadResult => ({
    status: 'damaged',
    header,
    end,
    lastVersion,
    damage: { file: path, offset, reason },
    size,
  });

  // A frame-level problem: a torn end is forgiven in the last segment only.
  const unframed = async (step: Exclude<FrameStep, { kind: 'frame' }>): Promise<SegmentReadResult> => {
    if (step.kind === 'end') {
      return header === null
        ? expect.last
          ? { status: 'torn', header, end, lastVersion, reason: 'the file is empty', size }
          : damaged(0, 'the segment is empty')
        : { status: 'complete', header, end, lastVersion };
    }
    if (expect.last && (step.kind === 'torn' || (await reader.zeroFrom(step.offset)))) {
      return { status: 'torn', header, end, lastVersion, reason: step.kind === 'torn' ? step.reason : 'zero bytes after the last block', size };
    }
    return damaged(step.offset, step.kind === 'torn' ? `${step.reason}, yet later segments exist` : step.reason);
  };

  const first = await reader.next();
  if (first.kind !== 'frame') return unframed(first);
  if (first.header.kind !== FrameKind.LogHeader) return damaged(0, `the segment does not start with its header (block kind ${first.header.kind})`);
  if (first.header.sequence !== expect.segment) return damaged(0, `the header names segment ${first.header.sequence}: the file was renamed`);
  const opened = openFrame(sealer, headerFileId(expect.segment), FrameKind.LogHeader, expect.segment, 0, first.body);
  if (opened === null) return damaged(0, `segment header: ${UNOPENABLE}`);
  const fields = decodeHeader(opened);
  if (fields === null) return damaged(0, 'the segment header is not valid');
  const [serverVersion, fileId, startVersion] = fields;
  if (startVersion !== expect.startVersion) {
    return damaged(0, `the segment starts at version ${startVersion}, expected ${expect.startVersion}: a segment or block is missing, repeated or out of order`);
  }
  if (expect.serverVersion !== null && serverVersion !== expect.serverVersion) {
    return damaged(0, `the segment belongs to another history (${serverVersion}, expected ${expect.serverVersion})`);
  }
  header = { segment: expect.segment, serverVersion, fileId, startVersion };
  end = first.offset + FRAME_HEADER_BYTES + first.header.length;

  for (;;) {
    const step = await reader.next();
    if (step.kind !== 'frame') return unframed(step);
    const { offset } = step;
    if (step.header.kind !== FrameKind.Changes) return damaged(offset, `unexpected block kind ${step.header.kind} in a log`);
    if (step.header.sequence !== lastVersion + 1) {
      return damaged(offset, `the block starts at version ${step.header.sequence}, expected ${lastVersion + 1}: a block is missing, repeated or out of order`);
    }
    const plaintext = openFrame(sealer, fileId, FrameKind.Changes, step.header.sequence, offset, step.body);
    if (plaintext === null) return damaged(offset, UNOPENABLE);
    let changes: Change[];
    try {
      changes = decodeChanges(plaintext, step.header.sequence);
    } catch (err) {
      return damaged(offset, `the block's content is not valid: ${(err as Error).message}`);
    }
    for (const change of changes) apply(change);
    lastVersion += changes.length;
    end = offset + FRAME_HEADER_BYTES + step.header.length;
  }
}

function decodeHeader(plaintext: Buffer): [string, string, number] | null {
  try {
    const v = decodeValue(plaintext);
    if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'string' && Number.isSafeInteger(v[2]) && v[2] >= 1) {
      return [v[0], v[1], v[2] as number];
    }
  } catch {
    // Falls through to "not valid".
  }
  return null;
}
