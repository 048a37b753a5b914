// Which body an error response gets, picked as Pomerium picks the format of
// its local replies (config/envoyconfig/luascripts/local-reply-type.lua):
//
// 1. a request Content-Type starting with `application/grpc` → grpc;
// 2. otherwise the Accept elements, best weight first and, among equal
//    weights, in the order sent; the first that is `text/html` or `text/*`
//    → html, `text/plain` → plain, `application/json` or `application/*` →
//    json; elements of other types are passed over;
// 3. nothing matched (no Accept, `*/*`, `image/png`, …) → html.
//
// Like Pomerium, a weight of 0 still counts (it only sorts last). Where
// Pomerium's script reads bytes too literally we follow RFC 9110 instead,
// because its answer there is an accident, not a choice:
// - optional whitespace around elements and parameters is ignored (the
//   script keeps it, so `application/xml, application/json` never matched
//   the JSON element) and media types and the `q` parameter name compare
//   ignoring ASCII case;
// - the weight is the `q` parameter's own value (the script reads from `q=`
//   to the end of the element, so `q=0.5;ext=1` was not a number), and it
//   is a number only when written as a plain decimal, the shape of an RFC
//   qvalue (the script's `tonumber` also took `-1`, `1e0` and `0x1`).
// A weight that is not a number is handled as the script's sort handles
// one: when the header mixes such weights with numeric ones the sort
// throws, Envoy skips the script and the reply is HTML; when no weight is a
// number, the order sent decides.

export type ErrorFormat = 'html' | 'json' | 'plain' | 'grpc';

const SP = 0x20;
const HTAB = 0x09;

function isWhitespace(c: number): boolean {
  return c === SP || c === HTAB;
}

/** True when s[start, end) equals the lower-case ASCII `lower`, ignoring ASCII case. */
function rangeEquals(s: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = s.charCodeAt(start + i);
    const folded = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (folded !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The format a media range asks for, or undefined when it names none of ours. s[start, end) is trimmed. */
function formatOf(s: string, start: number, end: number): ErrorFormat | undefined {
  if (rangeEquals(s, start, end, 'text/html') || rangeEquals(s, start, end, 'text/*')) return 'html';
  if (rangeEquals(s, start, end, 'text/plain')) return 'plain';
  if (rangeEquals(s, start, end, 'application/json') || rangeEquals(s, start, end, 'application/*')) return 'json';
  return undefined;
}

/** A decimal number (`1`, `0.8`, `.5`, `1.`), else NaN. Signs, exponents and hex are not weights. */
function parseWeight(s: string, start: number, end: number): number {
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && dots === 0) dots++;
    else return NaN;
  }
  return digits === 0 ? NaN : Number(s.slice(start, end));
}

/**
 * The weight of the element whose parameters are s[start, end) (starting
 * after the media range): the value of its `q` parameter, 1 without one,
 * NaN when that value is not a number.
 */
function weightOf(s: string, start: number, end: number): number {
  let p = start;
  while (p < end) {
    // s[p] is the ';' before a parameter.
    let next = s.indexOf(';', p + 1);
    if (next < 0 || next > end) next = end;
    const eq = s.indexOf('=', p + 1);
    if (eq >= 0 && eq < next) {
      let nameStart = p + 1;
      let nameEnd = eq;
      while (nameStart < nameEnd && isWhitespace(s.charCodeAt(nameStart))) nameStart++;
      while (nameEnd > nameStart && isWhitespace(s.charCodeAt(nameEnd - 1))) nameEnd--;
      if (rangeEquals(s, nameStart, nameEnd, 'q')) {
        let valueStart = eq + 1;
        let valueEnd = next;
        while (valueStart < valueEnd && isWhitespace(s.charCodeAt(valueStart))) valueStart++;
        while (valueEnd > valueStart && isWhitespace(s.charCodeAt(valueEnd - 1))) valueEnd--;
        return parseWeight(s, valueStart, valueEnd);
      }
    }
    p = next;
  }
  return 1;
}

function startsWithIgnoringCase(s: string, lower: string): boolean {
  return s.length >= lower.length && rangeEquals(s, 0, lower.length, lower);
}

/** The error body format for a request with these Accept and Content-Type header values. */
export function errorFormat(accept: string | undefined, contentType: string | undefined): ErrorFormat {
  if (contentType !== undefined && startsWithIgnoringCase(contentType, 'application/grpc')) return 'grpc';
  if (accept === undefined) return 'html';

  // The best numeric-weight match (highest weight, earliest on ties), and
  // the first match among elements whose weight is not a number.
  let best: ErrorFormat | undefined;
  let bestWeight = -1;
  let firstUnweighted: ErrorFormat | undefined;
  let numericWeights = 0;
  let badWeights = 0;

  const n = accept.length;
  let start = 0;
  while (start <= n) {
    let end = accept.indexOf(',', start);
    if (end < 0) end = n;
    let rangeEnd = accept.indexOf(';', start);
    if (rangeEnd < 0 || rangeEnd > end) rangeEnd = end;

    let rangeStart = start;
    let trimmedEnd = rangeEnd;
    while (rangeStart < trimmedEnd && isWhitespace(accept.charCodeAt(rangeStart))) rangeStart++;
    while (trimmedEnd > rangeStart && isWhitespace(accept.charCodeAt(trimmedEnd - 1))) trimmedEnd--;
    const format = formatOf(accept, rangeStart, trimmedEnd);
    const weight = rangeEnd < end ? weightOf(accept, rangeEnd, end) : 1;

    if (Number.isNaN(weight)) {
      badWeights++;
      if (firstUnweighted === undefined) firstUnweighted = format;
    } else {
      numericWeights++;
      if (format !== undefined && weight > bestWeight) {
        best = format;
        bestWeight = weight;
      }
    }
    start = end + 1;
  }

  if (badWeights === 0) return best ?? 'html';
  if (numericWeights === 0) return firstUnweighted ?? 'html';
  return 'html';
}
