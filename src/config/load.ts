// Loading the configuration: read the file, apply environment overrides,
// validate everything once (collecting every problem), then freeze. Nothing
// else in Postern reads the file or the environment for configuration.
import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { ENV_FILE, environmentEntries } from './env.js';
import { Options } from './fields.js';
import { Findings, where, type Where } from './findings.js';
import { deepFreeze } from './freeze.js';
import { decodeGlobal, type GlobalConfig, type RouteDefaults } from './global.js';
import { globalKeyStatus, UNIMPLEMENTED_MESSAGE } from './keys.js';
import { decodeRoute } from './route.js';
import { formatOf, parseSource, readConfigFile } from './source.js';
import type { Config, ConfigWarning, LoadedConfig, Route } from './types.js';

export interface ConfigAnalysis {
  /** null when there are errors. */
  readonly config: Config | null;
  readonly errors: readonly ConfigProblem[];
  readonly warnings: readonly ConfigWarning[];
}

function checkGlobalKeys(f: Findings, options: Options): void {
  for (const entry of options.entries.values()) {
    const at = { file: entry.loc.node.file, line: entry.line, key: entry.name };
    const status = globalKeyStatus(entry.name);
    if (status.kind === 'removed' || status.kind === 'unsupported') f.errorAt(at, status.message);
    else if (status.kind === 'unimplemented') f.warnAt(at, UNIMPLEMENTED_MESSAGE);
    else if (status.kind === 'unknown') f.warnAt(at, status.message);
  }
}

interface DecodedRoute {
  readonly route: Route;
  readonly at: Where;
}

/** `policy` entries first, then `routes` entries (Pomerium's GetAllPolicies order). */
function decodeRoutes(f: Findings, options: Options, defaults: RouteDefaults): DecodedRoute[] {
  const routes: DecodedRoute[] = [];
  let index = 0;
  for (const name of ['policy', 'routes']) {
    const loc = options.get(name);
    if (loc === undefined) continue;
    if (loc.node.kind !== 'list') {
      f.error(loc, 'must be a list of routes');
      continue;
    }
    for (const [i, node] of loc.node.items.entries()) {
      const item = { node, key: `${loc.key}[${i}]` };
      const route = decodeRoute(f, item, index++, defaults);
      if (route !== undefined) routes.push({ route, at: where(item) });
    }
  }
  return routes;
}

/**
 * A route whose host, port and path matchers repeat an earlier route's can
 * never be chosen: the first match wins.
 */
function warnShadowedRoutes(f: Findings, routes: readonly DecodedRoute[]): void {
  const first = new Map<string, Route>();
  for (const { route, at } of routes) {
    const matcher = JSON.stringify([route.from.host, route.from.port, route.prefix, route.path, route.regex?.source ?? null]);
    const earlier = first.get(matcher);
    if (earlier === undefined) first.set(matcher, route);
    else f.warnAt(at, `can never match: the route at ${earlier.location} has the same from host, port, prefix, path and regex`);
  }
}

/**
 * A route that is not public needs somebody to sign in, so the authenticate
 * service and an identity provider must be configured. Postern has no
 * hosted authenticate service to fall back on, as Pomerium does.
 */
function checkSignInConfigured(f: Findings, global: GlobalConfig, routes: readonly DecodedRoute[]): void {
  for (const { route, at } of routes) {
    if (route.access.allowPublicUnauthenticatedAccess) continue;
    const missing: string[] = [];
    if (global.authenticateServiceUrl === null) missing.push('authenticate_service_url');
    if (global.idp.providerUrl === '') missing.push('idp_provider_url');
    if (global.idp.clientId === '' && route.idpClient === null) missing.push('idp_client_id');
    if (missing.length > 0) {
      f.errorAt(at, `route requires sign-in, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`);
    }
  }
}

/** Findings by line, the environment's after the file's (a stable sort keeps discovery order within a line). */
export function inFileOrder<T extends Where>(items: readonly T[]): T[] {
  const rank = (at: Where): number => (at.file === ENV_FILE ? 1 : 0);
  return [...items].sort((a, b) => rank(a) - rank(b) || a.line - b.line);
}

/** Validates without throwing on invalid values: for `postern check`, which prints errors and warnings. */
export function analyseConfig(file: string, env: NodeJS.ProcessEnv = process.env): ConfigAnalysis {
  const text = readConfigFile(file);
  const f = new Findings();
  const result = (config: Config | null): ConfigAnalysis => ({ config, errors: inFileOrder(f.errors), warnings: inFileOrder(f.warnings) });
  const format = formatOf(file);
  if (format === null) {
    f.errorAt({ file, line: 0, key: 'config' }, 'TOML is not supported: write the configuration in YAML or JSON');
    return result(null);
  }
  const root = parseSource(text, format, { file, key: format, lines: true }, f);
  if (root === null) return result(null);
  if (root.kind !== 'map') {
    f.errorAt({ file, line: root.line, key: format }, 'the top level must be a map of options');
    return result(null);
  }
  const fromFile = Options.of(root, '');
  checkGlobalKeys(f, fromFile);
  const merged = new Map(fromFile.entries);
  for (const [key, entry] of environmentEntries(env, f)) merged.set(key, entry);
  const options = new Options(merged);
  const { global, defaults } = decodeGlobal(f, options, file, dirname(resolve(file)));
  const routes = decodeRoutes(f, options, defaults);
  warnShadowedRoutes(f, routes);
  checkSignInConfigured(f, global, routes);
  return result(f.errors.length > 0 ? null : { file, ...global, routes: routes.map((r) => r.route) });
}

/**
 * Loads, validates and freezes the configuration. Throws ConfigError with
 * every problem found, or PosternError(CONFIG_UNREADABLE) when the file
 * cannot be read.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const analysis = analyseConfig(file, env);
  if (analysis.config === null) throw new ConfigError(analysis.errors);
  return deepFreeze({ config: analysis.config, warnings: analysis.warnings });
}
