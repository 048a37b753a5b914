// Helpers for the config tests: a temporary directory for config files,
// secrets and certificates, and shortcuts to load a config and collect its
// problems.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../../src/errors.js';
import { analyseConfig, loadConfig } from '../../src/config/load.js';
import type { ConfigWarning, LoadedConfig } from '../../src/config/types.js';

/** base64 of 32 random bytes: a valid shared_secret or cookie_secret. */
export function secret(): string {
  return randomBytes(32).toString('base64');
}

export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** The lines every test config starts with: plain HTTP and fixed secrets, so only the keys under test matter. */
export function base(): string {
  return `insecure_server: true\nshared_secret: ${secret()}\ncookie_secret: ${secret()}\n`;
}

/**
 * Sign-in settings. Routes that are not public require them, so config()
 * appends them to every YAML config that has such routes and no sign-in
 * keys of its own; at the end, so the line numbers tests assert on do not move.
 */
export const SIGN_IN =
  'authenticate_service_url: https://authenticate.example.com\nidp_provider: oidc\nidp_provider_url: https://idp.example.com\nidp_client_id: postern\n';

function withSignIn(text: string, ext: string): string {
  if (ext !== 'yaml' || !/^(routes|policy):/m.test(text)) return text;
  const routes = text.match(/^\s*- from:/gm)?.length ?? 0;
  const publicRoutes = text.match(/allow_public_unauthenticated_access: true/g)?.length ?? 0;
  if (routes > 0 && publicRoutes >= routes) return text;
  if (/^(authenticate_service_url|idp_provider_url|idp_client_id):/m.test(text)) return text;
  return `${text.endsWith('\n') ? text : `${text}\n`}${SIGN_IN}`;
}

export class Fixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'postern-config-'));
  #count = 0;

  /** Writes a file in the fixture directory and returns its path. */
  write(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** Writes a config file with a fresh name. */
  config(text: string, ext = 'yaml'): string {
    this.#count += 1;
    return this.write(`config-${this.#count}.${ext}`, withSignIn(text, ext));
  }

  load(text: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
    return loadConfig(this.config(text), env);
  }

  /** The problems of a config that must fail to load. */
  problems(text: string, env: NodeJS.ProcessEnv = {}, ext = 'yaml'): ConfigProblem[] {
    const file = this.config(text, ext);
    try {
      loadConfig(file, env);
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
    return assert.fail(`expected ${file} to be refused`);
  }

  warnings(text: string, env: NodeJS.ProcessEnv = {}): readonly ConfigWarning[] {
    return analyseConfig(this.config(text), env).warnings;
  }

  /** A self-signed P-256 certificate; `dns` names go in the subjectAltName (none: CN only). */
  certificate(name: string, cn: string, dns: readonly string[] = []): { certFile: string; keyFile: string; certPem: string; keyPem: string } {
    const certFile = join(this.dir, `${name}.pem`);
    const keyFile = join(this.dir, `${name}.key`);
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${cn}`];
    if (dns.length > 0) args.push('-addext', `subjectAltName=${dns.map((d) => `DNS:${d}`).join(',')}`);
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The problem reported for `key`, failing when there is none. */
export function problemFor(problems: readonly ConfigProblem[], key: string): ConfigProblem {
  const p = problems.find((x) => x.key === key);
  return p ?? assert.fail(`no problem for ${key}; got:\n${problems.map((x) => `${x.line}: ${x.key}: ${x.message}`).join('\n')}`);
}

export function warningFor(warnings: readonly ConfigWarning[], key: string): ConfigWarning {
  const w = warnings.find((x) => x.key === key);
  return w ?? assert.fail(`no warning for ${key}; got:\n${warnings.map((x) => `${x.line}: ${x.key}: ${x.message}`).join('\n')}`);
}
