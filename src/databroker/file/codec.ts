// What goes inside a sealed frame body, in MessagePack (msgpackr). A body is
// a plain concatenation of values, one per change or record, so a batch is
// assembled from changes encoded when they were written, without encoding
// anything twice. Records extensions (msgpackr's shared structures) are off:
// every body must decode on its own, years later, with no state from the
// bodies before it.
//
// MessagePack keeps JSON-like data exactly, plus Dates, with two exceptions
// worth knowing: -0 reads back as 0, and an object key `__proto__` reads
// back as `__proto_` (msgpackr's guard against prototype pollution).
import { Packr } from 'msgpackr';
import type { Change, WriteOp } from '../backend.js';
import type { DataRecord } from '../types.js';

const packr = new Packr({ useRecords: false });

/** msgpackr returns a view of its reusable buffer: copy what must outlive the next pack. */
function pack(value: unknown): Buffer {
  return Buffer.from(packr.pack(value));
}

/** A change in a log block: a put is [type, id, modifiedAt, expiresAt, data], a deletion [type, id]; its version is implied by its place. */
export function encodeChange(op: WriteOp): Buffer {
  return op.data === null ? pack([op.type, op.id]) : pack([op.type, op.id, op.modifiedAt, op.expiresAt, op.data]);
}

/** A record in a snapshot chunk: [type, id, version, modifiedAt, expiresAt, data]. */
export function encodeRecord(record: DataRecord): Buffer {
  return pack([record.type, record.id, record.version, record.modifiedAt, record.expiresAt, record.data]);
}

export function encodeValue(value: unknown): Buffer {
  return pack(value);
}

export function decodeValue(body: Buffer): unknown {
  return packr.unpack(body);
}

/** Builds the frozen record a put creates; the same object serves the log, the snapshot and the replica. */
export function makeRecord(type: string, id: string, version: number, data: unknown, modifiedAt: number, expiresAt: number | null): DataRecord {
  return Object.freeze({ type, id, version, data: freezeData(data), modifiedAt, expiresAt });
}

/**
 * Freezes a value that MessagePack could encode or has just decoded: plain
 * objects, arrays and Dates without cycles (encoding would have failed), so
 * a plain walk suffices; a part already frozen (shared, or frozen by the
 * writer) is not walked again. Half the cost of config/freeze.ts's general
 * deepFreeze, which matters when a restart loads every record.
 */
function freezeData<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) for (const item of value) freezeData(item);
  else for (const key in value) freezeData((value as Record<string, unknown>)[key]);
  return value;
}

/** The changes of a block whose first change has `firstVersion`; throws on anything that is not a change. */
export function decodeChanges(body: Buffer, firstVersion: number): Change[] {
  const values = packr.unpackMultiple(body) as unknown[];
  const out: Change[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const version = firstVersion + i;
    if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string') throw new TypeError(`change ${i} is not [type, id, …]`);
    if (v.length === 2) {
      out.push(Object.freeze({ version, type: v[0], id: v[1], record: null }));
      continue;
    }
    if (v.length !== 5 || typeof v[2] !== 'number' || !(v[3] === null || typeof v[3] === 'number')) throw new TypeError(`change ${i} is not a put`);
    out.push(Object.freeze({ version, type: v[0], id: v[1], record: makeRecord(v[0], v[1], version, v[4], v[2], v[3] as number | null) }));
  }
  if (out.length === 0) throw new TypeError('a block holds no change');
  return out;
}

/** The records of a snapshot chunk; throws on anything that is not a record. */
export function decodeRecords(body: Buffer): DataRecord[] {
  const values = packr.unpackMultiple(body) as unknown[];
  const out: DataRecord[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (
      !Array.isArray(v) ||
      v.length !== 6 ||
      typeof v[0] !== 'string' ||
      typeof v[1] !== 'string' ||
      typeof v[2] !== 'number' ||
      typeof v[3] !== 'number' ||
      !(v[4] === null || typeof v[4] === 'number')
    ) {
      throw new TypeError(`record ${i} is not [type, id, version, modifiedAt, expiresAt, data]`);
    }
    out.push(makeRecord(v[0], v[1], v[2], v[5], v[3], v[4] as number | null));
  }
  return out;
}
