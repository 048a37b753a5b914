// Our credentials never reach an upstream: the session cookie, the Pomerium
// authorization forms and the `pomerium_session` query parameter are removed
// from what we forward. Everything else passes byte for byte, because
// upstreams may sign or compare cookies and query strings.

const SP = 0x20;
const HTAB = 0x09;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const AMPERSAND = 0x26;
const PERCENT = 0x25;

/**
 * Removes every cookie named exactly `cookieName`, following Pomerium's
 * clean-upstream.lua: the header is split on `;` (empty pieces vanish),
 * leading spaces of each piece are dropped, the name is the text before the
 * first `=`, and the kept pieces are re-joined with `; `.
 *
 * One deliberate difference: the name is compared after trimming spaces and
 * tabs on both sides, because common cookie parsers (Node's `cookie`, Go's
 * net/http) trim them too — `_pomerium =x` or `\t_pomerium=x` would otherwise
 * reach the upstream as our cookie. Kept pieces are exactly what the lua keeps.
 *
 * Returns the input itself when the name does not occur at all.
 */
export function stripSessionCookie(cookie: string, cookieName: string): string {
  if (cookie.indexOf(cookieName) === -1) return cookie;
  const n = cookie.length;
  // The output is built from runs of the input: kept pieces already separated
  // by exactly "; " are copied as one slice, so the usual browser header
  // costs two slices and a concatenation, not one per cookie.
  let out = '';
  let runStart = -1;
  let runEnd = 0;
  let i = 0;
  while (i < n) {
    const start = i;
    let end = cookie.indexOf(';', i);
    if (end === -1) end = n;
    i = end + 1;
    if (end === start) continue;
    let pieceStart = start;
    while (pieceStart < end && cookie.charCodeAt(pieceStart) === SP) pieceStart++;
    if (cookieNameIs(cookie, pieceStart, end, cookieName)) continue;
    if (runStart === -1) {
      // Nothing written yet: the lua appends the piece without a separator
      // (and an all-space piece adds nothing).
      if (pieceStart < end) {
        runStart = pieceStart;
        runEnd = end;
      }
      continue;
    }
    if (pieceStart === runEnd + 2 && cookie.charCodeAt(runEnd) === SEMICOLON && cookie.charCodeAt(runEnd + 1) === SP) {
      runEnd = end;
      continue;
    }
    out += cookie.slice(runStart, runEnd) + '; ';
    runStart = pieceStart;
    runEnd = end;
  }
  return runStart === -1 ? out : out + cookie.slice(runStart, runEnd);
}

/**
 * Whether the piece cookie[start, end) is named `name`: the text before its
 * first `=`, spaces and tabs trimmed. `name` holds no `=` and no edge blanks.
 */
function cookieNameIs(cookie: string, start: number, end: number, name: string): boolean {
  let s = start;
  while (s < end && isOws(cookie.charCodeAt(s))) s++;
  if (end - s < name.length || !cookie.startsWith(name, s)) return false;
  let e = s + name.length;
  while (e < end && isOws(cookie.charCodeAt(e))) e++;
  return e === end || cookie.charCodeAt(e) === EQUALS;
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

const SESSION_PARAM = 'pomerium_session';

/**
 * Removes every `pomerium_session` parameter from a query string (without
 * `?`). Names are compared after percent-decoding, so `pomerium%5Fsession`
 * goes too. The other parameters stay byte for byte and in order.
 */
export function stripSessionQuery(query: string): string {
  // Without a '%', a matching name must appear literally.
  if (query.indexOf(SESSION_PARAM) === -1 && query.indexOf('%') === -1) return query;
  const n = query.length;
  // Built lazily from the first removal; `hasKept` tells whether a separator is needed.
  let out: string | null = null;
  let hasKept = false;
  let i = 0;
  while (i <= n) {
    const start = i;
    let nameEnd = -1;
    while (i < n) {
      const c = query.charCodeAt(i);
      if (c === AMPERSAND) break;
      if (c === EQUALS && nameEnd === -1) nameEnd = i;
      i++;
    }
    const end = i;
    i++;
    if (isSessionParam(query, start, nameEnd === -1 ? end : nameEnd)) {
      if (out === null) {
        hasKept = start > 0;
        out = hasKept ? query.slice(0, start - 1) : '';
      }
      continue;
    }
    if (out !== null) {
      out = hasKept ? out + '&' + query.slice(start, end) : query.slice(start, end);
      hasKept = true;
    }
  }
  return out ?? query;
}

/** Whether query[start, end), percent-decoded, is `pomerium_session`. */
function isSessionParam(query: string, start: number, end: number): boolean {
  let k = 0;
  let i = start;
  while (i < end) {
    let c = query.charCodeAt(i);
    if (c === PERCENT && i + 2 < end) {
      const hi = hexValue(query.charCodeAt(i + 1));
      const lo = hexValue(query.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        c = hi * 16 + lo;
        i += 2;
      }
    }
    i++;
    if (k >= SESSION_PARAM.length || c !== SESSION_PARAM.charCodeAt(k)) return false;
    k++;
  }
  return k === SESSION_PARAM.length;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Whether an Authorization value carries a Pomerium credential:
 * `Pomerium <token>` (scheme compared case-insensitively, where Pomerium's lua
 * only strips the exact `Pomerium ` prefix) or `Bearer Pomerium-<token>`
 * (which Pomerium's authorize accepts but its lua forgets to strip).
 */
export function isPomeriumAuthorization(value: string): boolean {
  const n = value.length;
  let i = 0;
  while (i < n && isOws(value.charCodeAt(i))) i++;
  if (startsWithLower(value, i, 'pomerium')) {
    const j = i + 8;
    return j === n || isOws(value.charCodeAt(j));
  }
  if (startsWithLower(value, i, 'bearer')) {
    let j = i + 6;
    if (j === n || !isOws(value.charCodeAt(j))) return false;
    while (j < n && isOws(value.charCodeAt(j))) j++;
    return startsWithLower(value, j, 'pomerium-');
  }
  return false;
}

/** ASCII case-insensitive `value.startsWith(lower, at)`; `lower` is lower-case. */
function startsWithLower(value: string, at: number, lower: string): boolean {
  if (value.length - at < lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const e = lower.charCodeAt(k);
    const c = value.charCodeAt(at + k);
    if (c !== e && !(e >= 0x61 && e <= 0x7a && c === e - 0x20)) return false;
  }
  return true;
}
