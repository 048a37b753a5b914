// Strict base64url (RFC 4648 §5, unpadded). Node's decoder skips characters
// outside the alphabet and ignores the spare low bits of the last character,
// so several strings decode to the same bytes. A token must have exactly one
// spelling, or a replay guard keyed by the string could be walked around.

const A = 0x41;
const Z = 0x5a;
const a = 0x61;
const z = 0x7a;
const ZERO = 0x30;
const NINE = 0x39;
const DASH = 0x2d;
const UNDERSCORE = 0x5f;

/** The 6-bit value of a base64url character, or -1. */
export function base64urlValue(c: number): number {
  if (c >= A && c <= Z) return c - A;
  if (c >= a && c <= z) return c - a + 26;
  if (c >= ZERO && c <= NINE) return c - ZERO + 52;
  if (c === DASH) return 62;
  if (c === UNDERSCORE) return 63;
  return -1;
}

/** Whether s[start, end) holds only base64url characters (no padding). */
export function isBase64urlAlphabet(s: string, start = 0, end = s.length): boolean {
  for (let i = start; i < end; i++) {
    if (base64urlValue(s.charCodeAt(i)) === -1) return false;
  }
  return true;
}

/**
 * Decodes unpadded base64url, or returns null when `s` is not the one
 * canonical encoding of some byte string: a character outside the alphabet,
 * padding, an impossible length, or non-zero spare bits at the end.
 */
export function decodeBase64url(s: string): Buffer | null {
  const n = s.length;
  const tail = n & 3;
  if (tail === 1 || !isBase64urlAlphabet(s)) return null;
  if (tail !== 0) {
    const last = base64urlValue(s.charCodeAt(n - 1));
    // 2 characters carry 1 byte (4 spare bits), 3 carry 2 bytes (2 spare bits).
    if ((last & (tail === 2 ? 0x0f : 0x03)) !== 0) return null;
  }
  return Buffer.from(s, 'base64url');
}
