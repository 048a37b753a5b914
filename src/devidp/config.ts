// Loading the development identity provider's YAML config, with the proxy
// config's machinery: located values, typed readers, every problem reported
// as `file:line: key: message` in one run. Its keys are our own (not
// Pomerium's), so an unknown key is an error, not a warning: a misspelt
// `redirect_uri` must not go unnoticed.
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { parseAddress } from '../config/address.js';
import { Options, readDurationMs, readString, readStringList } from '../config/fields.js';
import { Findings, type Located } from '../config/findings.js';
import { deepFreeze } from '../config/freeze.js';
import { readPath, valueOrFile } from '../config/secrets.js';
import { parseSource, readConfigFile, type SourceNode } from '../config/source.js';
import { isLoopbackAddress } from './loopback.js';
import {
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  DEFAULT_ADDRESS,
  DEFAULT_ID_TOKEN_TTL_SECONDS,
  DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
  type DevIdpClient,
  type DevIdpConfig,
  type DevIdpUser,
} from './types.js';
import { decodeUsers } from './users.js';

const TOP_KEYS = new Set([
  'issuer', 'address', 'clients', 'users', 'users_file', 'access_token_ttl', 'id_token_ttl', 'refresh_token_ttl', 'keys_file',
]);
const CLIENT_KEYS = new Set([
  'client_id', 'client_secret', 'client_secret_file', 'redirect_uris', 'post_logout_redirect_uris',
]);

function checkKeys(f: Findings, options: Options, allowed: ReadonlySet<string>): void {
  for (const entry of options.entries.values()) if (!allowed.has(entry.name)) f.error(entry.loc, 'unknown key');
}

/** An issuer is an origin: clients compare it byte for byte, so no path, query or trailing slash may blur it. */
function readIssuer(f: Findings, loc: Located): string | undefined {
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text) {
    f.error(loc, 'must be an origin such as http://127.0.0.1:9000 (http or https; no path, query or trailing slash)');
    return undefined;
  }
  return text;
}

function readLoopbackAddress(f: Findings, loc: Located): DevIdpConfig['address'] | undefined {
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  const parsed = parseAddress(text, DEFAULT_ADDRESS.port);
  if (!parsed.ok) {
    f.error(loc, parsed.error);
    return undefined;
  }
  if (!isLoopbackAddress(parsed.value.host)) {
    f.error(loc, 'the development identity provider listens on loopback only: use 127.0.0.1:PORT or [::1]:PORT');
    return undefined;
  }
  return parsed.value;
}

function readTtlSeconds(f: Findings, options: Options, name: string, fallback: number): number | undefined {
  const loc = options.get(name);
  if (loc === undefined) return fallback;
  const ms = readDurationMs(f, loc);
  if (ms === undefined) return undefined;
  if (ms < 1000) {
    f.error(loc, 'must be at least 1s');
    return undefined;
  }
  return Math.ceil(ms / 1000);
}

function readUriList(f: Findings, loc: Located): string[] | undefined {
  const uris = readStringList(f, loc);
  if (uris === undefined) return undefined;
  for (const uri of uris) {
    let url: URL | undefined;
    try {
      url = new URL(uri);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hash !== '') {
      f.error(loc, `${JSON.stringify(uri)} must be an absolute http or https URL without a fragment`);
      return undefined;
    }
  }
  return uris;
}

function decodeClient(f: Findings, item: Located, dir: string, seen: Set<string>): DevIdpClient | undefined {
  if (item.node.kind !== 'map') {
    f.error(item, 'must be a map with client_id, client_secret and redirect_uris');
    return undefined;
  }
  const o = Options.of(item.node, item.key);
  checkKeys(f, o, CLIENT_KEYS);
  const missing = (name: string): void => f.errorAt({ file: item.node.file, line: item.node.line, key: `${item.key}.${name}` }, 'is required');

  const idLoc = o.get('client_id');
  let clientId: string | undefined;
  if (idLoc === undefined) missing('client_id');
  else {
    clientId = readString(f, idLoc);
    if (clientId === '') f.error(idLoc, 'must not be empty');
    else if (clientId !== undefined && seen.has(clientId)) f.error(idLoc, 'is already used by another client');
    if (clientId !== undefined) seen.add(clientId);
  }

  const secret = valueOrFile(f, o, 'client_secret', dir);
  if (secret === undefined) missing('client_secret');
  else if (secret !== null && secret.text === '') f.error(secret.loc, 'must not be empty');
  // Verbatim, line break included, as the proxy reads `idp_client_secret_file`: one file serves both.
  const clientSecret = secret?.text;

  const redirectLoc = o.get('redirect_uris');
  let redirectUris: string[] | undefined;
  if (redirectLoc === undefined) missing('redirect_uris');
  else {
    redirectUris = readUriList(f, redirectLoc);
    if (redirectUris?.length === 0) f.error(redirectLoc, 'must list at least one URI');
  }
  const logoutLoc = o.get('post_logout_redirect_uris');
  const postLogoutRedirectUris = logoutLoc === undefined ? [] : readUriList(f, logoutLoc);

  if (clientId === undefined || clientId === '' || clientSecret === undefined || clientSecret === '') return undefined;
  if (redirectUris === undefined || redirectUris.length === 0 || postLogoutRedirectUris === undefined) return undefined;
  return { clientId, clientSecret, redirectUris, postLogoutRedirectUris };
}

function decodeClients(f: Findings, options: Options, dir: string, file: string): DevIdpClient[] {
  const loc = options.get('clients');
  if (loc === undefined) {
    f.errorAt({ file, line: 0, key: 'clients' }, 'is required: list the OpenID clients (client_id, client_secret, redirect_uris)');
    return [];
  }
  if (loc.node.kind !== 'list' || loc.node.items.length === 0) {
    f.error(loc, 'must be a list of at least one client');
    return [];
  }
  const seen = new Set<string>();
  const clients: DevIdpClient[] = [];
  for (const [i, node] of loc.node.items.entries()) {
    const client = decodeClient(f, { node, key: `${loc.key}[${i}]` }, dir, seen);
    if (client !== undefined) clients.push(client);
  }
  return clients;
}

/** The `users` list of a users file (a YAML file whose top level is `users:`). */
function usersFromFile(f: Findings, loc: Located, dir: string, seen: Map<string, string>): DevIdpUser[] {
  const name = readString(f, loc);
  const read = name === undefined ? undefined : readPath(f, loc, name, dir);
  if (read === undefined) return [];
  const root = parseSource(read.text, 'yaml', { file: read.path, key: 'yaml', lines: true }, f);
  if (root === null) return [];
  if (root.kind !== 'map') {
    f.errorAt({ file: read.path, line: root.line, key: 'yaml' }, 'the top level must be a map with a users list');
    return [];
  }
  const options = Options.of(root, '');
  checkKeys(f, options, new Set(['users']));
  const users = options.get('users');
  if (users === undefined) {
    f.errorAt({ file: read.path, line: root.line, key: 'users' }, 'is required');
    return [];
  }
  return decodeUsers(f, users, seen);
}

function decode(f: Findings, root: SourceNode, file: string): DevIdpConfig | undefined {
  if (root.kind !== 'map') {
    f.errorAt({ file, line: root.line, key: 'yaml' }, 'the top level must be a map of options');
    return undefined;
  }
  const dir = dirname(resolve(file));
  const options = Options.of(root, '');
  checkKeys(f, options, TOP_KEYS);

  const issuerLoc = options.get('issuer');
  const issuer = issuerLoc === undefined ? null : readIssuer(f, issuerLoc);
  const addressLoc = options.get('address');
  const address = addressLoc === undefined ? DEFAULT_ADDRESS : readLoopbackAddress(f, addressLoc);
  const clients = decodeClients(f, options, dir, file);

  const seen = new Map<string, string>();
  const users: DevIdpUser[] = [];
  const inline = options.get('users');
  if (inline !== undefined) users.push(...decodeUsers(f, inline, seen));
  const usersFile = options.get('users_file');
  if (usersFile !== undefined) users.push(...usersFromFile(f, usersFile, dir, seen));
  if (inline === undefined && usersFile === undefined) f.errorAt({ file, line: 0, key: 'users' }, 'is required: set users or users_file');

  const accessTokenTtlSeconds = readTtlSeconds(f, options, 'access_token_ttl', DEFAULT_ACCESS_TOKEN_TTL_SECONDS);
  const idTokenTtlSeconds = readTtlSeconds(f, options, 'id_token_ttl', DEFAULT_ID_TOKEN_TTL_SECONDS);
  const refreshTokenTtlSeconds = readTtlSeconds(f, options, 'refresh_token_ttl', DEFAULT_REFRESH_TOKEN_TTL_SECONDS);

  const keysLoc = options.get('keys_file');
  const keysName = keysLoc === undefined ? null : readString(f, keysLoc);
  if (keysLoc !== undefined && keysName === '') f.error(keysLoc, 'must be a file path, not empty');
  const keysFile = keysName === null || keysName === undefined || keysName === '' ? null : isAbsolute(keysName) ? keysName : resolve(dir, keysName);

  if (issuer === undefined || address === undefined || keysName === undefined) return undefined;
  if (accessTokenTtlSeconds === undefined || idTokenTtlSeconds === undefined || refreshTokenTtlSeconds === undefined) return undefined;
  return { issuer, address, clients, users, accessTokenTtlSeconds, idTokenTtlSeconds, refreshTokenTtlSeconds, keysFile };
}

/**
 * Reads and validates a dev IdP config file. Throws ConfigError listing every
 * problem, or PosternError(CONFIG_UNREADABLE) when the file cannot be read.
 */
export function loadDevIdpConfig(file: string): DevIdpConfig {
  const f = new Findings();
  const root = parseSource(readConfigFile(file), 'yaml', { file, key: 'yaml', lines: true }, f);
  const config = root === null ? undefined : decode(f, root, file);
  if (f.errors.length > 0 || config === undefined) {
    // The config file's problems first, then those of the users file, each in line order.
    const rank = (p: ConfigProblem): number => (p.file === file ? 0 : 1);
    throw new ConfigError([...f.errors].sort((a, b) => rank(a) - rank(b) || a.line - b.line));
  }
  return deepFreeze(config);
}
