// Where the control socket lives. `postern serve` and the management commands
// must agree on it from nothing but the config file and the environment.
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { Findings } from '../config/findings.js';
import { formatOf, parseSource, readConfigFile } from '../config/source.js';

export const CONTROL_SOCKET_KEY = 'control_socket';
const CONTROL_SOCKET_VARIABLE = 'CONTROL_SOCKET';

/**
 * `$RUNTIME_DIRECTORY/postern.sock` under systemd (RuntimeDirectory=, private
 * to the service; the first one when several are listed), else
 * `.postern.sock` next to the config file.
 */
export function defaultControlSocketPath(configFile: string, env: NodeJS.ProcessEnv): string {
  const runtime = env['RUNTIME_DIRECTORY']?.split(':')[0];
  if (runtime) return join(runtime, 'postern.sock');
  return join(dirname(resolve(configFile)), '.postern.sock');
}

/** The configured `control_socket` (relative to the config file's directory, like every other path in it), or the default. */
export function resolveControlSocketPath(configured: string | null, configFile: string, env: NodeJS.ProcessEnv): string {
  if (configured === null || configured === '') return defaultControlSocketPath(configFile, env);
  return resolve(dirname(resolve(configFile)), configured);
}

/**
 * The socket path for the management commands, read from the config without
 * loading the rest of it: they need nothing else, so they read no secret or
 * private key, and a mistake elsewhere in the file (or an unreadable
 * certificate) never stops an operator from revoking a leaked token.
 * The environment overrides the file (CONTROL_SOCKET), as for every global key.
 */
export function controlSocketPathOf(configFile: string, env: NodeJS.ProcessEnv): string {
  const fromEnv = env[CONTROL_SOCKET_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== '') return resolveControlSocketPath(fromEnv, configFile, env);
  const text = readConfigFile(configFile);
  const format = formatOf(configFile);
  if (format === null) throw new ConfigError([{ file: configFile, line: 0, key: 'config', message: 'TOML is not supported: write the configuration in YAML or JSON' }]);
  const findings = new Findings();
  const root = parseSource(text, format, { file: configFile, key: format, lines: true }, findings);
  if (root === null) throw new ConfigError(findings.errors);
  if (root.kind !== 'map') throw new ConfigError([{ file: configFile, line: root.line, key: format, message: 'the top level must be a map of options' }]);
  const entry = root.entries.find((e) => e.name === CONTROL_SOCKET_KEY);
  if (entry === undefined) return defaultControlSocketPath(configFile, env);
  const { value } = entry;
  if (value.kind !== 'scalar') {
    throw new ConfigError([{ file: configFile, line: entry.line, key: CONTROL_SOCKET_KEY, message: `must be a string, not a ${value.kind}` }]);
  }
  return resolveControlSocketPath(value.value === null ? null : value.text, configFile, env);
}
