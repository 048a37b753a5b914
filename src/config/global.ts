// The global options: everything in Config except the routes. Defaults are
// Pomerium's (pom:config/options.go defaultOptions) unless noted.
import { parseAddress } from './address.js';
import { decodeCaBundle, decodeServerCertificates } from './certificates.js';
import { readBool, readDurationMs, readString, readStringList, readStringMap, readUint32, type Options } from './fields.js';
import type { Findings, Located } from './findings.js';
import { globalResponseHeaders, isFieldValue, isToken, readHeaderMap } from './headers.js';
import { decodeCookieSecret, decodeIdpClientSecret, decodeSharedSecret } from './secrets.js';
import type { Config, HeaderEntry, IdpOptions, LogLevel, SameSite } from './types.js';

export type GlobalConfig = Omit<Config, 'file' | 'routes'>;

/** What every route inherits from the global options. */
export interface RouteDefaults {
  /** Directory of the config file: relative `*_file` paths start here. */
  readonly dir: string;
  readonly defaultUpstreamTimeoutMs: number;
  readonly responseHeaders: readonly HeaderEntry[];
}

// pom:config/log_level.go, mapped onto pino's levels.
const LOG_LEVELS: ReadonlyMap<string, LogLevel> = new Map([
  ['', 'info'],
  ['trace', 'trace'],
  ['debug', 'debug'],
  ['info', 'info'],
  ['warn', 'warn'],
  ['warning', 'warn'],
  ['error', 'error'],
  ['critical', 'fatal'],
  ['fatal', 'fatal'],
  ['panic', 'fatal'],
  ['off', 'silent'],
  ['none', 'silent'],
  ['disabled', 'silent'],
]);

export function parseLogLevel(text: string): LogLevel | null {
  return LOG_LEVELS.get(text.toLowerCase()) ?? null;
}

const SAME_SITE: ReadonlySet<string> = new Set(['', 'lax', 'strict', 'none']);

// pom:pkg/identity/providers.go registry.
const IDP_PROVIDERS: ReadonlySet<string> = new Set([
  'apple',
  'auth0',
  'azure',
  'cognito',
  'github',
  'gitlab',
  'google',
  'hosted',
  'oidc',
  'okta',
  'onelogin',
  'ping',
]);

// pom:pkg/identity/oidc/oidc.go; Google refuses offline_access (pom:pkg/identity/oidc/google).
const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const GOOGLE_SCOPES = ['openid', 'profile', 'email'];

const CERTIFICATE_KEYS = ['certificate', 'certificate_key', 'certificate_file', 'certificate_key_file', 'certificates'];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** An absolute http(s) URL (Pomerium's ParseAndValidateURL, narrowed to the schemes a browser is sent to). */
export function parseWebUrl(text: string): URL | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? url : null;
}

function withDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

function readOr<T>(f: Findings, loc: Located | undefined, read: (f: Findings, loc: Located) => T | undefined, fallback: T): T {
  return loc === undefined ? fallback : withDefault(read(f, loc), fallback);
}

/** A URL option, checked; `text` is kept as written (an OIDC issuer is compared as a string). */
function readUrl(f: Findings, loc: Located | undefined): { url: URL; text: string } | null {
  if (loc === undefined) return null;
  const text = readString(f, loc);
  if (text === undefined || text === '') return null;
  const url = parseWebUrl(text);
  if (url === null) f.error(loc, 'must be an absolute http:// or https:// URL');
  return url === null ? null : { url, text };
}

export function decodeGlobal(f: Findings, options: Options, configFile: string, dir: string): { global: GlobalConfig; defaults: RouteDefaults } {
  const insecureServer = readOr(f, options.get('insecure_server'), readBool, false);
  const defaultPort = insecureServer ? 80 : 443;
  let address = { host: '', port: defaultPort };
  const addressLoc = options.get('address');
  const addressText = addressLoc === undefined ? undefined : readString(f, addressLoc);
  if (addressLoc !== undefined && addressText !== undefined && addressText !== '') {
    const parsed = parseAddress(addressText, defaultPort);
    if (parsed.ok) address = parsed.value;
    else f.error(addressLoc, parsed.error);
  }

  const services = options.get('services');
  const servicesText = services === undefined ? undefined : readString(f, services);
  if (services !== undefined && servicesText !== undefined && servicesText !== 'all' && servicesText !== '') {
    f.error(services, 'not supported yet by this version of Postern: it runs every service in one process (services: all)');
  }

  const configuredCertificates = CERTIFICATE_KEYS.some((k) => options.get(k) !== undefined);
  const certificates = decodeServerCertificates(f, options, dir);
  if (!insecureServer && !configuredCertificates) {
    f.errorAt(
      { file: configFile, line: 0, key: 'certificates' },
      'no server certificate: set certificate_file and certificate_key_file (or certificate and certificate_key, or certificates), or set insecure_server: true',
    );
  }
  if (insecureServer && configuredCertificates) {
    const first = CERTIFICATE_KEYS.map((k) => options.get(k)).find((loc) => loc !== undefined) as Located;
    f.warn(first, 'insecure_server is set: the certificates are checked but not served');
  }

  const shared = decodeSharedSecret(f, options, dir, configFile);
  const cookieSecret = decodeCookieSecret(f, options, dir, configFile);

  const cookieNameLoc = options.get('cookie_name');
  let cookieName = '_pomerium';
  if (cookieNameLoc !== undefined) {
    const text = readString(f, cookieNameLoc);
    if (text !== undefined && isToken(text)) cookieName = text;
    else if (text !== undefined) f.error(cookieNameLoc, 'must be a valid cookie name (an RFC 6265 token)');
  }
  const cookieDomainLoc = options.get('cookie_domain');
  let cookieDomain = '';
  if (cookieDomainLoc !== undefined) {
    const text = readString(f, cookieDomainLoc);
    if (text !== undefined && isFieldValue(text) && !/[\s;,]/.test(text)) cookieDomain = text;
    else if (text !== undefined) f.error(cookieDomainLoc, 'must be a domain name (no spaces, semicolons, commas or control characters)');
  }
  const sameSiteLoc = options.get('cookie_same_site');
  let sameSite: SameSite = '';
  if (sameSiteLoc !== undefined) {
    const text = readString(f, sameSiteLoc);
    const lower = text?.toLowerCase();
    if (lower !== undefined && SAME_SITE.has(lower)) sameSite = lower as SameSite;
    else if (text !== undefined) f.error(sameSiteLoc, `must be lax, strict, none or empty, not ${JSON.stringify(text)}`);
  }
  const cookieExpireLoc = options.get('cookie_expire');
  let cookieExpireMs = 14 * HOUR;
  if (cookieExpireLoc !== undefined) {
    const ms = readDurationMs(f, cookieExpireLoc);
    if (ms === 0) f.error(cookieExpireLoc, 'must be longer than 0');
    else if (ms !== undefined) cookieExpireMs = ms;
  }

  const logLevelLoc = options.get('log_level');
  let logLevel: LogLevel = 'info';
  if (logLevelLoc !== undefined) {
    const text = readString(f, logLevelLoc);
    const level = text === undefined ? null : parseLogLevel(text);
    if (level !== null) logLevel = level;
    else if (text !== undefined) {
      f.error(logLevelLoc, `unknown log level ${JSON.stringify(text)} (trace, debug, info, warn, error, critical, fatal, panic, off)`);
    }
  }

  const headersLoc = options.get('set_response_headers');
  const headerMap = headersLoc === undefined ? null : (readHeaderMap(f, headersLoc, true) ?? null);
  const responseHeaders = globalResponseHeaders(headerMap, configuredCertificates);

  const defaultUpstreamTimeoutMs = readOr(f, options.get('default_upstream_timeout'), readDurationMs, 30_000);

  const global: GlobalConfig = {
    address,
    insecureServer,
    defaultCertificate: insecureServer ? null : (certificates[0] ?? null),
    certificates: insecureServer ? [] : certificates,
    sharedSecret: shared.secret,
    sharedSecretGenerated: shared.generated,
    cookie: {
      name: cookieName,
      domain: cookieDomain,
      httpOnly: readOr(f, options.get('cookie_http_only'), readBool, true),
      sameSite,
      expireMs: cookieExpireMs,
      secret: cookieSecret.secret,
      secretGenerated: cookieSecret.generated,
    },
    logLevel,
    timeoutReadMs: readOr(f, options.get('timeout_read'), readDurationMs, 30_000),
    timeoutWriteMs: readOr(f, options.get('timeout_write'), readDurationMs, 0),
    timeoutIdleMs: readOr(f, options.get('timeout_idle'), readDurationMs, 5 * MINUTE),
    defaultUpstreamTimeoutMs,
    xffNumTrustedHops: readOr(f, options.get('xff_num_trusted_hops'), readUint32, 0),
    skipXffAppend: readOr(f, options.get('skip_xff_append'), readBool, false),
    setResponseHeaders: responseHeaders,
    authenticateServiceUrl: readUrl(f, options.get('authenticate_service_url'))?.url ?? null,
    signoutRedirectUrl: readUrl(f, options.get('signout_redirect_url'))?.text ?? '',
    idp: decodeIdp(f, options, dir),
    certificateAuthority: decodeCaBundle(f, options, 'certificate_authority', dir),
    passIdentityHeaders: readOr(f, options.get('pass_identity_headers'), readBool, false),
  };
  return { global, defaults: { dir, defaultUpstreamTimeoutMs, responseHeaders } };
}

function decodeIdp(f: Findings, options: Options, dir: string): IdpOptions {
  const providerLoc = options.get('idp_provider');
  let provider = '';
  if (providerLoc !== undefined) {
    const text = readString(f, providerLoc);
    if (text !== undefined && (text === '' || IDP_PROVIDERS.has(text))) provider = text;
    else if (text !== undefined) {
      f.error(providerLoc, `unknown identity provider ${JSON.stringify(text)} (one of: ${[...IDP_PROVIDERS].join(', ')})`);
    }
  }
  const providerUrl = readUrl(f, options.get('idp_provider_url'));
  const scopesLoc = options.get('idp_scopes');
  const configuredScopes = scopesLoc === undefined ? undefined : readStringList(f, scopesLoc);
  const scopes = configuredScopes !== undefined && configuredScopes.length > 0 ? configuredScopes : provider === 'google' ? GOOGLE_SCOPES : DEFAULT_SCOPES;
  const paramsLoc = options.get('idp_request_params');
  const params = paramsLoc === undefined ? undefined : readStringMap(f, paramsLoc);
  return {
    provider,
    providerUrl: providerUrl?.text ?? '',
    clientId: readOr(f, options.get('idp_client_id'), readString, ''),
    clientSecret: decodeIdpClientSecret(f, options, dir),
    scopes,
    requestParams: Object.fromEntries((params ?? []).map((p) => [p.name, p.value])),
  };
}
