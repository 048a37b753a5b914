// Parsing the Host header into the host that routing and policy match on.
// Two readers of one Host must never disagree (threats.md §3.8, Authelia
// CVE-2026-48794, Caddy CVE-2026-27588), so the host is reduced to one
// spelling here: lower-case, no trailing dot, port apart. Anything a DNS name
// or an IP literal never contains is refused rather than carried along.
import { isIPv6 } from 'node:net';

export interface Authority {
  /** Lower-cased host without a trailing dot; an IPv6 literal keeps its brackets (`[::1]`). */
  readonly host: string;
  /** 1–65535, or null when the header had no port. */
  readonly port: number | null;
}

// Host characters: RFC 3986 unreserved (ALPHA DIGIT - . _ ~), the part of
// reg-name a real name uses. Refused although reg-name allows them:
// - percent-escapes: no DNS name has one, and a host that one reader
//   decodes and another does not is two hosts;
// - sub-delims (! $ & ' ( ) * + , ; =): ',' and ';' split X-Forwarded-Host
//   and Forwarded lists downstream, and '*' would let a client name a
//   wildcard route's pattern as its host.
const HOST_CHAR = new Uint8Array(128);
for (const ch of 'abcdefghijklmnopqrstuvwxyz0123456789-._~') HOST_CHAR[ch.charCodeAt(0)] = 1;
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') HOST_CHAR[ch.charCodeAt(0)] = 2; // allowed, needs lower-casing

/** Characters inside the brackets of an IPv6 literal. No '%': zone ids are not sent in Host (RFC 9110 §7.2). */
const IPV6_CHAR = new Uint8Array(128);
for (const ch of '0123456789abcdefABCDEF:.') IPV6_CHAR[ch.charCodeAt(0)] = 1;

const DOT = 0x2e;
const COLON = 0x3a;
const MAX_PORT_DIGITS = 5;

/**
 * Parse a Host header value (`host`, `host:port`, `[v6]`, `[v6]:port`).
 * Returns null for anything else: empty, userinfo, a path, query or
 * fragment character, whitespace or controls, an empty label, bad brackets,
 * an IPvFuture literal, or a port that is empty, not digits, longer than
 * five digits, or outside 1–65535.
 */
export function parseAuthority(value: string): Authority | null {
  const n = value.length;
  if (n === 0) return null;

  let hostEnd: number; // index just after the host
  let mixedCase = false;
  let trailingDot = false;
  if (value.charCodeAt(0) === 0x5b) {
    // '[' IPv6address ']'
    let i = 1;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x5d) break;
      if (c >= 128 || IPV6_CHAR[c] !== 1) return null;
      if (c >= 0x41 && c <= 0x46) mixedCase = true;
    }
    if (i === n || !isIPv6(value.slice(1, i))) return null;
    hostEnd = i + 1;
  } else {
    let i = 0;
    let labelStart = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c === COLON) break;
      if (c === DOT) {
        if (i === labelStart) return null; // empty label: leading dot or '..'
        labelStart = i + 1;
        continue;
      }
      const kind = c < 128 ? HOST_CHAR[c] : 0;
      if (kind === 0) return null;
      if (kind === 2) mixedCase = true;
    }
    if (i === 0) return null;
    // An empty last label is a single trailing dot (a lone "." was refused
    // as an empty label above): the same name, so it is stripped.
    trailingDot = labelStart === i;
    hostEnd = i;
  }

  let port: number | null = null;
  if (hostEnd < n) {
    if (value.charCodeAt(hostEnd) !== COLON) return null;
    const digits = n - hostEnd - 1;
    if (digits === 0 || digits > MAX_PORT_DIGITS) return null;
    port = 0;
    for (let i = hostEnd + 1; i < n; i++) {
      const d = value.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return null;
      port = port * 10 + d;
    }
    if (port === 0 || port > 65535) return null;
  }

  const end = trailingDot ? hostEnd - 1 : hostEnd;
  let host = end === n ? value : value.slice(0, end);
  if (mixedCase) host = host.toLowerCase();
  return { host, port };
}
