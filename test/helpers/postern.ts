// Runs the real Postern CLI as a child process for the integration tests:
// writes the config to a temporary file, spawns `serve`, waits for the
// `listening` log line, and exposes the parsed JSON log lines, the process's
// memory use and a clean stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/** The repository root (this file runs from dist/test/helpers/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export type LogLine = Record<string, unknown> & { msg?: string };

export interface PosternOptions {
  /** Extra environment variables for the process. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for the `listening` line (default 10 s). */
  readonly startTimeoutMs?: number;
  /** Called with every JSON log line as it arrives, from the start (to act on one before the proxy listens). */
  readonly onLog?: (line: LogLine, child: ChildProcess) => void;
}

export interface Postern {
  /** The port the proxy really bound. */
  readonly port: number;
  readonly process: ChildProcess;
  /** Path of the config file written for this run. */
  readonly configFile: string;
  /** Every JSON line printed on stdout so far, parsed. */
  readonly logs: readonly LogLine[];
  /** Everything printed on stderr so far. */
  stderr(): string;
  /** `http://host:port/path` (https when the config has certificates); requests still go to 127.0.0.1. */
  url(host: string, path?: string): string;
  /** Resolves with the first log line (already printed or still to come) for which `pred` holds. */
  waitForLog(pred: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resident memory of the process, in bytes (VmRSS). */
  rssBytes(): number;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code; SIGKILLs after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /**
   * Rewrites the config file with `config`, sends SIGHUP and resolves with
   * the line that ends this reload: `configuration reloaded`, or the last
   * `configuration reload refused` line.
   */
  reload(config: object | string, timeoutMs?: number): Promise<LogLine>;
}

const RELOAD_ENDED = (l: LogLine): boolean => l.msg === 'configuration reloaded' || (typeof l.msg === 'string' && l.msg.startsWith('configuration reload refused'));

/** Base64 of 32 random bytes, the form of `shared_secret` and `cookie_secret`. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64');
}

/** A minimal insecure config on an ephemeral loopback port around `routes`. */
export function baseConfig(routes: readonly object[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    address: '127.0.0.1:0',
    insecure_server: true,
    shared_secret: randomSecret(),
    cookie_secret: randomSecret(),
    ...extra,
    routes,
  };
}

/** A public route from `from` to `to`, plus any other route keys. */
export function publicRoute(from: string, to: string | readonly string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { from, to, allow_public_unauthenticated_access: true, ...extra };
}

// Children still running when the test process exits are killed, so a failed
// test never leaves a proxy behind.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Writes `content` to a fresh temporary directory; returns the file path and a remover. */
export function writeTempFile(name: string, content: string): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'postern-test-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function toYaml(config: object | string): string {
  return typeof config === 'string' ? config : stringify(config);
}

function isTls(config: object | string): boolean {
  if (typeof config === 'string') return !/^\s*insecure_server:\s*true\s*$/m.test(config);
  return (config as Record<string, unknown>)['insecure_server'] !== true;
}

/** Starts `postern serve` with `config` (an object written as YAML, or YAML text). */
export async function startPostern(config: object | string, opts: PosternOptions = {}): Promise<Postern> {
  const { file: configFile, remove } = writeTempFile('postern.yaml', toYaml(config));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);

  const logs: LogLine[] = [];
  interface Waiter {
    readonly pred: (l: LogLine) => boolean;
    readonly resolve: (l: LogLine) => void;
    readonly reject: (err: Error) => void;
  }
  const waiters: Waiter[] = [];
  let stderr = '';
  let partial = '';
  let exitCode: number | null | undefined;
  // 'close' rather than 'exit': it comes after stdout and stderr are drained, so no log line is missed.
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      exitCode = code;
      running.delete(child);
      remove();
      // No line can arrive any more: fail the waits now instead of at their timeouts.
      for (const w of waiters.splice(0)) w.reject(new Error(`postern exited with ${String(code)} before a matching log line`));
      resolve(code);
    });
  });

  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr += s;
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    partial += s;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl).trim();
      partial = partial.slice(nl + 1);
      // The uWS binary prints plain-text debug lines on SNI events; only JSON lines are logs.
      if (!line.startsWith('{')) continue;
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        continue;
      }
      logs.push(parsed);
      opts.onLog?.(parsed, child);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(parsed)) waiters.splice(i, 1)[0]!.resolve(parsed);
      }
    }
  });

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 5_000): Promise<LogLine> => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    if (exitCode !== undefined) return Promise.reject(new Error(`postern exited with ${String(exitCode)} before a matching log line`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = waiters.indexOf(entry);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`no matching log line within ${timeoutMs} ms; last lines:\n${logs.slice(-5).map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      const entry: Waiter = {
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      waiters.push(entry);
    });
  };

  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  let listening: LogLine;
  try {
    listening = await waitForLog((l) => l.msg === 'listening', startTimeoutMs);
  } catch (err) {
    if (exitCode === undefined) child.kill('SIGKILL');
    await exited;
    throw new Error(
      `postern did not start: ${(err as Error).message.split('\n')[0]}\n` +
        `--- stderr ---\n${stderr.trim()}\n--- stdout (JSON lines) ---\n${logs.map((l) => JSON.stringify(l)).join('\n')}`,
    );
  }
  const port = Number(listening['port']);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`the listening line has no port: ${JSON.stringify(listening)}`);
  const scheme = isTls(config) ? 'https' : 'http';

  return {
    port,
    process: child,
    configFile,
    logs,
    stderr: () => stderr,
    url: (host, path = '/') => `${scheme}://${host}:${port}${path}`,
    waitForLog,
    exited,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
      if (!m) throw new Error(`no VmRSS for pid ${child.pid}`);
      return Number(m[1]) * 1024;
    },
    async reload(next: object | string, timeoutMs = 10_000) {
      writeFileSync(configFile, toYaml(next));
      const seen = logs.length;
      child.kill('SIGHUP');
      const first = await waitForLog((l) => logs.indexOf(l) >= seen && RELOAD_ENDED(l), timeoutMs);
      // A refusal may name several problems, one line each: give them time to arrive.
      await new Promise((r) => setTimeout(r, 50));
      const ended = logs.slice(seen).filter(RELOAD_ENDED);
      return ended[ended.length - 1] ?? first;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with `args` to completion (killed after `timeoutMs`). */
export function runCli(args: readonly string[], timeoutMs = 10_000): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}
