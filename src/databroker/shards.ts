// The replica's record table: records sharded by a hash of their id, so a
// lookup or a write touches one shard and a shard can be copied without the
// others, plus the declared field indexes. It stores whatever it is given,
// expired records included: expiry is the replica's rule, applied on read.
import type { DataRecord, IndexedFields } from './types.js';

export const DEFAULT_SHARDS = 16;

/** One shard: records by type, then by id. */
type Shard = Map<string, Map<string, DataRecord>>;

/**
 * Record ids by field value, for one field of one type. Most values name one
 * record (a user with one session), so a lone id is kept as the string
 * itself; a Set per value would cost about 100 bytes per record.
 */
type FieldIndex = Map<string, string | Set<string>>;

/**
 * FNV-1a over the id's length and four of its characters (first, middle,
 * last two). Hashing every character cost more than the map lookup itself
 * (about 70 ns for a 22-character session id, on every get); ids are random
 * (sessions, service accounts) or differ at their end (`session-41`), and
 * four well-placed characters spread both. The spread only balances shards:
 * a skewed one is slower, never wrong.
 */
export function shardIndex(id: string, shards: number): number {
  const n = id.length;
  if (n === 0) return 0;
  let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
  h = Math.imul(h ^ id.charCodeAt(0), 0x01000193);
  h = Math.imul(h ^ id.charCodeAt(n >> 1), 0x01000193);
  h = Math.imul(h ^ id.charCodeAt(n > 1 ? n - 2 : 0), 0x01000193);
  h = Math.imul(h ^ id.charCodeAt(n - 1), 0x01000193);
  return (h >>> 0) % shards;
}

export class ShardedRecords {
  readonly #shards: Shard[];
  /** type → field → index. */
  readonly #indexes = new Map<string, Map<string, FieldIndex>>();
  #size = 0;

  constructor(shards: number, indexed: IndexedFields = {}) {
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, not ${shards}`);
    this.#shards = Array.from({ length: shards }, (): Shard => new Map());
    for (const [type, fields] of Object.entries(indexed)) {
      this.#indexes.set(type, new Map(fields.map((field): [string, FieldIndex] => [field, new Map()])));
    }
  }

  /** How many records are stored, expired ones included. */
  get size(): number {
    return this.#size;
  }

  get(type: string, id: string): DataRecord | undefined {
    return this.#shards[shardIndex(id, this.#shards.length)]!.get(type)?.get(id);
  }

  /** Stores the record in place of any other with its type and id; returns the one replaced. */
  set(record: DataRecord): DataRecord | undefined {
    const shard = this.#shards[shardIndex(record.id, this.#shards.length)]!;
    let byId = shard.get(record.type);
    if (byId === undefined) {
      byId = new Map();
      shard.set(record.type, byId);
    }
    const previous = byId.get(record.id);
    byId.set(record.id, record);
    if (previous === undefined) this.#size++;
    const indexes = this.#indexes.get(record.type);
    if (indexes !== undefined) {
      if (previous !== undefined) unindex(indexes, previous);
      index(indexes, record);
    }
    return previous;
  }

  /** Removes the record with this type and id; returns it. */
  remove(type: string, id: string): DataRecord | undefined {
    const byId = this.#shards[shardIndex(id, this.#shards.length)]!.get(type);
    const previous = byId?.get(id);
    if (byId === undefined || previous === undefined) return undefined;
    byId.delete(id);
    this.#size--;
    const indexes = this.#indexes.get(type);
    if (indexes !== undefined) unindex(indexes, previous);
    return previous;
  }

  /** Calls `fn` for every record of a type. */
  forEachOfType(type: string, fn: (record: DataRecord) => void): void {
    for (const shard of this.#shards) {
      const byId = shard.get(type);
      if (byId !== undefined) for (const record of byId.values()) fn(record);
    }
  }

  /** Calls `fn` for every record, shard by shard. */
  forEach(fn: (record: DataRecord) => void): void {
    for (const shard of this.#shards) for (const byId of shard.values()) for (const record of byId.values()) fn(record);
  }

  /** Every record, shard by shard. */
  all(): DataRecord[] {
    const out: DataRecord[] = [];
    for (const shard of this.#shards) for (const byId of shard.values()) for (const record of byId.values()) out.push(record);
    return out;
  }

  /** Whether `field` of `type` is indexed. */
  isIndexed(type: string, field: string): boolean {
    return this.#indexes.get(type)?.has(field) ?? false;
  }

  /** The records of a type whose indexed `field` equals `value` (expired ones included). */
  lookup(type: string, field: string, value: string): DataRecord[] {
    const ids = this.#indexes.get(type)?.get(field)?.get(value);
    if (ids === undefined) return [];
    const out: DataRecord[] = [];
    for (const id of typeof ids === 'string' ? [ids] : ids) {
      const record = this.get(type, id);
      if (record !== undefined) out.push(record);
    }
    return out;
  }
}

/** The value a record's field is indexed under: only strings are (numbers and objects are not "simple" enough to match exactly). */
function indexValue(record: DataRecord, field: string): string | undefined {
  const data = record.data;
  if (data === null || typeof data !== 'object') return undefined;
  const value = (data as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

function index(indexes: Map<string, FieldIndex>, record: DataRecord): void {
  for (const [field, byValue] of indexes) {
    const value = indexValue(record, field);
    if (value === undefined) continue;
    const ids = byValue.get(value);
    if (ids === undefined) byValue.set(value, record.id);
    else if (typeof ids !== 'string') ids.add(record.id);
    else if (ids !== record.id) byValue.set(value, new Set([ids, record.id]));
  }
}

function unindex(indexes: Map<string, FieldIndex>, record: DataRecord): void {
  for (const [field, byValue] of indexes) {
    const value = indexValue(record, field);
    if (value === undefined) continue;
    const ids = byValue.get(value);
    if (ids === record.id) byValue.delete(value);
    else if (ids !== undefined && typeof ids !== 'string') {
      ids.delete(record.id);
      if (ids.size === 1) byValue.set(value, ids.values().next().value as string);
    }
  }
}
