// Reading and writing cookies (RFC 6265). Reading follows the session-cookie
// stripper (src/proxy/clean-upstream.ts) exactly: a cookie we read as ours is
// always one the stripper removes before forwarding, so no credential we
// accept can reach an upstream.
import type { SameSite } from '../config/types.js';

export interface CookieAttributes {
  /** Omitted when absent (host-only cookie). */
  readonly domain?: string;
  /** Defaults to `/`. */
  readonly path?: string;
  readonly maxAgeSeconds?: number;
  readonly expires?: Date;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  /** '' leaves the attribute out (the browser's default). */
  readonly sameSite: SameSite;
}

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;

/**
 * Every value of cookie `name` in the `cookie` headers of a request (header
 * pairs as in ProxyRequest.headers: [name0, value0, …], names lower-case), in
 * order. A header is split on `;`; a piece's name is the text before its
 * first `=` with spaces and tabs trimmed, compared exactly; its value is the
 * rest, trimmed, with one pair of surrounding double quotes removed. Pieces
 * without `=` carry no value and are skipped.
 */
export function readCookies(headers: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let h = 0; h < headers.length; h += 2) {
    if (headers[h] !== 'cookie') continue;
    const cookie = headers[h + 1];
    if (cookie.indexOf(name) === -1) continue;
    const n = cookie.length;
    let start = 0;
    // The next '=' at or after `start`, kept across pieces that have none,
    // so a header of many '='-less pieces is still read in linear time.
    let eq = -1;
    while (start < n) {
      let end = cookie.indexOf(';', start);
      if (end === -1) end = n;
      if (eq < start) eq = cookie.indexOf('=', start);
      if (eq === -1) break;
      if (eq < end && nameIs(cookie, start, eq, name)) values.push(valueOf(cookie, eq + 1, end));
      start = end + 1;
    }
  }
  return values;
}

/** Whether cookie[start, end), trimmed of spaces and tabs, is exactly `name`. */
function nameIs(cookie: string, start: number, end: number, name: string): boolean {
  while (start < end && isOws(cookie.charCodeAt(start))) start++;
  while (end > start && isOws(cookie.charCodeAt(end - 1))) end--;
  return end - start === name.length && cookie.startsWith(name, start);
}

function valueOf(cookie: string, start: number, end: number): string {
  while (start < end && isOws(cookie.charCodeAt(start))) start++;
  while (end > start && isOws(cookie.charCodeAt(end - 1))) end--;
  if (end - start >= 2 && cookie.charCodeAt(start) === DQUOTE && cookie.charCodeAt(end - 1) === DQUOTE) {
    start++;
    end--;
  }
  return cookie.slice(start, end);
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * A Set-Cookie value. Throws on a name that is not an RFC 6265 token, a value
 * with a character outside cookie-octet (no quotes, spaces, commas,
 * semicolons, backslashes or controls: our values never need them), a bad
 * domain, path, Max-Age or date, and on a `__Secure-`/`__Host-` name whose
 * rules the attributes break (browsers would drop it silently).
 * `SameSite=None` forces `Secure`, which browsers require with it.
 */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  if (!isToken(name)) throw new TypeError(`invalid cookie name ${JSON.stringify(name)}`);
  if (!isCookieValue(value)) throw new TypeError(`invalid characters in the value of cookie ${name}`);
  const { domain, maxAgeSeconds, expires, httpOnly, sameSite } = attributes;
  const path = attributes.path ?? '/';
  const secure = attributes.secure || sameSite === 'none';
  checkPrefixRules(name, secure, path, domain);
  let out = `${name}=${value}; Path=${checkedPath(path)}`;
  if (domain !== undefined) out += `; Domain=${checkedDomain(domain)}`;
  if (maxAgeSeconds !== undefined) {
    if (!Number.isSafeInteger(maxAgeSeconds) || maxAgeSeconds < 0) throw new RangeError('Max-Age is a whole number of seconds, not negative');
    out += `; Max-Age=${maxAgeSeconds}`;
  }
  if (expires !== undefined) {
    if (Number.isNaN(expires.getTime())) throw new RangeError('invalid Expires date');
    out += `; Expires=${expires.toUTCString()}`;
  }
  if (httpOnly) out += '; HttpOnly';
  if (secure) out += '; Secure';
  if (sameSite !== '') out += `; SameSite=${SAME_SITE[sameSite]}`;
  return out;
}

const EPOCH = new Date(0);

/**
 * A Set-Cookie value that deletes the cookie: empty value, `Max-Age=0` and an
 * `Expires` in the past (for clients that ignore Max-Age). Path and domain
 * must be the ones it was set with, or the browser keeps the original.
 */
export function clearCookie(name: string, attributes: Omit<CookieAttributes, 'maxAgeSeconds' | 'expires'>): string {
  return serializeCookie(name, '', { ...attributes, maxAgeSeconds: 0, expires: EPOCH });
}

const SAME_SITE = { lax: 'Lax', strict: 'Strict', none: 'None' } as const;

function checkPrefixRules(name: string, secure: boolean, path: string, domain: string | undefined): void {
  // Browsers match the prefixes case-insensitively (RFC 6265bis §4.1.3).
  const lower = name.slice(0, 9).toLowerCase();
  if (lower.startsWith('__secure-') && !secure) throw new TypeError(`cookie ${name} needs Secure`);
  if (lower.startsWith('__host-') && (!secure || path !== '/' || domain !== undefined)) {
    throw new TypeError(`cookie ${name} needs Secure, Path=/ and no Domain`);
  }
}

function checkedPath(path: string): string {
  // RFC 6265 path-value: any CHAR but controls and ';'. It must be absolute,
  // or the browser substitutes the request's directory.
  if (path.charCodeAt(0) !== 0x2f) throw new TypeError(`cookie path ${JSON.stringify(path)} must start with /`);
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x3b) throw new TypeError(`invalid character in cookie path ${JSON.stringify(path)}`);
  }
  return path;
}

function checkedDomain(domain: string): string {
  // A host name: letters, digits, '-' and '.', optionally with the leading
  // dot RFC 6265 ignores.
  let letters = 0;
  for (let i = 0; i < domain.length; i++) {
    const c = domain.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
    if (!ok) throw new TypeError(`invalid cookie domain ${JSON.stringify(domain)}`);
    if (c !== 0x2e) letters++;
  }
  if (letters === 0) throw new TypeError(`invalid cookie domain ${JSON.stringify(domain)}`);
  return domain;
}

/** RFC 7230 token: the characters RFC 6265 allows in a cookie name. */
function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** RFC 6265 cookie-octet*: printable ASCII except space, `"`, `,`, `;` and `\`. */
function isCookieValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x2c || c === 0x3b || c === 0x5c) return false;
  }
  return true;
}

const TCHAR = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;
