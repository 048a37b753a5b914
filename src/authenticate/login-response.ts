// A request without a session: redirect to sign-in, or answer 401? Only a
// browser navigating to a page can follow a redirect to the identity
// provider and come back; everything else (fetch, XHR, API clients,
// WebSockets) would receive an HTML login page it cannot use, or fail CORS
// on the provider's domain (Pomerium #281, #2176, PRs #2264 and #6688).
import { isPomeriumAuthorization } from '../proxy/clean-upstream.js';
import { SERVICE_ACCOUNT_TOKEN_PREFIX } from './service-account-token.js';

const SP = 0x20;
const HTAB = 0x09;
const STAR = 0x2a;
const DOT = 0x2e;

// Pomerium's candidates, in its order (pom:authorize/check_response.go
// shouldRedirect): a redirect only when text/html is the most acceptable.
const CANDIDATES = ['text/html', 'application/json', 'text/plain', 'application/grpc-web-text', 'application/grpc-web+proto', 'application/grpc+proto'].map(
  (t) => {
    const slash = t.indexOf('/');
    return { type: t.slice(0, slash), subtype: t.slice(slash + 1) };
  },
);
const HTML = 0;

// Per-candidate negotiation state, reused across calls (single-threaded, not
// re-entrant): the quality from the most specific matching range so far, that
// range's specificity (-1 = none, 0 = */*, 1 = type/*, 2 = type/subtype) and
// its position in the header.
const quality = new Float64Array(CANDIDATES.length);
const specificity = new Int8Array(CANDIDATES.length);
const position = new Int32Array(CANDIDATES.length);
let rangeCount = 0;

/**
 * Whether a request without a session gets 302 to sign-in (true) or 401.
 * `headers` are pairs as in ProxyRequest.headers (names lower-case).
 *
 * True only when all of these hold:
 * - the method is GET or HEAD. A POST (or any other method) gets 401: the
 *   browser would come back from sign-in with a GET, so the body and the
 *   method are lost and the request cannot be completed by redirecting; and a
 *   cross-site form POST should not be able to start a login. (gRPC, which
 *   Pomerium also never redirects, is always POST.);
 * - no `X-Requested-With: XMLHttpRequest`;
 * - no `Sec-Fetch-Mode`, or `Sec-Fetch-Mode: navigate` (fetch() and
 *   subresources send cors, no-cors, same-origin or websocket);
 * - no `Upgrade` header (WebSocket and other protocol switches);
 * - no credential of ours in a header (`Authorization: Pomerium …`,
 *   `Authorization: Bearer Pomerium-…`, `X-Pomerium-Authorization`, or a
 *   service-account token as a bearer): that client is a program whose
 *   credential was refused, and a login page would hide the reason. (A
 *   `pomerium_session` query parameter is the caller's to check: it is not
 *   in the headers.);
 * - Pomerium's rule: of text/html, application/json, text/plain and the three
 *   gRPC types, text/html is the most acceptable by `Accept`. A missing
 *   `Accept`, or one that accepts none of them, counts as a browser, as in
 *   Pomerium; so does curl's bare wildcard, which then gets a harmless 302.
 *
 * The negotiation follows RFC 9110 §12.5.1: each candidate takes the quality
 * of the most specific range that matches it, q=0 means "not acceptable", and
 * a range with media-type parameters (`text/html;level=1`) matches none of
 * these parameterless types. Ties go, as in Pomerium, to the more specific
 * range, then to the range listed first (`application/json, text/html` is a
 * JSON client), then to the candidate listed first (so a bare wildcard
 * picks text/html). Malformed ranges are skipped. Where Pomerium's parser
 * differs it is wrong by the RFC: it ranks ranges by q plus a specificity
 * bonus, so text/html at q=0.9 with a wildcard at q=1 redirects there; it
 * reads q=0 as 1; and one malformed range makes it ignore the whole header.
 * Real browsers' Accept headers decide the same either way.
 */
export function wantsLoginRedirect(method: string, headers: readonly string[]): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    switch (name) {
      case 'x-requested-with':
        if (trimmedEqualsLower(value, 'xmlhttprequest')) return false;
        break;
      case 'sec-fetch-mode':
        if (!trimmedEqualsLower(value, 'navigate')) return false;
        break;
      case 'upgrade':
      case 'x-pomerium-authorization':
        return false;
      case 'authorization':
        if (isPomeriumAuthorization(value) || isServiceAccountBearer(value)) return false;
        break;
    }
  }
  return htmlIsMostAcceptable(headers);
}

function htmlIsMostAcceptable(headers: readonly string[]): boolean {
  const first = headerIndex(headers, 'accept');
  if (first === -1) return true;
  // Browsers list a bare text/html first: q=1 from an exact range in first
  // position, which nothing after it can beat.
  if (leadsWithBareHtml(headers[first + 1])) return true;
  quality.fill(0);
  specificity.fill(-1);
  rangeCount = 0;
  for (let i = first; i < headers.length; i += 2) {
    if (headers[i] === 'accept') negotiate(headers[i + 1]);
  }
  let best = -1;
  for (let c = 0; c < CANDIDATES.length; c++) {
    if (quality[c] > 0 && (best === -1 || preferred(c, best))) best = c;
  }
  return best === -1 || best === HTML;
}

/** Higher quality wins; on a tie the more specific range, then the range listed first, then the earlier candidate. */
function preferred(c: number, over: number): boolean {
  if (quality[c] !== quality[over]) return quality[c] > quality[over];
  if (specificity[c] !== specificity[over]) return specificity[c] > specificity[over];
  return position[c] < position[over];
}

function headerIndex(headers: readonly string[], name: string): number {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return i;
  return -1;
}

/** Whether the value starts with the range `text/html` (any case, no parameters) followed by a comma or its end. */
function leadsWithBareHtml(accept: string): boolean {
  let i = 0;
  while (i < accept.length && isOws(accept.charCodeAt(i))) i++;
  if (!equalsLower(accept, i, i + 9, 'text/html')) return false;
  i += 9;
  while (i < accept.length && isOws(accept.charCodeAt(i))) i++;
  return i === accept.length || accept.charCodeAt(i) === 0x2c;
}

/** Feeds one Accept value (a comma-separated list of media ranges) into the per-candidate state. */
function negotiate(accept: string): void {
  const n = accept.length;
  let i = 0;
  while (i < n) {
    let end = accept.indexOf(',', i);
    if (end === -1) end = n;
    rangeInto(accept, i, end);
    i = end + 1;
  }
}

/** One media range accept[start, end): `type/subtype *( OWS ; OWS param )`. */
function rangeInto(s: string, start: number, end: number): void {
  let paramsAt = s.indexOf(';', start);
  if (paramsAt === -1 || paramsAt > end) paramsAt = end;
  let typeStart = start;
  while (typeStart < paramsAt && isOws(s.charCodeAt(typeStart))) typeStart++;
  let subtypeEnd = paramsAt;
  while (subtypeEnd > typeStart && isOws(s.charCodeAt(subtypeEnd - 1))) subtypeEnd--;
  const slash = s.indexOf('/', typeStart);
  if (slash === -1 || slash >= subtypeEnd || slash === typeStart || slash === subtypeEnd - 1) return;
  const anyType = slash - typeStart === 1 && s.charCodeAt(typeStart) === STAR;
  const anySubtype = subtypeEnd - slash === 2 && s.charCodeAt(slash + 1) === STAR;
  if (anyType && !anySubtype) return;

  // Parameters: those before q are media-type parameters; after q come
  // accept extensions, which do not change what the range matches.
  let q = 1;
  let hasMediaParams = false;
  let seenQ = false;
  let p = paramsAt;
  while (p < end) {
    let next = s.indexOf(';', p + 1);
    if (next === -1 || next > end) next = end;
    const eq = s.indexOf('=', p + 1);
    if (eq !== -1 && eq < next && !seenQ && isQName(s, p + 1, eq)) {
      q = qvalue(s, eq + 1, next);
      if (q < 0) return;
      seenQ = true;
    } else if (!seenQ && !isBlank(s, p + 1, next)) {
      hasMediaParams = true;
    }
    p = next;
  }
  if (hasMediaParams) return;

  const level = anyType ? 0 : anySubtype ? 1 : 2;
  const at = rangeCount++;
  for (let c = 0; c < CANDIDATES.length; c++) {
    if (level <= specificity[c]) continue;
    const { type, subtype } = CANDIDATES[c];
    if (!anyType && !equalsLower(s, typeStart, slash, type)) continue;
    if (!anySubtype && !equalsLower(s, slash + 1, subtypeEnd, subtype)) continue;
    specificity[c] = level;
    quality[c] = q;
    position[c] = at;
  }
}

function isQName(s: string, start: number, end: number): boolean {
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return end - start === 1 && (s.charCodeAt(start) | 0x20) === 0x71;
}

/** RFC 9110 qvalue `0[.ddd]` or `1[.000]` in s[start, end), OWS allowed around it; -1 when malformed. */
function qvalue(s: string, start: number, end: number): number {
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  const len = end - start;
  if (len < 1 || len > 5) return -1;
  const lead = s.charCodeAt(start);
  if (lead !== 0x30 && lead !== 0x31) return -1;
  if (len === 1) return lead - 0x30;
  if (s.charCodeAt(start + 1) !== DOT) return -1;
  let fraction = 0;
  let scale = 1;
  for (let i = start + 2; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    fraction = fraction * 10 + d;
    scale *= 10;
  }
  if (lead === 0x31) return fraction === 0 ? 1 : -1;
  return fraction / scale;
}

/** ASCII case-insensitive s[start, end) === lower. */
function equalsLower(s: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const c = s.charCodeAt(start + k);
    const e = lower.charCodeAt(k);
    if (c !== e && !(e >= 0x61 && e <= 0x7a && c === e - 0x20)) return false;
  }
  return true;
}

function trimmedEqualsLower(value: string, lower: string): boolean {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return equalsLower(value, start, end, lower);
}

function isBlank(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isOws(s.charCodeAt(i))) return false;
  return true;
}

/** `Bearer pst_sa_…`: a service-account token (scheme case-insensitive). */
function isServiceAccountBearer(value: string): boolean {
  let i = 0;
  while (i < value.length && isOws(value.charCodeAt(i))) i++;
  if (!equalsLower(value, i, i + 6, 'bearer')) return false;
  i += 6;
  if (i >= value.length || !isOws(value.charCodeAt(i))) return false;
  while (i < value.length && isOws(value.charCodeAt(i))) i++;
  return value.startsWith(SERVICE_ACCOUNT_TOKEN_PREFIX, i);
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}
