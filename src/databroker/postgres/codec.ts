// Record values as Postgres stores them: JSON, sealed by the ValueSealer
// before the bytes leave the process. The additional data names the record
// (type and id), so a value copied into another record's row, or into a row
// of another type, no longer opens. Type and id stay in clear columns: they
// are record kinds and random ids, and the store needs them as keys.
import type { ValueSealer } from '../backend.js';

/**
 * The additional data a record's value is sealed with. NUL cannot occur in a
 * Postgres text column (checkKey refuses it), so the separator makes the
 * pair unambiguous: ('ab', 'c') and ('a', 'bc') seal differently.
 */
export function recordAad(type: string, id: string): string {
  return `databroker-record\u0000${type}\u0000${id}`;
}

/** Why a type or id cannot be a key, or null when it can. */
export function keyProblem(what: 'type' | 'id', value: string): string | null {
  if (typeof value !== 'string' || value.length === 0) return `a record ${what} must be a non-empty string`;
  if (value.includes('\u0000')) return `a record ${what} cannot contain NUL`;
  return null;
}

/** The sealed JSON of a record's data. */
export function sealData(sealer: ValueSealer, type: string, id: string, data: unknown): Buffer {
  const json = JSON.stringify(data);
  // JSON.stringify returns undefined for undefined, functions and symbols.
  if (typeof json !== 'string') throw new TypeError(`record ${type}/${id}: data must be JSON-serialisable`);
  return sealer.seal(Buffer.from(json, 'utf8'), recordAad(type, id));
}

/** A record's data, or `undefined` when the blob does not open for this record with any known key. */
export function openData(sealer: ValueSealer, type: string, id: string, blob: Buffer): unknown {
  const plain = sealer.open(blob, recordAad(type, id));
  if (plain === null) return undefined;
  try {
    return JSON.parse(plain.toString('utf8')) as unknown;
  } catch {
    // Authentic but not JSON: written by something other than sealData.
    return undefined;
  }
}
