// Open-redirect defence for every redirect whose target came from a request
// (the return URL after sign-in, sign-out redirects, the programmatic login's
// `pomerium_redirect_uri`). The target must be an absolute http(s) URL that a
// browser and the WHATWG parser read the same way, on a host the caller
// allows. Relative targets are refused: the caller makes a path absolute
// itself when it means to.
//
// Why a strict pre-check in front of the WHATWG parser: the parser repairs
// what it reads (`https:evil`, `https:/evil` and `https:///evil` all become
// `https://evil/`, `\` becomes `/`, tabs and newlines vanish, `%2e` in a host
// is decoded, `0x7f.1` becomes `127.0.0.1`), and every repair is a place
// where two parsers can disagree (OAuth2 Proxy CVE-2020-5233, CVE-2020-11053,
// CVE-2020-4037, bitly #359). We accept only text that needs no repair, and
// then require the parser's host to equal the host we read ourselves.

/** Longer targets are refused outright; a real return URL is far shorter. */
const MAX_TARGET_CHARS = 8192;

const SLASH = 0x2f;
const QUESTION = 0x3f;
const HASH = 0x23;
const AT = 0x40;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;

/**
 * The target as a URL when it is safe to redirect to, else null (the caller
 * falls back to a safe page). `isAllowedHost` receives the parsed host:
 * lower-case ASCII (IDNs as punycode), IPv6 in brackets, without the port —
 * any port on an allowed host is fine.
 */
export function resolveRedirect(target: string | null | undefined, isAllowedHost: (host: string) => boolean): URL | null {
  if (typeof target !== 'string') return null;
  const n = target.length;
  if (n === 0 || n > MAX_TARGET_CHARS) return null;
  // Printable ASCII only: no whitespace, tab, newline or control character
  // anywhere (they are dropped or split on by parsers), no backslash (read as
  // '/' by browsers), no raw Unicode (IDN look-alikes, fullwidth dots).
  for (let i = 0; i < n; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === BACKSLASH) return null;
  }
  // The scheme and both slashes, literally: this refuses every other scheme
  // (javascript:, data:, vbscript: …), relative and protocol-relative targets.
  const authorityStart = startsWithLower(target, 'https://') ? 8 : startsWithLower(target, 'http://') ? 7 : -1;
  if (authorityStart === -1) return null;
  let authorityEnd = authorityStart;
  for (; authorityEnd < n; authorityEnd++) {
    const c = target.charCodeAt(authorityEnd);
    if (c === SLASH || c === QUESTION || c === HASH) break;
    // No userinfo (`https://trusted@evil`) and no percent-escapes in the host
    // (`trusted%2eevil`, `trusted%40evil`): neither has an honest use here.
    if (c === AT || c === PERCENT) return null;
  }
  const hostEnd = hostEndOf(target, authorityStart, authorityEnd);
  if (hostEnd === -1) return null;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username !== '' || url.password !== '') return null;
  // The parser must have read the host we read: this catches every
  // normalisation (numeric IPv4 forms, IPv6 spellings) we did not foresee.
  if (url.hostname !== target.slice(authorityStart, hostEnd).toLowerCase()) return null;
  return isAllowedHost(url.hostname) ? url : null;
}

/**
 * Where the host ends in the authority target[start, end): before `:port`
 * (1–5 digits) or at the end. An IPv6 literal is bracketed. -1 when the
 * authority is empty or its port is not plain digits.
 */
function hostEndOf(target: string, start: number, end: number): number {
  if (start === end) return -1;
  let hostEnd: number;
  if (target.charCodeAt(start) === OPEN_BRACKET) {
    const close = target.indexOf(']', start);
    if (close === -1 || close >= end) return -1;
    hostEnd = close + 1;
  } else {
    hostEnd = start;
    while (hostEnd < end && target.charCodeAt(hostEnd) !== COLON) hostEnd++;
    if (hostEnd === start) return -1;
  }
  if (hostEnd === end) return hostEnd;
  if (target.charCodeAt(hostEnd) !== COLON) return -1;
  const digits = end - hostEnd - 1;
  if (digits < 1 || digits > 5) return -1;
  for (let i = hostEnd + 1; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  return hostEnd;
}

/** ASCII case-insensitive `target.startsWith(lower)`; `lower` is lower-case. */
function startsWithLower(target: string, lower: string): boolean {
  if (target.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const e = lower.charCodeAt(i);
    const c = target.charCodeAt(i);
    if (c !== e && !(e >= 0x61 && e <= 0x7a && c === e - 0x20)) return false;
  }
  return true;
}
