// Request header hygiene, checked before routing: the framing and identity
// ambiguities that uWS v20.30 lets through (engineering.md A1.7–A1.8) and the
// header names Pomerium refuses (headers_with_underscores_action:
// REJECT_REQUEST). One pass over the flat [name, value, …] array, no
// allocation.
import { Errors, type ErrorSpec } from '../errors.js';

// Per ASCII code: 0 not allowed in a field name, 1 tchar (RFC 9110 §5.6.2),
// 2 underscore, which is a tchar but refused: CGI, WSGI, PHP and nginx fold
// `_` into `-`, so `x_pomerium_jwt_assertion` would reach an application as
// a header we are supposed to have stripped (oauth2-proxy CVE-2025-64484).
const NAME_CHAR = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  NAME_CHAR[ch.charCodeAt(0)] = 1;
}
NAME_CHAR[0x5f] = 2;

const HTAB = 0x09;

// Control characters other than HTAB. For values of 16 characters or more
// this precompiled test beats the char loop (measured on Node 20: 0.6
// against 1.3 ns per character at 800 characters, the size of a bearer
// token or a cookie); below that the loop wins.
const CONTROL_IN_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const LOOP_BELOW = 16;
const MAX_CONTENT_LENGTH_DIGITS = 15; // 10^15 bytes is beyond any body; keeps the value an exact JS number

/**
 * True when `s` equals the lower-case ASCII `lower`, ignoring ASCII case.
 * OR-ing 0x20 lower-cases letters and keeps '-', but would also map CR to
 * '-': callers pass either a name already checked to be a token or a
 * `lower` made only of letters, where that cannot happen.
 */
function equalsIgnoringCase(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((s.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function hasControl(value: string): boolean {
  if (value.length >= LOOP_BELOW) return CONTROL_IN_VALUE.test(value);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== HTAB) || c === 0x7f) return true;
  }
  return false;
}

function isContentLength(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > MAX_CONTENT_LENGTH_DIGITS) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Check the request's headers (names lower-cased, as uWS gives them; the
 * three framing names are matched ignoring case all the same, so an adapter
 * that forgets to lower-case cannot hide a duplicate). Returns the first
 * problem found, or null.
 *
 * Refused: a name with '_'; a name that is empty or not a token; a value
 * with a control character other than HTAB; a second Host, Content-Length
 * (even an equal one: a proxy in front may have picked the other) or
 * Transfer-Encoding; a Content-Length that is not 1–15 ASCII digits; a
 * Transfer-Encoding other than `chunked` (uWS treats any value as chunked,
 * and anything else is an obfuscation attempt or an encoding we cannot
 * re-frame); Content-Length and Transfer-Encoding together; no Host at all.
 */
export function checkHeaders(headers: readonly string[]): ErrorSpec | null {
  let hosts = 0;
  let contentLengths = 0;
  let transferEncodings = 0;
  const n = headers.length;
  for (let i = 0; i + 1 < n; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;

    const nameLength = name.length;
    if (nameLength === 0) return Errors.INVALID_HEADER_NAME;
    for (let j = 0; j < nameLength; j++) {
      const c = name.charCodeAt(j);
      const kind = c < 128 ? NAME_CHAR[c]! : 0;
      if (kind !== 1) return kind === 2 ? Errors.UNDERSCORE_IN_HEADER_NAME : Errors.INVALID_HEADER_NAME;
    }

    if (hasControl(value)) return Errors.CONTROL_CHARACTER;

    // Gate on length so the common header costs one comparison here.
    switch (nameLength) {
      case 4:
        if (equalsIgnoringCase(name, 'host') && ++hosts > 1) return Errors.DUPLICATE_HOST;
        break;
      case 14:
        if (equalsIgnoringCase(name, 'content-length')) {
          if (++contentLengths > 1) return Errors.DUPLICATE_CONTENT_LENGTH;
          if (!isContentLength(value)) return Errors.INVALID_CONTENT_LENGTH;
        }
        break;
      case 17:
        if (equalsIgnoringCase(name, 'transfer-encoding')) {
          if (++transferEncodings > 1) return Errors.DUPLICATE_TRANSFER_ENCODING;
          if (!equalsIgnoringCase(value, 'chunked')) return Errors.UNSUPPORTED_TRANSFER_ENCODING;
        }
        break;
    }
  }
  if (hosts === 0) return Errors.MISSING_HOST;
  if (contentLengths !== 0 && transferEncodings !== 0) return Errors.CONTENT_LENGTH_WITH_TRANSFER_ENCODING;
  return null;
}
