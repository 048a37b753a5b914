// Encryption of record values before they reach a disk or a database
// (Pomerium stores them in clear, reference §8.2; we do not). AES-256-GCM
// through crypto/aead.ts, whose blobs name their key, so keys rotate: the
// first key seals, every key opens.
import { open, seal } from '../crypto/aead.js';
import { deriveKey } from '../crypto/hkdf.js';
import type { ValueSealer } from './backend.js';

/** HKDF label of the key derived from shared_secret when no databroker_encryption_key is set. */
export const RECORD_KEY_PURPOSE = 'postern databroker records v1';

export class RecordSealer implements ValueSealer {
  readonly #keys: readonly Buffer[];

  /** `keys[0]` seals; all of them open. */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new RangeError('a record sealer needs at least one key');
    for (const key of keys) if (key.length !== 32) throw new RangeError(`a record key has 32 bytes, not ${key.length}`);
    this.#keys = [...keys];
  }

  seal(plaintext: Buffer, aad: string): Buffer {
    // aead.ts speaks base64url (its tokens travel in cookies and URLs); storage wants the bytes.
    return Buffer.from(seal(this.#keys[0]!, plaintext, aad), 'base64url');
  }

  open(blob: Buffer, aad: string): Buffer | null {
    return open(this.#keys, blob.toString('base64url'), aad);
  }
}

/**
 * The sealer for a deployment: the configured `databroker_encryption_key`s
 * first (the first of them seals), then the key derived from shared_secret,
 * which seals only when none is configured. Keeping the derived key as a
 * last opener lets a deployment move from the derived key to configured ones
 * without losing what was stored before.
 */
export function recordSealer(configuredKeys: readonly Buffer[], sharedSecret: Buffer): RecordSealer {
  return new RecordSealer([...configuredKeys, deriveKey(sharedSecret, RECORD_KEY_PURPOSE)]);
}
