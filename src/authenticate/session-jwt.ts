// The session JWT handed to programmatic clients (pomerium-cli receives it as
// `pomerium_jwt` and sends it back as `Authorization: Pomerium <jwt>`,
// `Authorization: Bearer Pomerium-<jwt>` or `X-Pomerium-Authorization`).
// Like Pomerium's session handle (pomerium.md §5.1) it is HS256 with claims
// iss, aud, sub, iat and jti = the session id, and no exp: the session record
// decides how long it lives, and deleting the record revokes it.
//
// We only ever accept tokens we minted, so the header must be our header,
// byte for byte. That leaves no room for algorithm confusion: `none`, RS256
// with our key as a "public key", HS512, `crit`, `kid`, `jku` … are all
// simply a different first segment. HMAC runs on node:crypto synchronously
// (2 µs; jose's WebCrypto path costs 30–120 µs, engineering.md A4).
import { createHmac } from 'node:crypto';
import { isBase64urlAlphabet } from '../crypto/base64url.js';
import { safeEqual } from '../crypto/hmac.js';
import { VerifiedCache } from '../crypto/verified-cache.js';
import { isSessionId } from './session-handle.js';

const HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
const SIGNED_PREFIX = HEADER + '.';
/** base64url of a 32-byte HMAC-SHA256. */
const SIGNATURE_CHARS = 43;
/** Far above any token we mint (≈ 300 bytes); bounds the work on garbage. */
const MAX_TOKEN_CHARS = 4096;

export interface SessionJwtClaims {
  /** `jti`. */
  readonly sessionId: string;
  /** `sub`. */
  readonly userId: string;
  /** `iat`, in milliseconds since the epoch like the records. */
  readonly issuedAt: number;
  /** `iss`: the authenticate host that minted it. */
  readonly issuer: string;
  /** `aud`: the route host it was minted for. */
  readonly audience: string;
}

export interface SessionJwtSubject {
  readonly sessionId: string;
  readonly userId: string;
  readonly issuer: string;
  readonly audience: string;
}

export class SessionJwts {
  readonly #key: Buffer;
  readonly #verified: VerifiedCache<SessionJwtClaims>;

  constructor(key: Buffer, cacheCapacity = 50_000) {
    this.#key = key;
    this.#verified = new VerifiedCache(cacheCapacity);
  }

  issue(subject: SessionJwtSubject, nowMs: number): string {
    const { sessionId, userId, issuer, audience } = subject;
    if (!isSessionId(sessionId)) throw new TypeError('a session id is 1 to 64 base64url characters');
    if (userId.length === 0) throw new TypeError('a session JWT needs a user id');
    const payload = JSON.stringify({ iss: issuer, aud: audience, sub: userId, iat: Math.floor(nowMs / 1000), jti: sessionId });
    const signed = SIGNED_PREFIX + Buffer.from(payload, 'utf8').toString('base64url');
    const token = `${signed}.${this.#sign(signed)}`;
    if (token.length > MAX_TOKEN_CHARS) throw new RangeError(`a session JWT would exceed ${MAX_TOKEN_CHARS} characters`);
    return token;
  }

  /**
   * The claims of a token we minted with this key, or null for anything else:
   * another header (any other alg, `none`, extra fields), a missing or extra
   * segment, bad base64url, a wrong signature, a payload that is not a JSON
   * object with the claims we write. Never throws; the signature is compared
   * in constant time. Verified tokens are remembered, so a repeat costs a map
   * lookup.
   */
  verify(token: string): SessionJwtClaims | null {
    // Before the cache lookup, which would hash the whole string.
    if (token.length > MAX_TOKEN_CHARS) return null;
    const cached = this.#verified.get(token);
    if (cached !== undefined) return cached;
    const claims = this.#check(token);
    if (claims !== null) this.#verified.set(token, claims);
    return claims;
  }

  /** Drops a token from the cache (after sign-out). */
  forget(token: string): void {
    this.#verified.delete(token);
  }

  #check(token: string): SessionJwtClaims | null {
    const n = token.length;
    if (!token.startsWith(SIGNED_PREFIX)) return null;
    const dot = n - SIGNATURE_CHARS - 1;
    if (dot <= SIGNED_PREFIX.length || token.charCodeAt(dot) !== 0x2e) return null;
    // The payload segment must be pure base64url: this also rules out a third dot.
    if (!isBase64urlAlphabet(token, SIGNED_PREFIX.length, dot)) return null;
    const signed = token.slice(0, dot);
    if (!safeEqual(this.#sign(signed), token.slice(dot + 1))) return null;
    return parseClaims(token.slice(SIGNED_PREFIX.length, dot));
  }

  #sign(signed: string): string {
    return createHmac('sha256', this.#key).update(signed).digest('base64url');
  }
}

/** Reads the claims we write. Runs only on authentic payloads, but trusts nothing about their shape. */
function parseClaims(segment: string): SessionJwtClaims | null {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const { jti, sub, iat, iss, aud } = payload as Record<string, unknown>;
  if (typeof jti !== 'string' || !isSessionId(jti)) return null;
  if (typeof sub !== 'string' || sub.length === 0) return null;
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat) || iat < 0) return null;
  if (typeof iss !== 'string' || typeof aud !== 'string') return null;
  return Object.freeze({ sessionId: jti, userId: sub, issuedAt: iat * 1000, issuer: iss, audience: aud });
}
