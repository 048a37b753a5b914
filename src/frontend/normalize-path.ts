// The one path normalisation every request goes through before routing.
// Routing, policy and the upstream all read the string this returns, so the
// path that was judged is the path that is forwarded (Pomerium
// CVE-2023-33189, Oathkeeper CVE-2026-33494, Traefik CVE-2025-66490 were all
// a judge and an executor reading different paths).
//
// What Envoy does for Pomerium (normalize_path, merge_slashes,
// path_with_escaped_slashes_action: REJECT_REQUEST), done in one scan:
// - the common, already-canonical path is only read, never copied;
// - anything else is rebuilt once: percent-escapes of unreserved characters
//   decoded, other escapes upper-cased, characters a path segment may not
//   hold percent-encoded as UTF-8, repeated slashes merged, then dot
//   segments removed (RFC 3986 §5.2.4). Decoding comes first so `%2e%2e`
//   is a `..` segment like any other.
//
// The input is `getUrl()` from uWS: the path without the query, decoded from
// UTF-8 (an invalid byte arrives as U+FFFD, which is then encoded like any
// other non-ASCII character).
import { Errors, type ErrorSpec } from '../errors.js';

// Character classes of the ASCII range.
const SEGMENT = 0; // may stand raw in a path segment: unreserved, sub-delims, ':' '@'
const SLASH = 1;
const PERCENT = 2;
const ENCODE = 3; // not allowed raw in a path, harmless once percent-encoded (space, '"', '<', '[', '{', …)
const CONTROL = 4; // C0 controls and DEL
const REFUSED = 5; // '#' and '\', see normalizePath

const CLASS = new Uint8Array(128).fill(ENCODE);
for (let c = 0; c < 0x20; c++) CLASS[c] = CONTROL;
CLASS[0x7f] = CONTROL;
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") {
  CLASS[ch.charCodeAt(0)] = SEGMENT;
}
CLASS[0x2f] = SLASH;
CLASS[0x25] = PERCENT;
CLASS[0x23] = REFUSED; // '#'
CLASS[0x5c] = REFUSED; // '\'

/** RFC 3986 unreserved: ALPHA DIGIT - . _ ~ — the bytes whose escapes are decoded. */
const UNRESERVED = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') {
  UNRESERVED[ch.charCodeAt(0)] = 1;
}

/** Hex digit value by char code, -1 when not a hex digit. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
}

/** `%XX` with upper-case hex for every byte value. */
const ESCAPE: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => '%' + b.toString(16).toUpperCase().padStart(2, '0'),
);

const DOT = 0x2e;
const LOWER_A = 0x61;
const LOWER_F = 0x66;

// Problems found by the scan, one bit each. When a path has several, the
// lowest bit decides the answer, so the error does not depend on where in
// the path each problem sits.
const RAW_CONTROL = 1;
const MALFORMED = 2; // broken percent-escape, or a lone UTF-16 surrogate
const ESCAPED_SLASH = 4;
const ESCAPED_CONTROL = 8;

function hexValue(code: number): number {
  return code < 128 ? HEX_VALUE[code]! : -1;
}

function isLowerHexLetter(code: number): boolean {
  return code >= LOWER_A && code <= LOWER_F;
}

/** True when target[start, end) is exactly `.` or `..`. */
function isDotSegment(target: string, start: number, end: number): boolean {
  const len = end - start;
  if (len === 1) return target.charCodeAt(start) === DOT;
  return len === 2 && target.charCodeAt(start) === DOT && target.charCodeAt(start + 1) === DOT;
}

/**
 * Normalise the path of an origin-form request target, or say why it is
 * refused. Returns `target` itself when it is already canonical.
 *
 * Refused, in this order of precedence:
 * - not starting with '/' (absolute-form, authority-form, `*`): INVALID_PATH;
 * - a raw '#' or '\': INVALID_PATH. A '#' never belongs in a request target
 *   (a fragment is not sent), and a component that treats it as the start of
 *   a fragment sees a shorter path than we judged (oauth2-proxy
 *   CVE-2026-41059, Traefik CVE-2023-47106). A '\' is a '/' to WHATWG URL
 *   parsers and to several servers, so `/public\..\admin` would be judged as
 *   one segment and served as a climb. Neither has a meaning worth guessing;
 * - a raw control character (below 0x20, or 0x7F): CONTROL_CHARACTER;
 * - a malformed escape (`%`, `%4`, `%zz`) or a lone surrogate: INVALID_PATH;
 * - `%2F` or `%5C` in any case: ESCAPED_SLASH_IN_PATH, as Envoy's
 *   REJECT_REQUEST: a slash that routing sees as data but an upstream may
 *   decode into a separator;
 * - an escaped control character (`%00`–`%1F`, `%7F`): CONTROL_CHARACTER.
 */
export function normalizePath(target: string): string | ErrorSpec {
  const n = target.length;
  if (n === 0 || target.charCodeAt(0) !== 0x2f) return Errors.INVALID_PATH;

  let problems = 0;
  let rewrite = false;
  let segmentStart = 1; // index just after the last '/'
  for (let i = 1; i < n; i++) {
    const c = target.charCodeAt(i);
    if (c >= 128) {
      rewrite = true; // non-ASCII is percent-encoded as UTF-8
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? target.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
        else problems |= MALFORMED;
      }
      continue;
    }
    switch (CLASS[c]) {
      case SEGMENT:
        break;
      case SLASH:
        if (i === segmentStart || isDotSegment(target, segmentStart, i)) rewrite = true;
        segmentStart = i + 1;
        break;
      case PERCENT: {
        // Past the end counts as NUL, which is not a hex digit.
        const hiCode = i + 1 < n ? target.charCodeAt(i + 1) : 0;
        const loCode = i + 2 < n ? target.charCodeAt(i + 2) : 0;
        const hi = hexValue(hiCode);
        const lo = hexValue(loCode);
        if (hi < 0 || lo < 0) {
          problems |= MALFORMED;
          break;
        }
        const b = (hi << 4) | lo;
        if (b === 0x2f || b === 0x5c) problems |= ESCAPED_SLASH;
        else if (b < 0x20 || b === 0x7f) problems |= ESCAPED_CONTROL;
        else if (UNRESERVED[b] === 1 || isLowerHexLetter(hiCode) || isLowerHexLetter(loCode)) rewrite = true;
        i += 2;
        break;
      }
      case ENCODE:
        rewrite = true;
        break;
      case CONTROL:
        problems |= RAW_CONTROL;
        break;
      default: // REFUSED
        return Errors.INVALID_PATH;
    }
  }
  if (problems !== 0) {
    if (problems & RAW_CONTROL) return Errors.CONTROL_CHARACTER;
    if (problems & MALFORMED) return Errors.INVALID_PATH;
    if (problems & ESCAPED_SLASH) return Errors.ESCAPED_SLASH_IN_PATH;
    return Errors.CONTROL_CHARACTER;
  }
  if (!rewrite && !isDotSegment(target, segmentStart, n)) return target;
  return rebuild(target);
}

/**
 * The slow path, for a target the scan found valid but not canonical. Each
 * segment is canonicalised character by character, then pushed to (or
 * popped from) the output as RFC 3986 §5.2.4 says. Empty segments other
 * than the last are dropped, which is merging slashes; a final `.` or `..`
 * leaves a trailing slash, as the RFC's "/." and "/.." rules do.
 */
function rebuild(target: string): string {
  const n = target.length;
  const out: string[] = [];
  let trailingSlash = false;
  let segment = '';
  let runStart = 1; // start of the pending run of characters copied as they are
  for (let i = 1; i <= n; i++) {
    const c = i < n ? target.charCodeAt(i) : 0x2f; // the end closes the last segment
    if (c < 128 && CLASS[c] === SEGMENT) continue;
    if (i > runStart) segment += target.slice(runStart, i);
    if (c === 0x2f) {
      const last = i === n;
      if (segment === '..') out.pop();
      else if (segment !== '.' && (segment !== '' || last)) out.push(segment);
      trailingSlash = last && (segment === '.' || segment === '..');
      segment = '';
      runStart = i + 1;
      continue;
    }
    if (c === 0x25) {
      const b = (HEX_VALUE[target.charCodeAt(i + 1)]! << 4) | HEX_VALUE[target.charCodeAt(i + 2)]!;
      segment += UNRESERVED[b] === 1 ? String.fromCharCode(b) : ESCAPE[b]!;
      i += 2;
    } else if (c < 0x80) {
      segment += ESCAPE[c]!;
    } else {
      const cp = target.codePointAt(i)!;
      if (cp > 0xffff) i++;
      segment += utf8Escapes(cp);
    }
    runStart = i + 1;
  }
  if (out.length === 0) return '/';
  const path = '/' + out.join('/');
  return trailingSlash ? path + '/' : path;
}

/** `%XX` escapes of the UTF-8 encoding of a code point at or above 0x80. */
function utf8Escapes(cp: number): string {
  if (cp < 0x800) return ESCAPE[0xc0 | (cp >> 6)]! + ESCAPE[0x80 | (cp & 0x3f)]!;
  if (cp < 0x10000) {
    return ESCAPE[0xe0 | (cp >> 12)]! + ESCAPE[0x80 | ((cp >> 6) & 0x3f)]! + ESCAPE[0x80 | (cp & 0x3f)]!;
  }
  return (
    ESCAPE[0xf0 | (cp >> 18)]! +
    ESCAPE[0x80 | ((cp >> 12) & 0x3f)]! +
    ESCAPE[0x80 | ((cp >> 6) & 0x3f)]! +
    ESCAPE[0x80 | (cp & 0x3f)]!
  );
}

// From 16 characters on, one precompiled character-class test beats the
// char loop (measured on Node 20: about twice as fast on long queries such
// as OAuth callbacks); below that the loop wins.
const CONTROL_IN_QUERY = /[\u0000-\u001f\u007f]/;
const QUERY_LOOP_BELOW = 16;

/**
 * Check the query string (without '?'). A raw control character is refused:
 * it would be forwarded byte for byte, and a CR or LF there is header
 * injection on any hop that prints the target. Nothing else is changed: the
 * query belongs to the application, and Postern forwards it as received.
 */
export function checkQuery(query: string): ErrorSpec | null {
  if (query.length >= QUERY_LOOP_BELOW) return CONTROL_IN_QUERY.test(query) ? Errors.CONTROL_CHARACTER : null;
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return Errors.CONTROL_CHARACTER;
  }
  return null;
}
