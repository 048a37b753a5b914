// Tokens for machines (service accounts): `pst_sa_<id>_<secret>`, the id in
// 12 random bytes and the secret in 32, both lower-case hex so that `_`
// splits the token unambiguously and every token has exactly one spelling.
// The prefix lets secret scanners and log filters recognise a leaked token.
//
// Only HMAC-SHA256(pepper, id ‖ ':' ‖ secret) is stored. No slow hash
// (argon2 & co.): those protect low-entropy human passwords against
// guessing, but this secret is 256 random bits, so guessing is hopeless
// whatever the hash costs, and a fast keyed hash lets every request check a
// token in microseconds instead of milliseconds on a shared thread pool
// (engineering.md A5). The pepper (derived from shared_secret) means a copy of
// the database alone cannot even test a guess.
import { randomBytes } from 'node:crypto';
import { hmac, safeEqual } from '../crypto/hmac.js';

export const SERVICE_ACCOUNT_TOKEN_PREFIX = 'pst_sa_';

const ID_BYTES = 12;
const SECRET_BYTES = 32;
const ID_CHARS = ID_BYTES * 2;
const SECRET_CHARS = SECRET_BYTES * 2;
const TOKEN_CHARS = SERVICE_ACCOUNT_TOKEN_PREFIX.length + ID_CHARS + 1 + SECRET_CHARS;
const SEPARATOR_AT = SERVICE_ACCOUNT_TOKEN_PREFIX.length + ID_CHARS;
const HASH_CHARS = 64;

export interface ServiceAccountToken {
  /** Public: names the service-account record. */
  readonly id: string;
  /** Shown once, at creation; never stored. */
  readonly secret: string;
  /** What the machine presents. */
  readonly token: string;
}

export function newServiceAccountToken(): ServiceAccountToken {
  const id = randomBytes(ID_BYTES).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('hex');
  return { id, secret, token: `${SERVICE_ACCOUNT_TOKEN_PREFIX}${id}_${secret}` };
}

/** The id and secret of a well-formed token, or null (wrong prefix, length, separator or alphabet). */
export function parseServiceAccountToken(token: string): { readonly id: string; readonly secret: string } | null {
  if (token.length !== TOKEN_CHARS || !token.startsWith(SERVICE_ACCOUNT_TOKEN_PREFIX)) return null;
  if (token.charCodeAt(SEPARATOR_AT) !== 0x5f) return null;
  if (!isLowerHex(token, SERVICE_ACCOUNT_TOKEN_PREFIX.length, SEPARATOR_AT) || !isLowerHex(token, SEPARATOR_AT + 1, TOKEN_CHARS)) {
    return null;
  }
  return { id: token.slice(SERVICE_ACCOUNT_TOKEN_PREFIX.length, SEPARATOR_AT), secret: token.slice(SEPARATOR_AT + 1) };
}

/** The stored form: hex HMAC-SHA256 keyed with the pepper, over id, ':' and secret (':' is in neither). */
export function hashServiceAccountSecret(pepper: Buffer, id: string, secret: string): string {
  return hmac(pepper, id, ':', secret).toString('hex');
}

/** Whether `secret` belongs to the record with `keyHash`; constant time in the hash comparison. */
export function verifyServiceAccountSecret(pepper: Buffer, id: string, secret: string, keyHash: string): boolean {
  if (keyHash.length !== HASH_CHARS) return false;
  return safeEqual(hashServiceAccountSecret(pepper, id, secret), keyHash);
}

function isLowerHex(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}
