// The global options: everything in Config except the routes. Defaults are
// Pomerium's (pom:config/options.go defaultOptions) unless noted.
import { resolveControlSocketPath } from '../control/socket-path.js';
import { claimHeaderNameProblem, claimHeadersFromList, splitClaimList } from '../identity/claim-headers.js';
import { parseSigningKeys } from '../identity/signing-keys.js';
import { isLoopbackHost } from '../net/loopback.js';
import { parseAddress } from './address.js';
import { decodeCaBundle, decodeServerCertificates } from './certificates.js';
import { decodeDatabroker } from './databroker.js';
import { decodeEnum } from './enum.js';
import { readBool, readDurationMs, readList, readString, readStringList, readStringMap, readUint32, type Options } from './fields.js';
import type { Findings, Located } from './findings.js';
import { globalResponseHeaders, isFieldValue, isToken, readHeaderMap } from './headers.js';
import { decodeCookieSecret, decodeIdpClientSecret, decodeSharedSecret, valueOrFile } from './secrets.js';
import type {
  CertificatePair,
  ClaimHeader,
  Config,
  CookieOptions,
  HeaderEntry,
  IdpOptions,
  JwtIssuerFormat,
  ListenAddress,
  LogLevel,
  SameSite,
} from './types.js';

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
function parseWebUrl(text: string): URL | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? url : null;
}

/** A typed option, or the fallback when it is absent or invalid (the problem is recorded). */
function readOr<T>(f: Findings, loc: Located | undefined, read: (f: Findings, loc: Located) => T | undefined, fallback: T): T {
  if (loc === undefined) return fallback;
  const value = read(f, loc);
  return value === undefined ? fallback : value;
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

function decodeAddress(f: Findings, options: Options, insecureServer: boolean): ListenAddress {
  const defaultPort = insecureServer ? 80 : 443;
  const loc = options.get('address');
  const text = loc === undefined ? undefined : readString(f, loc);
  if (loc === undefined || text === undefined || text === '') return { host: '', port: defaultPort };
  const parsed = parseAddress(text, defaultPort);
  if (parsed.ok) return parsed.value;
  f.error(loc, parsed.error);
  return { host: '', port: defaultPort };
}

function checkServices(f: Findings, options: Options): void {
  const loc = options.get('services');
  const text = loc === undefined ? undefined : readString(f, loc);
  if (loc !== undefined && text !== undefined && text !== 'all' && text !== '') {
    f.error(loc, 'not supported yet by this version of Postern: it runs every service in one process (services: all)');
  }
}

/** A string option checked by `valid`; the fallback when absent or invalid. */
function readChecked(f: Findings, loc: Located | undefined, fallback: string, valid: (text: string) => boolean, message: (text: string) => string): string {
  if (loc === undefined) return fallback;
  const text = readString(f, loc);
  if (text === undefined) return fallback;
  if (valid(text)) return text;
  f.error(loc, message(text));
  return fallback;
}

function decodeCookie(f: Findings, options: Options, dir: string, configFile: string): CookieOptions {
  const name = readChecked(f, options.get('cookie_name'), '_pomerium', isToken, () => 'must be a valid cookie name (an RFC 6265 token)');
  const domain = readChecked(
    f,
    options.get('cookie_domain'),
    '',
    (text) => isFieldValue(text) && !/[\s;,]/.test(text),
    () => 'must be a domain name (no spaces, semicolons, commas or control characters)',
  );
  const sameSite = readChecked(
    f,
    options.get('cookie_same_site'),
    '',
    (text) => SAME_SITE.has(text.toLowerCase()),
    (text) => `must be lax, strict, none or empty, not ${JSON.stringify(text)}`,
  ).toLowerCase() as SameSite;
  const expireLoc = options.get('cookie_expire');
  let expireMs = readOr(f, expireLoc, readDurationMs, 14 * HOUR);
  if (expireMs === 0) {
    f.error(expireLoc as Located, 'must be longer than 0');
    expireMs = 14 * HOUR;
  }
  const secret = decodeCookieSecret(f, options, dir, configFile);
  return {
    name,
    domain,
    httpOnly: readOr(f, options.get('cookie_http_only'), readBool, true),
    sameSite,
    expireMs,
    secret: secret.secret,
    secretGenerated: secret.generated,
  };
}

function decodeLogLevel(f: Findings, loc: Located | undefined): LogLevel {
  const text = readChecked(
    f,
    loc,
    '',
    (t) => parseLogLevel(t) !== null,
    (t) => `unknown log level ${JSON.stringify(t)} (trace, debug, info, warn, error, critical, fatal, panic, off)`,
  );
  return parseLogLevel(text) ?? 'info';
}

/**
 * Server certificates: required unless insecure_server; with insecure_server
 * they are still checked, but not served.
 */
function decodeCertificates(f: Findings, options: Options, dir: string, configFile: string, insecureServer: boolean): { served: CertificatePair[]; configured: boolean } {
  const configured = CERTIFICATE_KEYS.some((k) => options.get(k) !== undefined);
  const certificates = decodeServerCertificates(f, options, dir);
  if (!insecureServer && !configured) {
    f.errorAt(
      { file: configFile, line: 0, key: 'certificates' },
      'no server certificate: set certificate_file and certificate_key_file (or certificate and certificate_key, or certificates), or set insecure_server: true',
    );
  }
  if (insecureServer && configured) {
    const first = CERTIFICATE_KEYS.map((k) => options.get(k)).find((loc) => loc !== undefined) as Located;
    f.warn(first, 'insecure_server is set: the certificates are checked but not served');
  }
  return { served: insecureServer ? [] : certificates, configured };
}

export function decodeGlobal(f: Findings, options: Options, configFile: string, dir: string): { global: GlobalConfig; defaults: RouteDefaults } {
  const insecureServer = readOr(f, options.get('insecure_server'), readBool, false);
  checkServices(f, options);
  const certificates = decodeCertificates(f, options, dir, configFile, insecureServer);
  const shared = decodeSharedSecret(f, options, dir, configFile);
  const headersLoc = options.get('set_response_headers');
  const headerMap = headersLoc === undefined ? null : (readHeaderMap(f, headersLoc, true) ?? null);
  // Pomerium keys HSTS on configured certificates (HasCertificates), not on the listener.
  const responseHeaders = globalResponseHeaders(headerMap, certificates.configured);
  const defaultUpstreamTimeoutMs = readOr(f, options.get('default_upstream_timeout'), readDurationMs, 30_000);

  const global: GlobalConfig = {
    address: decodeAddress(f, options, insecureServer),
    insecureServer,
    defaultCertificate: certificates.served[0] ?? null,
    certificates: certificates.served,
    sharedSecret: shared.secret,
    sharedSecretGenerated: shared.generated,
    cookie: decodeCookie(f, options, dir, configFile),
    logLevel: decodeLogLevel(f, options.get('log_level')),
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
    signingKeys: decodeSigningKeys(f, options, dir),
    jwtClaimsHeaders: decodeClaimHeaders(f, options.get('jwt_claims_headers')),
    jwtIssuerFormat: decodeIssuerFormat(f, options.get('jwt_issuer_format')) ?? 'hostOnly',
    programmaticRedirectDomains: decodeProgrammaticDomains(f, options),
    controlSocket: decodeControlSocket(f, options, configFile),
    databroker: decodeDatabroker(f, options, dir),
  };
  return { global, defaults: { dir, defaultUpstreamTimeoutMs, responseHeaders } };
}

function decodeIdp(f: Findings, options: Options, dir: string): IdpOptions {
  const provider = readChecked(
    f,
    options.get('idp_provider'),
    '',
    (text) => text === '' || IDP_PROVIDERS.has(text),
    (text) => `unknown identity provider ${JSON.stringify(text)} (one of: ${[...IDP_PROVIDERS].join(', ')})`,
  );
  const providerLoc = options.get('idp_provider_url');
  const providerUrl = readUrl(f, providerLoc);
  if (providerUrl !== null && providerUrl.url.protocol === 'http:' && !isLoopbackHost(providerUrl.url.hostname)) {
    // Tokens and codes would cross the network in clear text.
    f.error(providerLoc!, 'must be an https:// URL (plain http is accepted only on loopback addresses)');
  }
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

function decodeProgrammaticDomains(f: Findings, options: Options): string[] {
  const loc = options.get('programmatic_redirect_domain_whitelist');
  const list = loc === undefined ? undefined : readStringList(f, loc);
  if (list === undefined || list.length === 0) return ['localhost'];
  return list.map((d) => d.trim().toLowerCase()).filter((d) => d !== '');
}

/**
 * The control socket: `control_socket`, else $RUNTIME_DIRECTORY/postern.sock
 * (systemd), else `.postern.sock` beside the configuration file, so that the
 * CLI finds the proxy from the same --config without further options. The
 * rule lives in control/socket-path.ts, which the CLI uses too.
 */
function decodeControlSocket(f: Findings, options: Options, configFile: string): string {
  const loc = options.get('control_socket');
  const configured = loc === undefined ? undefined : readString(f, loc);
  return resolveControlSocketPath(configured ?? null, configFile, process.env);
}

/**
 * `signing_key` / `signing_key_file`: PEM private keys (or their base64),
 * each checked now so a bad key stops start-up rather than every request.
 * Unset (or an empty signing_key) means a key derived from shared_secret.
 */
function decodeSigningKeys(f: Findings, options: Options, dir: string): string[] {
  const value = valueOrFile(f, options, 'signing_key', dir);
  if (value === undefined || value === null || (!value.fromFile && value.text.trim() === '')) return [];
  if (value.text.trim() === '') {
    f.error(value.loc, 'the file is empty');
    return [];
  }
  const parsed = parseSigningKeys(value.text);
  if (!parsed.ok) {
    f.error(value.loc, parsed.error);
    return [];
  }
  return parsed.keys.map((k) => k.pem);
}

/**
 * `jwt_claims_headers`: a map of header name → claim, or a list of claims
 * (YAML list, or a string separated by commas or spaces) each sent as
 * `x-pomerium-claim-<claim>` (pom:config/custom.go JWTClaimHeaders).
 */
function decodeClaimHeaders(f: Findings, loc: Located | undefined): ClaimHeader[] {
  if (loc === undefined) return [];
  const { node } = loc;
  const entries: { header: ClaimHeader; at: Located }[] = [];
  if (node.kind === 'map' || (node.kind === 'scalar' && typeof node.value === 'string' && node.value.trimStart().startsWith('{'))) {
    const pairs = readStringMap(f, loc);
    if (pairs === undefined) return [];
    for (const p of pairs) entries.push({ header: { name: p.name, lname: p.name.toLowerCase(), claim: p.value }, at: p.loc });
  } else if (node.kind === 'list') {
    const items = readList(f, loc) ?? [];
    for (const item of items) {
      const claim = readString(f, item);
      if (claim !== undefined) entries.push({ header: claimHeadersFromList([claim])[0] as ClaimHeader, at: item });
    }
  } else {
    const text = readString(f, loc);
    if (text === undefined) return [];
    for (const header of claimHeadersFromList(splitClaimList(text))) entries.push({ header, at: loc });
  }
  const out: ClaimHeader[] = [];
  const seen = new Set<string>();
  for (const { header, at } of entries) {
    const problem = header.claim === '' ? 'must name a claim' : claimHeaderNameProblem(header.name);
    if (problem !== null) f.error(at, `${header.name}: ${problem}`);
    else if (seen.has(header.lname)) f.error(at, `${header.name} is set more than once (header names are case-insensitive)`);
    else {
      seen.add(header.lname);
      out.push(header);
    }
  }
  return out;
}

// Proto enum order (pom:pkg/grpc/config/config.proto IssuerFormat).
const ISSUER_FORMATS = ['IssuerHostOnly', 'IssuerURI'];

/** `jwt_issuer_format` (global or route): `hostOnly` or `uri`, as Pomerium decodes its enum; undefined when absent or invalid. */
export function decodeIssuerFormat(f: Findings, loc: Located | undefined): JwtIssuerFormat | undefined {
  if (loc === undefined) return undefined;
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  const name = decodeEnum(text, ISSUER_FORMATS);
  if (name === null) {
    f.error(loc, `unknown issuer format ${JSON.stringify(text)} (hostOnly or uri)`);
    return undefined;
  }
  return name === 'IssuerURI' ? 'uri' : 'hostOnly';
}
