// The on-disk frame: every file of the file backend (log segments and
// snapshots) is a sequence of frames, each a small plain header followed by a
// body sealed by the ValueSealer. The header carries only what framing needs
// and nothing secret; its own checksum lets the reader tell a damaged header
// (refuse) from a file that simply ends early (a torn last write), which a
// damaged length field would otherwise imitate.
//
// Header (20 bytes, big-endian):
//   0  magic 'PSDB'        4
//   4  format version      1
//   5  kind                1
//   6  body length         4
//  10  sequence            6   (a log block: its first version; otherwise the frame's index)
//  16  CRC-32 of bytes 0–15 4
import { crc32 } from 'node:zlib';

export const FRAME_MAGIC = Buffer.from('PSDB', 'latin1');
export const FORMAT_VERSION = 1;
export const FRAME_HEADER_BYTES = 20;
/** Larger bodies are never written, so a larger length is damage, not data. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Sequences are stored in 48 bits: 2.8e14 changes, far beyond any store's life. */
const MAX_SEQUENCE = 2 ** 48 - 1;

export const FrameKind = Object.freeze({
  /** First frame of a log segment: its history, identity and first version. */
  LogHeader: 1,
  /** A group of changes committed together. */
  Changes: 2,
  /** First frame of a snapshot: its history, identity, version and size. */
  SnapshotHeader: 3,
  /** A chunk of a snapshot's records. */
  SnapshotRecords: 4,
  /** Last frame of a snapshot: proves no chunk was cut off. */
  SnapshotEnd: 5,
});
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const KINDS = new Set<number>(Object.values(FrameKind));

export interface FrameHeader {
  readonly kind: FrameKind;
  readonly length: number;
  readonly sequence: number;
}

export type HeaderResult = { readonly ok: true; readonly header: FrameHeader } | { readonly ok: false; readonly reason: string };

export function encodeFrameHeader(kind: FrameKind, length: number, sequence: number): Buffer {
  if (length < 1 || length > MAX_BODY_BYTES) throw new RangeError(`a frame body has 1 to ${MAX_BODY_BYTES} bytes, not ${length}`);
  if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) throw new RangeError(`frame sequence out of range: ${sequence}`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  FRAME_MAGIC.copy(out, 0);
  out[4] = FORMAT_VERSION;
  out[5] = kind;
  out.writeUInt32BE(length, 6);
  out.writeUIntBE(sequence, 10, 6);
  out.writeUInt32BE(crc32(out.subarray(0, 16)), 16);
  return out;
}

/** Reads the header at `at`; `buf` holds at least FRAME_HEADER_BYTES from there. */
export function decodeFrameHeader(buf: Buffer, at: number): HeaderResult {
  if (FRAME_MAGIC.compare(buf, at, at + 4) !== 0) return { ok: false, reason: 'bad magic (not the start of a block)' };
  if (crc32(buf.subarray(at, at + 16)) !== buf.readUInt32BE(at + 16)) return { ok: false, reason: 'block header checksum mismatch' };
  const version = buf[at + 4]!;
  if (version !== FORMAT_VERSION) return { ok: false, reason: `format version ${version}; this Postern reads version ${FORMAT_VERSION}` };
  const kind = buf[at + 5]!;
  if (!KINDS.has(kind)) return { ok: false, reason: `unknown block kind ${kind}` };
  const length = buf.readUInt32BE(at + 6);
  if (length < 1 || length > MAX_BODY_BYTES) return { ok: false, reason: `bad block length ${length}` };
  return { ok: true, header: { kind: kind as FrameKind, length, sequence: buf.readUIntBE(at + 10, 6) } };
}

/**
 * Whether `bytes` (what is left of a file, shorter than a header) can be the
 * beginning of a frame cut short by a crash: a prefix of the magic, or zeros
 * (a file system may extend a file before its data reaches the disk).
 */
export function couldBeTornHeader(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, FRAME_MAGIC.length);
  return FRAME_MAGIC.compare(bytes, 0, n, 0, n) === 0 || isAllZero(bytes);
}

export function isAllZero(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * The additional data a frame's body is sealed with. It binds the body to
 * the file it belongs to (`fileId`: the segment number for a header frame,
 * the random id its header names for every later frame), its kind, its
 * sequence and its byte offset, so a block copied into another file, moved
 * within one, or relabelled in its plain header no longer opens.
 */
export function frameAad(fileId: string, kind: FrameKind, sequence: number, offset: number): string {
  return `postern/databroker/v${FORMAT_VERSION}/${fileId}/${kind}/${sequence}/${offset}`;
}
