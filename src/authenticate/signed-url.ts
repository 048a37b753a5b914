// Signed URLs between route hosts and the authenticate host: Pomerium's
// scheme (pomerium.md §5.1, pom:internal/urlutil/signed.go), keyed with our
// derived urlSigning key instead of the raw shared secret. A signed URL is
// valid for five minutes, with one minute of clock leeway each way.
//
// The MAC covers `scheme://host/path?<query sorted by name, without the
// signature>` followed by `<issued> <expiry>` (Go's fmt.Sprint of the URL
// string and the two numbers). Sorting makes parameter order irrelevant;
// every other change to the query, path, host or scheme breaks the MAC.
import { createHmac } from 'node:crypto';
import { safeEqual } from '../crypto/hmac.js';

const ISSUED_PARAM = 'pomerium_issued';
const EXPIRY_PARAM = 'pomerium_expiry';
const SIGNATURE_PARAM = 'pomerium_signature';

const LIFETIME_S = 300;
const LEEWAY_S = 60;
/** base64url of the 32-byte HMAC-SHA512/256. */
const SIGNATURE_CHARS = 43;
/** Unix seconds as written by us: plain decimal, far below 2^53. */
const MAX_TIME_DIGITS = 12;
const RESERVED_PREFIX = 'pomerium_';

export type SignedUrlCheck = 'ok' | 'invalid' | 'expired';

/**
 * A copy of `url` with `pomerium_issued`, `pomerium_expiry` (issued + 300 s)
 * and `pomerium_signature` set. The fragment is kept but not signed (browsers
 * never send it). Throws if the URL repeats a `pomerium_*` parameter: such a
 * URL could never verify.
 */
export function signUrl(url: URL, key: Buffer, nowMs: number): URL {
  const out = new URL(url.href);
  const params = out.searchParams;
  if (repeatsReservedParam(params)) throw new TypeError(`cannot sign a URL that repeats a ${RESERVED_PREFIX}* parameter`);
  const issued = Math.floor(nowMs / 1000);
  const expiry = issued + LIFETIME_S;
  params.delete(SIGNATURE_PARAM);
  params.set(ISSUED_PARAM, String(issued));
  params.set(EXPIRY_PARAM, String(expiry));
  params.sort();
  params.append(SIGNATURE_PARAM, signature(key, out, params, issued, expiry));
  return out;
}

/**
 * Checks a signed URL as the server received it (build it with the scheme
 * the signer used and the request's Host): 'invalid' for a missing, malformed
 * or wrong signature, a repeated `pomerium_*` parameter, or an issue time
 * more than a minute ahead; 'expired' when the signature is right but the
 * expiry is more than a minute past. The MAC is checked first and compared
 * in constant time, so 'expired' is only ever said of an authentic URL.
 */
export function verifySignedUrl(url: URL, key: Buffer, nowMs: number): SignedUrlCheck {
  const params = new URLSearchParams(url.search);
  if (repeatsReservedParam(params)) return 'invalid';
  const given = params.get(SIGNATURE_PARAM);
  const issued = unixTime(params.get(ISSUED_PARAM));
  const expiry = unixTime(params.get(EXPIRY_PARAM));
  if (given === null || given.length !== SIGNATURE_CHARS || issued < 0 || expiry < 0) return 'invalid';
  params.delete(SIGNATURE_PARAM);
  params.sort();
  if (!safeEqual(signature(key, url, params, issued, expiry), given)) return 'invalid';
  const now = Math.floor(nowMs / 1000);
  if (issued > now + LEEWAY_S) return 'invalid';
  if (now - LEEWAY_S > expiry) return 'expired';
  return 'ok';
}

/**
 * For a URL verifySignedUrl accepted: an id for ReplayGuard.useOnce (the
 * signature, which has exactly one accepted spelling) and the first moment
 * at which verifySignedUrl would call it expired, so that the guard
 * remembers it exactly as long as it could be replayed.
 */
export function signedUrlReplayKey(url: URL): { readonly id: string; readonly expiresAtMs: number } {
  const params = url.searchParams;
  const expiry = unixTime(params.get(EXPIRY_PARAM));
  return { id: params.get(SIGNATURE_PARAM) ?? '', expiresAtMs: (expiry + LEEWAY_S + 1) * 1000 };
}

function signature(key: Buffer, url: URL, sortedQuery: URLSearchParams, issued: number, expiry: number): string {
  const message = `${url.protocol}//${url.host}${url.pathname}?${sortedQuery.toString()}${issued} ${expiry}`;
  return createHmac('sha512-256', key).update(message).digest('base64url');
}

function repeatsReservedParam(params: URLSearchParams): boolean {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!name.startsWith(RESERVED_PREFIX)) continue;
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}

/** A non-negative decimal of at most 12 digits, nothing else; -1 otherwise. */
function unixTime(value: string | null): number {
  if (value === null || value.length === 0 || value.length > MAX_TIME_DIGITS) return -1;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
