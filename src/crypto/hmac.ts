// HMAC-SHA256 and constant-time comparison, the two halves of every MAC check.
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC-SHA256 over the concatenation of `parts` (strings as UTF-8). The parts
 * are not framed: the caller joins them so that no two messages run together
 * (fixed lengths or a separator that cannot occur inside a part).
 */
export function hmac(key: Buffer, ...parts: (Buffer | string)[]): Buffer {
  const h = createHmac('sha256', key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/**
 * Whether `a` and `b` hold the same bytes, in time that depends only on their
 * length. Different lengths return false at once: lengths are public here
 * (every MAC and hash we compare has a fixed size).
 */
export function safeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const x = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
  const y = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return x.length === y.length && timingSafeEqual(x, y);
}
