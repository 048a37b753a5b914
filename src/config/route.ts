// One route (an entry of `policy:` or `routes:`), validated into the frozen
// Route shape. Every key is checked even after a problem, so one run of
// `postern check` lists them all.
import { createHash } from 'node:crypto';
import { decodeAccess } from './access.js';
import { decodeCaBundle, decodeClientCertificate } from './certificates.js';
import { decodeEnum } from './enum.js';
import { childKey, Options, readBool, readDurationMs, readString, type Entry } from './fields.js';
import type { Findings, Located, Where } from './findings.js';
import { parseFrom } from './from.js';
import { decodeIdpClientSecret } from './secrets.js';
import { decodeIssuerFormat, type RouteDefaults } from './global.js';
import { isToken, readHeaderMap, readHeaderNames, routeResponseHeaders } from './headers.js';
import { routeKeyStatus, UNIMPLEMENTED_MESSAGE } from './keys.js';
import { compileRe2, groupCount } from './regex.js';
import type { FromUrl, LoadBalancingPolicy, RegexRewrite, RewriteResponseHeader, Route, UpstreamTarget } from './types.js';
import { parseTo } from './upstream.js';

// Proto enum order (pom:pkg/grpc/config/config.proto), which the suffix match depends on.
const LB_NAMES = [
  'LOAD_BALANCING_POLICY_UNSPECIFIED',
  'LOAD_BALANCING_POLICY_ROUND_ROBIN',
  'LOAD_BALANCING_POLICY_MAGLEV',
  'LOAD_BALANCING_POLICY_RANDOM',
  'LOAD_BALANCING_POLICY_RING_HASH',
  'LOAD_BALANCING_POLICY_LEAST_REQUEST',
];

const LB_POLICIES: ReadonlyMap<string, LoadBalancingPolicy | null> = new Map([
  ['LOAD_BALANCING_POLICY_UNSPECIFIED', 'round_robin'],
  ['LOAD_BALANCING_POLICY_ROUND_ROBIN', 'round_robin'],
  ['LOAD_BALANCING_POLICY_RANDOM', 'random'],
  ['LOAD_BALANCING_POLICY_LEAST_REQUEST', 'least_request'],
  ['LOAD_BALANCING_POLICY_MAGLEV', null],
  ['LOAD_BALANCING_POLICY_RING_HASH', null],
]);

/** Decodes a `load_balancing_policy` value; null for an unknown name; `unsupported` for the hashing policies. */
export function parseLoadBalancingPolicy(text: string): LoadBalancingPolicy | 'unsupported' | null {
  const name = decodeEnum(text, LB_NAMES);
  if (name === null) return null;
  return LB_POLICIES.get(name) ?? 'unsupported';
}

const AUTHORITY = /^[A-Za-z0-9._~!$&'()*+,;=:[\]-]+$/;

function keyWhere(entry: Entry): Where {
  return { file: entry.loc.node.file, line: entry.line, key: entry.loc.key };
}

function checkKeys(f: Findings, options: Options): void {
  for (const entry of options.entries.values()) {
    const status = routeKeyStatus(entry.name);
    if (status.kind === 'removed' || status.kind === 'unsupported') f.errorAt(keyWhere(entry), status.message);
    else if (status.kind === 'unimplemented') f.warnAt(keyWhere(entry), UNIMPLEMENTED_MESSAGE);
    else if (status.kind === 'unknown') f.warnAt(keyWhere(entry), status.message);
  }
}

/** A string option where '' means unset. */
function optionalString(f: Findings, loc: Located | undefined): string | null {
  if (loc === undefined) return null;
  const text = readString(f, loc);
  return text === undefined || text === '' ? null : text;
}

function pathOption(f: Findings, loc: Located | undefined): string | null {
  const text = optionalString(f, loc);
  if (text !== null && !text.startsWith('/')) {
    f.error(loc as Located, 'must start with /');
    return null;
  }
  return text;
}

function decodeFrom(f: Findings, options: Options, required: Where): FromUrl | undefined {
  const loc = options.get('from');
  if (loc === undefined) {
    f.errorAt(required, 'is required');
    return undefined;
  }
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  const parsed = parseFrom(text);
  if (!parsed.ok) {
    f.error(loc, parsed.error);
    return undefined;
  }
  if (parsed.value.warning !== null) f.warn(loc, parsed.value.warning);
  return parsed.value.from;
}

function decodeTo(f: Findings, options: Options, required: Where): UpstreamTarget[] {
  const loc = options.get('to');
  if (loc === undefined) {
    // Redirect and response routes have no `to`; they were refused as unsupported already.
    if (options.get('redirect') === undefined && options.get('response') === undefined) f.errorAt(required, 'is required');
    return [];
  }
  // Not readList: a string is one `url,weight` entry here, and parseTo splits it.
  const items: Located[] = loc.node.kind === 'list' ? loc.node.items.map((node, i) => ({ node, key: `${loc.key}[${i}]` })) : [loc];
  const texts: string[] = [];
  for (const item of items) texts.push(readString(f, item) ?? '');
  const parsed = parseTo(texts);
  for (const p of parsed.problems) {
    const at = p.index === null ? loc : (items[p.index] as Located);
    if (p.warning) f.warn(at, p.message);
    else f.error(at, p.message);
  }
  return parsed.targets;
}

function decodeRegexRewrite(f: Findings, options: Options, prefixRewrite: string | null): RegexRewrite | null {
  const patternLoc = options.get('regex_rewrite_pattern');
  const substitutionLoc = options.get('regex_rewrite_substitution');
  const substitution = substitutionLoc === undefined ? '' : (readString(f, substitutionLoc) ?? '');
  const pattern = optionalString(f, patternLoc);
  if (pattern === null) {
    if (substitutionLoc !== undefined) f.warn(substitutionLoc, 'has no effect without regex_rewrite_pattern');
    return null;
  }
  if (prefixRewrite !== null) {
    f.error(patternLoc as Located, 'only prefix_rewrite or regex_rewrite_pattern can be specified, but not both');
    return null;
  }
  const compiled = compileRe2(pattern, false);
  if (!compiled.ok) {
    f.error(patternLoc as Located, compiled.error);
    return null;
  }
  const groups = groupCount(compiled.value);
  for (const m of substitution.matchAll(/\\(\\|\d)/g)) {
    if (m[1] !== '\\' && Number(m[1]) > groups) {
      f.error(substitutionLoc as Located, `refers to group \\${m[1]}, but the pattern has ${groups} group${groups === 1 ? '' : 's'}`);
      return null;
    }
  }
  return { pattern: compiled.value, substitution };
}

function decodeRewriteResponseHeaders(f: Findings, loc: Located | undefined): RewriteResponseHeader[] {
  if (loc === undefined) return [];
  if (loc.node.kind !== 'list') {
    f.error(loc, 'must be a list of {header, prefix, value}');
    return [];
  }
  const out: RewriteResponseHeader[] = [];
  for (const [i, node] of loc.node.items.entries()) {
    const item: Located = { node, key: `${loc.key}[${i}]` };
    if (node.kind !== 'map') {
      f.error(item, 'must be a map with header, prefix and value');
      continue;
    }
    const entry = Options.of(node, item.key);
    for (const e of entry.entries.values()) {
      if (e.name !== 'header' && e.name !== 'prefix' && e.name !== 'value') f.warnAt(keyWhere(e), 'unknown config option');
    }
    const headerLoc = entry.get('header');
    const header = headerLoc === undefined ? undefined : readString(f, headerLoc);
    if (headerLoc === undefined) f.errorAt({ file: node.file, line: node.line, key: childKey(item.key, 'header') }, 'is required');
    else if (header !== undefined && !isToken(header)) f.error(headerLoc, 'is not a valid header name (RFC 9110 token)');
    const prefixLoc = entry.get('prefix');
    const valueLoc = entry.get('value');
    const prefix = prefixLoc === undefined ? '' : readString(f, prefixLoc);
    const value = valueLoc === undefined ? '' : readString(f, valueLoc);
    if (header === undefined || !isToken(header) || prefix === undefined || value === undefined) continue;
    out.push({ header, lheader: header.toLowerCase(), prefix, value });
  }
  return out;
}

function decodeLoadBalancing(f: Findings, loc: Located | undefined): LoadBalancingPolicy {
  if (loc === undefined) return 'round_robin';
  const text = readString(f, loc);
  if (text === undefined) return 'round_robin';
  const policy = parseLoadBalancingPolicy(text);
  if (policy === null) f.error(loc, `unknown load balancing policy ${JSON.stringify(text)} (round_robin, least_request, random)`);
  else if (policy === 'unsupported') f.error(loc, `${text} load balancing is not supported yet by this version of Postern`);
  return policy === null || policy === 'unsupported' ? 'round_robin' : policy;
}

/** Stable id over what identifies a route (Pomerium's generateRouteID fields): hex SHA-256, first 16 characters. */
function routeId(from: string, prefix: string | null, path: string | null, regex: string | null, to: readonly UpstreamTarget[]): string {
  const material = JSON.stringify([from, prefix ?? '', path ?? '', regex ?? '', to.map((t) => [t.origin + t.pathPrefix, t.weight])]);
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}

/** The route, or undefined when it has errors (they are recorded). */
export function decodeRoute(f: Findings, loc: Located, index: number, defaults: RouteDefaults): Route | undefined {
  const { node } = loc;
  if (node.kind !== 'map') {
    f.error(loc, 'each route must be a map of options');
    return undefined;
  }
  const errorsBefore = f.errors.length;
  const options = Options.of(node, loc.key);
  checkKeys(f, options);
  const required = (name: string): Where => ({ file: node.file, line: node.line, key: childKey(loc.key, name) });

  const from = decodeFrom(f, options, required('from'));
  const to = decodeTo(f, options, required('to'));
  const prefix = pathOption(f, options.get('prefix'));
  const path = pathOption(f, options.get('path'));
  const regexLoc = options.get('regex');
  const regexText = optionalString(f, regexLoc);
  let regex: RegExp | null = null;
  if (regexText !== null) {
    const compiled = compileRe2(regexText, true);
    if (compiled.ok) regex = compiled.value;
    else f.error(regexLoc as Located, compiled.error);
  }
  const prefixRewrite = optionalString(f, options.get('prefix_rewrite'));
  const regexRewrite = decodeRegexRewrite(f, options, prefixRewrite);

  const hostRewriteLoc = options.get('host_rewrite');
  const hostRewrite = optionalString(f, hostRewriteLoc);
  if (hostRewrite !== null && !AUTHORITY.test(hostRewrite)) f.error(hostRewriteLoc as Located, 'must be a host or host:port');
  const hostHeaderLoc = options.get('host_rewrite_header');
  const hostRewriteHeader = optionalString(f, hostHeaderLoc);
  if (hostRewriteHeader !== null && !isToken(hostRewriteHeader)) f.error(hostHeaderLoc as Located, 'is not a valid header name (RFC 9110 token)');

  const requestHeadersLoc = options.get('set_request_headers');
  const removeLoc = options.get('remove_request_headers');
  const responseHeadersLoc = options.get('set_response_headers');
  const responseMap = responseHeadersLoc === undefined ? null : (readHeaderMap(f, responseHeadersLoc, true) ?? null);
  const timeoutLoc = options.get('timeout');
  const idleLoc = options.get('idle_timeout');
  const upstreamName = optionalString(f, options.get('tls_upstream_server_name'));
  const serverName = optionalString(f, options.get('tls_server_name'));
  const skipVerifyLoc = options.get('tls_skip_verify');
  const preserveLoc = options.get('preserve_host_header');
  const nameText = optionalString(f, options.get('name'));

  const route: Route = {
    index,
    name: nameText ?? `route-${index}`,
    id: from === undefined ? '' : routeId(from.raw, prefix, path, regexText, to),
    location: node.line > 0 ? `${node.file}:${node.line}` : `${node.file}:${loc.key}`,
    from: from as FromUrl,
    to,
    prefix,
    path,
    regex,
    prefixRewrite,
    regexRewrite,
    hostRewrite,
    hostRewriteHeader: hostRewriteHeader?.toLowerCase() ?? null,
    preserveHostHeader: preserveLoc === undefined ? false : (readBool(f, preserveLoc) ?? false),
    setRequestHeaders: requestHeadersLoc === undefined ? [] : (readHeaderMap(f, requestHeadersLoc, false)?.entries ?? []),
    removeRequestHeaders: removeLoc === undefined ? [] : (readHeaderNames(f, removeLoc) ?? []),
    setResponseHeaders: routeResponseHeaders(defaults.responseHeaders, responseMap),
    rewriteResponseHeaders: decodeRewriteResponseHeaders(f, options.get('rewrite_response_headers')),
    timeoutMs: timeoutLoc === undefined ? defaults.defaultUpstreamTimeoutMs : (readDurationMs(f, timeoutLoc) ?? 0),
    idleTimeoutMs: idleLoc === undefined ? 0 : (readDurationMs(f, idleLoc) ?? 0),
    loadBalancingPolicy: decodeLoadBalancing(f, options.get('load_balancing_policy')),
    tls: {
      skipVerify: skipVerifyLoc === undefined ? false : (readBool(f, skipVerifyLoc) ?? false),
      // tls_upstream_server_name takes precedence (pom:config/envoyconfig/clusters.go).
      serverName: upstreamName ?? serverName,
      customCa: decodeCaBundle(f, options, 'tls_custom_ca', defaults.dir),
      ...clientPair(decodeClientCertificate(f, options, defaults.dir)),
    },
    access: decodeAccess(f, options),
    idpClient: decodeRouteIdpClient(f, options, defaults.dir),
    jwtIssuerFormat: decodeIssuerFormat(f, options.get('jwt_issuer_format')) ?? null,
  };
  return f.errors.length > errorsBefore ? undefined : route;
}

function clientPair(pair: { cert: string; key: string } | null): { clientCert: string | null; clientKey: string | null } {
  return { clientCert: pair?.cert ?? null, clientKey: pair?.key ?? null };
}

/** A route's own `idp_client_id` (and secret, inline or `_file`); the secret alone means nothing. */
function decodeRouteIdpClient(f: Findings, options: Options, dir: string): Route['idpClient'] {
  const idLoc = options.get('idp_client_id');
  const clientId = idLoc === undefined ? '' : (readString(f, idLoc) ?? '');
  const clientSecret = decodeIdpClientSecret(f, options, dir);
  if (clientId === '') {
    const secretLoc = options.get('idp_client_secret') ?? options.get('idp_client_secret_file');
    if (secretLoc !== undefined && clientSecret !== '') f.error(secretLoc, 'is set without idp_client_id on this route');
    return null;
  }
  return { clientId, clientSecret };
}
