// A route's `from` URL (pom:config/policy.go Validate, pom:config/from.go):
// http or https, a host that may hold `*` wildcards (each matches any
// characters, dots included), an optional port (without one any incoming
// port matches), and no path — paths go in `prefix`, `path` or `regex`.
import { isIPv6 } from 'node:net';
import type { Parsed } from './findings.js';
import type { FromUrl } from './types.js';

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(.*)$/;
const HOST_CHARS = /^[a-z0-9._*-]+$/;
const NOT_YET = new Set(['tcp+https', 'udp+https', 'ssh']);

export interface ParsedFrom {
  readonly from: FromUrl;
  /** A non-fatal remark (a query or fragment, which Pomerium ignores too). */
  readonly warning: string | null;
}

export function parseFrom(raw: string): Parsed<ParsedFrom> {
  const m = URL_SHAPE.exec(raw);
  if (m === null) return { ok: false, error: 'must be an absolute URL such as https://app.example.com' };
  const scheme = (m[1] as string).toLowerCase();
  const authority = m[2] as string;
  const path = m[3] as string;
  const rest = m[4] as string;
  if (NOT_YET.has(scheme)) return { ok: false, error: `${scheme}:// routes are not supported yet by this version of Postern` };
  if (scheme !== 'http' && scheme !== 'https') return { ok: false, error: `unsupported scheme ${JSON.stringify(scheme)} (use https:// or http://)` };
  if (authority.includes('@')) return { ok: false, error: 'must not contain a user name or password' };
  if (path !== '' && path !== '/') {
    return { ok: false, error: `from URL (${raw}) contains a path, but it should be set using the path field instead` };
  }
  let host: string;
  let portText: string | null = null;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return { ok: false, error: 'has an unclosed [ in the host' };
    host = authority.slice(0, close + 1).toLowerCase();
    if (!isIPv6(host.slice(1, -1))) return { ok: false, error: 'has an invalid IPv6 address in brackets' };
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return { ok: false, error: 'has characters after the IPv6 address' };
    if (after !== '') portText = after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
    if (colon >= 0) portText = authority.slice(colon + 1);
    if (host === '') return { ok: false, error: 'must have a host' };
    if (!HOST_CHARS.test(host)) {
      return { ok: false, error: 'must have a host name of letters, digits, dots, hyphens and * (write international names in their xn-- form)' };
    }
  }
  let port: number | null = null;
  if (portText !== null) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return { ok: false, error: 'must have a port from 1 to 65535' };
    }
    port = Number(portText);
  }
  const wildcard = host.includes('*') ? wildcardPattern(host) : null;
  const from: FromUrl = { scheme: scheme as 'http' | 'https', host, port, wildcard, raw };
  return { ok: true, value: { from, warning: rest === '' ? null : 'the query or fragment is ignored' } };
}

/** `*` anywhere in the host becomes `.*`; the rest is literal; anchored and case-insensitive. */
function wildcardPattern(host: string): RegExp {
  const source = host
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i');
}
