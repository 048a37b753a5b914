// Sealing: AES-256-GCM with a random 96-bit IV and the key's id in every
// token, so keys can rotate (open tries the key the token names). Pomerium
// uses XChaCha20-Poly1305, which Node lacks; engineering.md A4 explains the
// choice and the cost (about 9 µs to seal, 5 µs to open).
//
// Token = base64url( version(1) ‖ keyId(4) ‖ iv(12) ‖ ciphertext ‖ tag(16) ).
// The additional data is authenticated but not stored: the caller passes the
// context the token belongs to (purpose, cookie name, host), so a token sealed
// for one context does not open in another.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { decodeBase64url } from './base64url.js';

const VERSION = 1;
const KEY_BYTES = 32;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES;
const ALGORITHM = 'aes-256-gcm';

// SHA-256 of a key costs more than a GCM open of a short token; remember it
// per key object (keys are derived once and kept).
const keyIds = new WeakMap<Buffer, Buffer>();

/** The first 4 bytes of SHA-256(key): names the key in a token without revealing it. */
export function keyId(key: Buffer): Buffer {
  let id = keyIds.get(key);
  if (id === undefined) {
    if (key.length !== KEY_BYTES) throw new RangeError(`an AES-256-GCM key has ${KEY_BYTES} bytes, not ${key.length}`);
    id = createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES);
    keyIds.set(key, id);
  }
  return id;
}

/** Encrypts and authenticates `plaintext`, binding it to `aad`. */
export function seal(key: Buffer, plaintext: Buffer | string, aad: string): string {
  const id = keyId(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ct = Buffer.concat([cipher.update(body), cipher.final()]);
  const out = Buffer.allocUnsafe(HEADER_BYTES + ct.length + TAG_BYTES);
  out[0] = VERSION;
  id.copy(out, 1);
  iv.copy(out, 1 + KEY_ID_BYTES);
  ct.copy(out, HEADER_BYTES);
  cipher.getAuthTag().copy(out, HEADER_BYTES + ct.length);
  return out.toString('base64url');
}

/**
 * The plaintext of a token sealed with one of `keys` under the same `aad`, or
 * null: wrong version, unknown key, tampering, wrong context, or any garbage.
 * Never throws on the token.
 */
export function open(keys: readonly Buffer[], token: string, aad: string): Buffer | null {
  const raw = decodeBase64url(token);
  if (raw === null || raw.length < HEADER_BYTES + TAG_BYTES || raw[0] !== VERSION) return null;
  const iv = raw.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
  const ct = raw.subarray(HEADER_BYTES, raw.length - TAG_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  for (const key of keys) {
    // Key ids are public, so a plain comparison is fine. Two keys may share
    // an id (1 in 2^32); each is tried.
    if (keyId(key).compare(raw, 1, 1 + KEY_ID_BYTES) !== 0) continue;
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    const head = decipher.update(ct);
    try {
      return Buffer.concat([head, decipher.final()]);
    } catch {
      // Authentication failed under this key; try the next one.
    }
  }
  return null;
}
