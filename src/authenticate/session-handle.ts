// The `_pomerium` cookie value: a small signed handle naming a session, never
// the session itself. Tokens and claims stay in the databroker, so the cookie
// stays under 100 bytes however many groups the user has (threats.md §2.1).
//
//   v1.<session id>.<mac>    mac = base64url(HMAC-SHA256(key, "v1.<session id>")[0..16))
//
// A valid handle proves only that we issued it; whether the session is still
// alive is the session record's business (sign-out deletes the record).
import { createHmac } from 'node:crypto';
import { isBase64urlAlphabet } from '../crypto/base64url.js';
import { safeEqual } from '../crypto/hmac.js';
import { VerifiedCache } from '../crypto/verified-cache.js';

const PREFIX = 'v1.';
/** 128 bits of MAC: forging one takes 2^128 guesses. */
const MAC_BYTES = 16;
const MAC_CHARS = 22;
const MAX_SESSION_ID_CHARS = 64;
const MIN_CHARS = PREFIX.length + 1 + 1 + MAC_CHARS;
const MAX_CHARS = PREFIX.length + MAX_SESSION_ID_CHARS + 1 + MAC_CHARS;
const DOT = 0x2e;

export class SessionHandles {
  readonly #key: Buffer;
  readonly #verified: VerifiedCache<string>;

  constructor(key: Buffer, cacheCapacity = 50_000) {
    this.#key = key;
    this.#verified = new VerifiedCache(cacheCapacity);
  }

  /** The handle for a session id (1–64 base64url characters, as randomId makes them). */
  issue(sessionId: string): string {
    if (!isSessionId(sessionId)) throw new TypeError('a session id is 1 to 64 base64url characters');
    const body = PREFIX + sessionId;
    return `${body}.${this.#mac(body)}`;
  }

  /**
   * The session id a handle names, or null for anything we did not issue
   * with this key: wrong version, malformed, truncated, extended, wrong MAC.
   * Never throws; the MAC is compared in constant time. Verified handles are
   * remembered, so a repeat costs a map lookup.
   */
  verify(value: string): string | null {
    // Before the cache lookup, which would hash the whole string.
    if (value.length > MAX_CHARS) return null;
    const cached = this.#verified.get(value);
    if (cached !== undefined) return cached;
    const sessionId = this.#check(value);
    if (sessionId !== null) this.#verified.set(value, sessionId);
    return sessionId;
  }

  /** Drops a handle from the cache (after sign-out), so the memory goes with the session. */
  forget(value: string): void {
    this.#verified.delete(value);
  }

  #check(value: string): string | null {
    const n = value.length;
    if (n < MIN_CHARS || !value.startsWith(PREFIX)) return null;
    const dot = n - MAC_CHARS - 1;
    if (value.charCodeAt(dot) !== DOT || !isBase64urlAlphabet(value, PREFIX.length, dot)) return null;
    const body = value.slice(0, dot);
    if (!safeEqual(this.#mac(body), value.slice(dot + 1))) return null;
    return body.slice(PREFIX.length);
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest().toString('base64url', 0, MAC_BYTES);
  }
}

/** Session ids are what randomId makes: base64url, at most 64 characters (so never a dot). */
export function isSessionId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_SESSION_ID_CHARS && isBase64urlAlphabet(id);
}
