// `/.well-known/pomerium` and `/.well-known/pomerium/jwks.json` on every
// route host (reference §3; pom:internal/handlers/well_known_pomerium.go,
// jwks.go): where an upstream finds the keys that verify
// X-Pomerium-Jwt-Assertion. Both are public and CORS allow-all (rs/cors
// AllowAll). Pure: the caller writes the answer.
import { joinedHeader } from '../proxy/request.js';
import type { SigningKey } from './signing-keys.js';

export const WELL_KNOWN_PATH = '/.well-known/pomerium';
export const JWKS_PATH = '/.well-known/pomerium/jwks.json';

export interface EndpointResponse {
  readonly status: number;
  /** Flat `[name, value, …]`, names lower-case. */
  readonly headers: readonly string[];
  /** '' for 204 and 304. */
  readonly body: string;
}

/** The JWKS document, built once per key set. */
export interface PublishedJwks {
  readonly body: string;
  /** Quoted hex FNV-1 64 of the body, as Pomerium computes it. */
  readonly etag: string;
}

/** Public keys only: every configured key (or the derived one), the signing key first. */
export function publishJwks(keys: readonly SigningKey[]): PublishedJwks {
  const body = JSON.stringify({ keys: keys.map((k) => k.jwk) });
  return { body, etag: `"${fnv1Hex64(body)}"` };
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** Go's hash/fnv New64 (FNV-1: multiply, then xor) over the UTF-8 bytes, as lower-case hex without leading zeros. */
function fnv1Hex64(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text)) hash = ((hash * FNV_PRIME) & MASK_64) ^ BigInt(byte);
  return hash.toString(16);
}

/** rs/cors AllowAll's methods: a preflight for another method gets no Allow-Methods. */
const CORS_METHODS: ReadonlySet<string> = new Set(['HEAD', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

function isPreflight(method: string, headers: readonly string[]): boolean {
  return method === 'OPTIONS' && joinedHeader(headers, 'access-control-request-method') !== '';
}

/** A CORS preflight's answer: 204, everything allowed, no credentials. */
function preflightResponse(headers: readonly string[]): EndpointResponse {
  const out = ['vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'];
  const method = joinedHeader(headers, 'access-control-request-method').toUpperCase();
  if (joinedHeader(headers, 'origin') !== '' && CORS_METHODS.has(method)) {
    out.push('access-control-allow-origin', '*', 'access-control-allow-methods', method);
    const requested = joinedHeader(headers, 'access-control-request-headers');
    if (requested !== '') out.push('access-control-allow-headers', requested);
  }
  return { status: 204, headers: out, body: '' };
}

/** The CORS headers of an actual request. */
function corsHeaders(headers: readonly string[]): string[] {
  return joinedHeader(headers, 'origin') === '' ? ['vary', 'Origin'] : ['vary', 'Origin', 'access-control-allow-origin', '*'];
}

/**
 * `/.well-known/pomerium` (and with a trailing slash), any method. URLs are
 * https on the authority the request named, as in Pomerium; the callback is
 * '' when Postern runs no authenticate service.
 */
export function wellKnownPomeriumResponse(authority: string, authenticateUrl: URL | null, method: string, headers: readonly string[]): EndpointResponse {
  if (isPreflight(method, headers)) return preflightResponse(headers);
  const base = `https://${authority}`;
  const body =
    JSON.stringify({
      issuer: `${base}/`,
      authentication_callback_endpoint: authenticateUrl === null ? '' : new URL('/oauth2/callback', authenticateUrl).href,
      jwks_uri: base + JWKS_PATH,
      frontchannel_logout_uri: `${base}/.pomerium/sign_out`,
    }) + '\n';
  return {
    status: 200,
    headers: ['content-type', 'application/json', 'x-content-type-options', 'nosniff', ...corsHeaders(headers)],
    body,
  };
}

/** `/.well-known/pomerium/jwks.json`: cacheable for a minute, 304 for a matching If-None-Match. */
export function jwksResponse(jwks: PublishedJwks, method: string, headers: readonly string[]): EndpointResponse {
  if (isPreflight(method, headers)) return preflightResponse(headers);
  const out = ['content-type', 'application/json', 'cache-control', 'max-age=60', 'etag', jwks.etag, ...corsHeaders(headers)];
  if ((method === 'GET' || method === 'HEAD') && etagMatches(joinedHeader(headers, 'if-none-match'), jwks.etag)) {
    return { status: 304, headers: out, body: '' };
  }
  return { status: 200, headers: out, body: jwks.body };
}

/** RFC 9110 §13.1.2 If-None-Match: `*` or a list of entity tags, compared weakly. */
function etagMatches(header: string, etag: string): boolean {
  if (header === '') return false;
  for (const raw of header.split(',')) {
    const tag = raw.trim();
    if (tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) return true;
  }
  return false;
}
