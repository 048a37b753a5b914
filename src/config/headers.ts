// Header options: names must be RFC 9110 tokens, values must be field
// values (no CR, LF, NUL or other control characters: they would split or
// corrupt the message). Response headers follow Pomerium's rules
// (config/options.go GetSetResponseHeadersForPolicy): the global set
// replaces the security defaults, a `disable` key clears a set, a route's
// headers are merged over the global ones.
import { readList, readString, readStringMap } from './fields.js';
import type { Findings, Located } from './findings.js';
import type { HeaderEntry } from './types.js';

/** RFC 9110 tchar: ALPHA DIGIT and !#$%&'*+-.^_`|~ */
function isTokenChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x27) ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  );
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

/** RFC 9110 field-value characters: HTAB, SP, visible ASCII and obs-text; no other control character. */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

export function headerEntry(name: string, value: string): HeaderEntry {
  return { name, lname: name.toLowerCase(), value };
}

/** A configured header map, and whether it holds the `disable` key. */
export interface HeaderMap {
  readonly entries: readonly HeaderEntry[];
  readonly disable: boolean;
}

const DISABLE = 'disable';

/**
 * A map of header name → value. `allowDisable` accepts Pomerium's `disable`
 * key (any value; matched case-insensitively, as viper lower-cases keys).
 */
export function readHeaderMap(f: Findings, loc: Located, allowDisable: boolean): HeaderMap | undefined {
  const pairs = readStringMap(f, loc);
  if (pairs === undefined) return undefined;
  const entries: HeaderEntry[] = [];
  const seen = new Set<string>();
  let disable = false;
  let ok = true;
  for (const { name, value, loc: at } of pairs) {
    if (allowDisable && name.toLowerCase() === DISABLE) {
      disable = true;
      continue;
    }
    if (!isToken(name)) {
      f.error(at, 'is not a valid header name (RFC 9110 token)');
      ok = false;
      continue;
    }
    if (!isFieldValue(value)) {
      f.error(at, 'the value contains a line break, NUL, another control character or a character outside Latin-1');
      ok = false;
      continue;
    }
    const entry = headerEntry(name, value);
    if (seen.has(entry.lname)) {
      f.error(at, 'is set more than once (header names are case-insensitive)');
      ok = false;
      continue;
    }
    seen.add(entry.lname);
    entries.push(entry);
  }
  return ok ? { entries, disable } : undefined;
}

/** A list of header names, lower-cased. */
export function readHeaderNames(f: Findings, loc: Located): string[] | undefined {
  const items = readList(f, loc);
  if (items === undefined) return undefined;
  const out: string[] = [];
  let ok = true;
  for (const item of items) {
    const name = readString(f, item);
    if (name !== undefined && !isToken(name)) f.error(item, 'is not a valid header name (RFC 9110 token)');
    if (name === undefined || !isToken(name)) ok = false;
    else out.push(name.toLowerCase());
  }
  return ok ? out : undefined;
}

const STRICT_TRANSPORT_SECURITY = 'strict-transport-security';

/** Pomerium's defaults, used only when the global `set_response_headers` is not set. */
export const DEFAULT_RESPONSE_HEADERS: readonly HeaderEntry[] = [
  headerEntry('X-Frame-Options', 'SAMEORIGIN'),
  headerEntry('X-XSS-Protection', '1; mode=block'),
  headerEntry('Strict-Transport-Security', 'max-age=31536000; includeSubDomains; preload'),
];

/**
 * The global response headers: the configured set, else the defaults (HSTS
 * only when certificates are configured); a `disable` key empties it.
 */
export function globalResponseHeaders(configured: HeaderMap | null, hasCertificates: boolean): HeaderEntry[] {
  if (configured === null) {
    return DEFAULT_RESPONSE_HEADERS.filter((h) => hasCertificates || h.lname !== STRICT_TRANSPORT_SECURITY);
  }
  return configured.disable ? [] : [...configured.entries];
}

/** A route's response headers: its own merged over the global ones (same name replaces); its `disable` empties all. */
export function routeResponseHeaders(global: readonly HeaderEntry[], route: HeaderMap | null): HeaderEntry[] {
  if (route === null) return [...global];
  if (route.disable) return [];
  const out = [...global];
  for (const entry of route.entries) {
    const i = out.findIndex((h) => h.lname === entry.lname);
    if (i >= 0) out[i] = entry;
    else out.push(entry);
  }
  return out;
}
