// Environment overrides, as Pomerium binds them: every global key by its
// upper-case name (ADDRESS, INSECURE_SERVER, SHARED_SECRET_FILE, …), POLICY
// and ROUTES as base64-encoded YAML route lists, and HEADERS for
// set_response_headers as a JSON object or `K1:V1,K2:V2`. An empty variable
// counts as unset (viper's default). Problems are reported with file `env`
// and the variable's name as the key.
import type { Entry } from './fields.js';
import type { Findings, Where } from './findings.js';
import { ENV_BINDINGS, globalKeyStatus, UNIMPLEMENTED_MESSAGE } from './keys.js';
import { decodeBase64Std } from './secrets.js';
import { parseSource, type MapNode, type SourceNode } from './source.js';

export const ENV_FILE = 'env';

function envWhere(name: string): Where {
  return { file: ENV_FILE, line: 0, key: name };
}

function entry(key: string, variable: string, node: SourceNode): Entry {
  return { name: key, line: 0, loc: { node, key: variable } };
}

/** The global options the environment sets, by config key. */
export function environmentEntries(env: NodeJS.ProcessEnv, f: Findings): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const [variable, key] of ENV_BINDINGS) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    const status = globalKeyStatus(key);
    if (status.kind === 'unimplemented') f.warnAt(envWhere(variable), UNIMPLEMENTED_MESSAGE);
    else if (status.kind === 'unsupported') f.errorAt(envWhere(variable), status.message);
    else out.set(key, entry(key, variable, { kind: 'scalar', file: ENV_FILE, line: 0, value, text: value }));
  }
  for (const [variable, key] of [
    ['POLICY', 'policy'],
    ['ROUTES', 'routes'],
  ] as const) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    const routes = decodeRouteList(value, variable, f);
    if (routes !== null) out.set(key, entry(key, variable, routes));
  }
  const headers = env['HEADERS'];
  if (headers !== undefined && headers !== '') {
    const parsed = parseHeadersVariable(headers);
    if (parsed === null) f.errorAt(envWhere('HEADERS'), 'must be a JSON object or NAME:VALUE pairs separated by commas');
    else out.set('set_response_headers', entry('set_response_headers', 'HEADERS', headersNode(parsed)));
  }
  return out;
}

/** POLICY/ROUTES: base64 (standard, padded) of a YAML list of routes. */
function decodeRouteList(value: string, variable: string, f: Findings): SourceNode | null {
  const bytes = decodeBase64Std(value.trim());
  if (bytes === null) {
    f.errorAt(envWhere(variable), 'must be base64-encoded YAML (standard alphabet, with padding)');
    return null;
  }
  const tree = parseSource(bytes.toString('utf8'), 'yaml', { file: ENV_FILE, key: variable, lines: false }, f);
  if (tree === null) return null;
  if (tree.kind !== 'list') {
    f.errorAt(envWhere(variable), 'must decode to a YAML list of routes');
    return null;
  }
  return tree;
}

/**
 * HEADERS: a JSON object, else `K1:V1,K2:V2` (each pair split at its first
 * colon, nothing trimmed, as Pomerium's parseHeaders does). null when neither.
 */
export function parseHeadersVariable(value: string): [string, string][] | null {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    json = undefined;
  }
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const pairs = Object.entries(json);
    if (pairs.some(([, v]) => v !== null && typeof v === 'object')) return null;
    return pairs.map(([k, v]) => [k, String(v)]);
  }
  const out: [string, string][] = [];
  for (const pair of value.split(',')) {
    const colon = pair.indexOf(':');
    if (colon < 0) return null;
    out.push([pair.slice(0, colon), pair.slice(colon + 1)]);
  }
  return out;
}

function headersNode(pairs: readonly [string, string][]): MapNode {
  return {
    kind: 'map',
    file: ENV_FILE,
    line: 0,
    entries: pairs.map(([name, value]) => ({ name, line: 0, value: { kind: 'scalar', file: ENV_FILE, line: 0, value, text: value } })),
  };
}
