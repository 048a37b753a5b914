// Snapshots: the whole store at one version, sealed in chunks, installed
// atomically. A snapshot is written to a temporary file, made durable, then
// renamed over the previous one and the rename made durable, so a crash at
// any step leaves the old snapshot or the new one, never part of either. It
// names the log segment that continues after it; the segments before that
// one are deleted only once the rename is durable.
//
// Frames: a header (sequence 0), record chunks (1 … n), an end frame (n + 1)
// that repeats the counts, so a snapshot that lost chunks is refused.
import { open, rename, unlink } from 'node:fs/promises';
import type { ValueSealer } from '../backend.js';
import type { DataRecord } from '../types.js';
import { randomId } from '../../crypto/random.js';
import { decodeRecords, decodeValue, encodeRecord, encodeValue } from './codec.js';
import { DatabrokerCorruptError, NO_RECOVERY_ADVICE } from './corrupt.js';
import { FRAME_HEADER_BYTES, FrameKind } from './frame.js';
import { FILE_MODE, pathIn, SNAPSHOT_FILE, syncDirectory, TEMP_SUFFIX } from './layout.js';
import { FrameReader } from './reader.js';
import { openFrame, sealFrame, UNOPENABLE } from './seal.js';

/** Plaintext per record chunk. */
const CHUNK_TARGET_BYTES = 1024 * 1024;
/** Sealed bytes gathered before a write; each write lets the event loop serve requests. */
const WRITE_TARGET_BYTES = 4 * 1024 * 1024;
/** The additional-data id of a snapshot's header frame. */
const HEADER_FILE_ID = 'snapshot';

export interface SnapshotContent {
  readonly serverVersion: string;
  /** The version of the last change included. */
  readonly version: number;
  /** The log segment that holds the changes after `version`. */
  readonly nextSegment: number;
  readonly records: readonly DataRecord[];
}

export async function writeSnapshot(dir: string, content: SnapshotContent, sealer: ValueSealer): Promise<void> {
  const temp = pathIn(dir, SNAPSHOT_FILE + TEMP_SUFFIX);
  const handle = await open(temp, 'w', FILE_MODE);
  let closed = false;
  try {
    const snapshotId = randomId();
    let offset = 0;
    let gathered: Buffer[] = [];
    let gatheredBytes = 0;
    let written = 0;
    const flush = async (): Promise<void> => {
      if (gatheredBytes === 0) return;
      const bytes = Buffer.concat(gathered, gatheredBytes);
      gathered = [];
      gatheredBytes = 0;
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, written + done);
        done += bytesWritten;
      }
      written += bytes.length;
    };
    const add = (fileId: string, kind: FrameKind, sequence: number, plaintext: Buffer): void => {
      const frame = sealFrame(sealer, fileId, kind, sequence, offset, plaintext);
      const length = FRAME_HEADER_BYTES + frame[1]!.length;
      gathered.push(frame[0]!, frame[1]!);
      gatheredBytes += length;
      offset += length;
    };

    const { records } = content;
    add(HEADER_FILE_ID, FrameKind.SnapshotHeader, 0, encodeValue([content.serverVersion, snapshotId, content.version, content.nextSegment, records.length]));
    let chunks = 0;
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    for (let i = 0; i < records.length; i++) {
      const bytes = encodeRecord(records[i]!);
      chunk.push(bytes);
      chunkBytes += bytes.length;
      if (chunkBytes >= CHUNK_TARGET_BYTES || i === records.length - 1) {
        add(snapshotId, FrameKind.SnapshotRecords, ++chunks, Buffer.concat(chunk, chunkBytes));
        chunk = [];
        chunkBytes = 0;
        if (gatheredBytes >= WRITE_TARGET_BYTES) await flush();
      }
    }
    add(snapshotId, FrameKind.SnapshotEnd, chunks + 1, encodeValue([records.length, chunks]));
    await flush();
    await handle.sync();
    closed = true;
    await handle.close();
    await rename(temp, pathIn(dir, SNAPSHOT_FILE));
    await syncDirectory(dir);
  } catch (err) {
    if (!closed) await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

export interface LoadedSnapshot {
  readonly serverVersion: string;
  readonly version: number;
  readonly nextSegment: number;
}

/** Reads and verifies the snapshot, handing each record to `apply`; any damage throws DatabrokerCorruptError. */
export async function readSnapshot(dir: string, sealer: ValueSealer, apply: (record: DataRecord) => void): Promise<LoadedSnapshot> {
  const path = pathIn(dir, SNAPSHOT_FILE);
  const reader = await FrameReader.open(path);
  const refuse = (offset: number, reason: string): never => {
    throw new DatabrokerCorruptError({ file: path, offset, reason }, NO_RECOVERY_ADVICE);
  };
  try {
    const first = await reader.next();
    if (first.kind !== 'frame') return refuse(first.offset, first.kind === 'end' ? 'the snapshot is empty' : first.reason);
    if (first.header.kind !== FrameKind.SnapshotHeader || first.header.sequence !== 0) return refuse(0, 'the snapshot does not start with its header');
    const header = decodeTuple(openFrame(sealer, HEADER_FILE_ID, FrameKind.SnapshotHeader, 0, 0, first.body));
    if (header === null) return refuse(0, `snapshot header: ${UNOPENABLE}`);
    const [serverVersion, snapshotId, version, nextSegment, count] = header;
    if (
      typeof serverVersion !== 'string' ||
      typeof snapshotId !== 'string' ||
      !isCount(version) ||
      !isCount(nextSegment) ||
      nextSegment < 1 ||
      !isCount(count)
    ) {
      return refuse(0, 'the snapshot header is not valid');
    }
    let chunks = 0;
    let records = 0;
    for (;;) {
      const step = await reader.next();
      if (step.kind !== 'frame') return refuse(step.offset, step.kind === 'end' ? 'the snapshot ends before its end block: chunks are missing' : step.reason);
      const { offset } = step;
      const { kind, sequence } = step.header;
      if (sequence !== chunks + 1) return refuse(offset, `block ${sequence} where block ${chunks + 1} belongs: a block is missing, repeated or out of order`);
      if (kind === FrameKind.SnapshotRecords) {
        const plaintext = openFrame(sealer, snapshotId, kind, sequence, offset, step.body);
        if (plaintext === null) return refuse(offset, UNOPENABLE);
        let decoded: DataRecord[];
        try {
          decoded = decodeRecords(plaintext);
        } catch (err) {
          return refuse(offset, `the block's content is not valid: ${(err as Error).message}`);
        }
        for (const record of decoded) apply(record);
        records += decoded.length;
        chunks++;
        continue;
      }
      if (kind !== FrameKind.SnapshotEnd) return refuse(offset, `unexpected block kind ${kind} in a snapshot`);
      const end = decodeTuple(openFrame(sealer, snapshotId, kind, sequence, offset, step.body));
      if (end === null) return refuse(offset, `snapshot end: ${UNOPENABLE}`);
      if (end[0] !== count || end[1] !== chunks || records !== count) {
        return refuse(offset, `the snapshot holds ${records} records in ${chunks} blocks; its header and end promise ${count} in ${String(end[1])}`);
      }
      const after = await reader.next();
      if (after.kind !== 'end') return refuse(after.offset, 'data after the snapshot end');
      return { serverVersion, version, nextSegment };
    }
  } finally {
    await reader.close();
  }
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function decodeTuple(plaintext: Buffer | null): unknown[] | null {
  if (plaintext === null) return null;
  try {
    const v = decodeValue(plaintext);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
