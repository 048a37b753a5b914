// What leader and followers say to each other, and the strict parsers that
// turn a decoded frame into one of these messages. Every field is checked and
// the result is built afresh, so nothing a peer sent beyond the known fields
// reaches the store; a frame that does not parse closes the connection.
import type { Change, WriteOp } from '../backend.js';
import type { DataRecord } from '../types.js';

/** Longest record type, record id, node id or reason text accepted from a peer. */
export const MAX_NAME_CHARS = 1024;
/** Longest server_version accepted from a peer. */
export const MAX_SERVER_VERSION_CHARS = 128;

// Follower to leader.

/** First message on a connection: who the follower is and where its replica stands. */
export interface Hello {
  readonly t: 'hello';
  readonly node: string;
  /** '' when the follower has never synchronised. */
  readonly serverVersion: string;
  readonly version: number;
}

/** A write forwarded to the leader; `id` pairs it with its ack or nack. */
export interface WriteRequest {
  readonly t: 'write';
  readonly id: number;
  readonly op: WriteOp;
}

export interface Ping {
  readonly t: 'ping';
}

export type FollowerMessage = Hello | WriteRequest | Ping;

// Leader to follower.

/** The follower keeps its records and continues on this history with the changes that follow. */
export interface Resume {
  readonly t: 'resume';
  readonly serverVersion: string;
}

/** A snapshot follows: `records` frames, then `snapshot-end`; then the changes after `version`. */
export interface SnapshotBegin {
  readonly t: 'snapshot-begin';
  readonly serverVersion: string;
  readonly version: number;
}

export interface SnapshotRecords {
  readonly t: 'records';
  readonly records: readonly DataRecord[];
}

export interface SnapshotEnd {
  readonly t: 'snapshot-end';
}

export interface ChangeMessage {
  readonly t: 'change';
  readonly change: Change;
}

export interface Ack {
  readonly t: 'ack';
  readonly id: number;
  /** The version the write created. */
  readonly version: number;
}

export interface Nack {
  readonly t: 'nack';
  readonly id: number;
  readonly reason: string;
}

/** Sent before the leader closes a connection it will not serve. */
export interface Refused {
  readonly t: 'refused';
  readonly reason: string;
}

export type LeaderMessage = Resume | SnapshotBegin | SnapshotRecords | SnapshotEnd | ChangeMessage | Ack | Nack | Refused | Ping;

type Fields = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_CHARS;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_NAME_CHARS;
}

function isServerVersion(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SERVER_VERSION_CHARS;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isPositive(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isExpiry(value: unknown): value is number | null {
  return value === null || isTime(value);
}

export function parseRecord(value: unknown): DataRecord | null {
  if (!isObject(value) || !('data' in value)) return null;
  const { type, id, version, data, modifiedAt, expiresAt } = value;
  if (!isName(type) || !isName(id) || !isPositive(version) || !isTime(modifiedAt) || !isExpiry(expiresAt)) return null;
  return { type, id, version, data, modifiedAt, expiresAt };
}

/** A change whose record, when present, is the record it names at the version it claims. */
export function parseChange(value: unknown): Change | null {
  if (!isObject(value)) return null;
  const { version, type, id } = value;
  if (!isPositive(version) || !isName(type) || !isName(id)) return null;
  if (value.record === null) return { version, type, id, record: null };
  const record = parseRecord(value.record);
  if (record === null || record.type !== type || record.id !== id || record.version !== version) return null;
  return { version, type, id, record };
}

export function parseWriteOp(value: unknown): WriteOp | null {
  if (!isObject(value) || !('data' in value)) return null;
  const { type, id, data, expiresAt, modifiedAt } = value;
  if (!isName(type) || !isName(id) || !isExpiry(expiresAt) || !isTime(modifiedAt)) return null;
  return { type, id, data, expiresAt, modifiedAt };
}

export function parseFollowerMessage(value: unknown): FollowerMessage | null {
  if (!isObject(value)) return null;
  switch (value.t) {
    case 'hello': {
      const { node, serverVersion, version } = value;
      if (!isName(node) || typeof serverVersion !== 'string' || serverVersion.length > MAX_SERVER_VERSION_CHARS || !isCount(version)) return null;
      return { t: 'hello', node, serverVersion, version };
    }
    case 'write': {
      const op = parseWriteOp(value.op);
      if (!isPositive(value.id) || op === null) return null;
      return { t: 'write', id: value.id, op };
    }
    case 'ping':
      return { t: 'ping' };
    default:
      return null;
  }
}

export function parseLeaderMessage(value: unknown): LeaderMessage | null {
  if (!isObject(value)) return null;
  switch (value.t) {
    case 'resume':
      return isServerVersion(value.serverVersion) ? { t: 'resume', serverVersion: value.serverVersion } : null;
    case 'snapshot-begin':
      if (!isServerVersion(value.serverVersion) || !isCount(value.version)) return null;
      return { t: 'snapshot-begin', serverVersion: value.serverVersion, version: value.version };
    case 'records': {
      if (!Array.isArray(value.records)) return null;
      const records: DataRecord[] = [];
      for (const item of value.records as unknown[]) {
        const record = parseRecord(item);
        if (record === null) return null;
        records.push(record);
      }
      return { t: 'records', records };
    }
    case 'snapshot-end':
      return { t: 'snapshot-end' };
    case 'change': {
      const change = parseChange(value.change);
      return change === null ? null : { t: 'change', change };
    }
    case 'ack':
      return isPositive(value.id) && isPositive(value.version) ? { t: 'ack', id: value.id, version: value.version } : null;
    case 'nack':
      return isPositive(value.id) && isText(value.reason) ? { t: 'nack', id: value.id, reason: value.reason } : null;
    case 'refused':
      return isText(value.reason) ? { t: 'refused', reason: value.reason } : null;
    case 'ping':
      return { t: 'ping' };
    default:
      return null;
  }
}
