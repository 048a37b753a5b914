// Per-purpose keys from one secret (HKDF-SHA256, RFC 5869). A key used for
// one purpose never works for another: a token minted for one job must fail
// everywhere else (threats.md §3.8, Pomerium CVE-2024-47616).
import { hkdfSync } from 'node:crypto';

const NO_SALT = Buffer.alloc(0);

/**
 * HKDF-SHA256 with no salt and `purpose` as the info label. Deterministic, so
 * every instance holding the same secret derives the same key. It costs about
 * 13 µs (engineering.md A4): derive at start-up or rotation, never per request.
 */
export function deriveKey(ikm: Buffer, purpose: string, length = 32): Buffer {
  // An empty label would make a key that belongs to no purpose at all.
  if (purpose.length === 0) throw new TypeError('deriveKey needs a purpose label');
  return Buffer.from(hkdfSync('sha256', ikm, NO_SALT, purpose, length));
}
