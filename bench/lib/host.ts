// Facts about the machine the benchmark runs on, and the Debian packages it
// needs (nginx as the reference proxy, wrk as the load generator).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { machineBusyShare } from './cpu.js';

/** Finds an executable on PATH or in the sbin directories (nginx lives in /usr/sbin, often not on a user's PATH). */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = `${dir}/${name}`;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/** Load average and a one-second sample of busy CPU; returns warnings when the machine is not quiet. */
export async function quietnessWarnings(): Promise<{ loadavg: number[]; busyShare: number; warnings: string[] }> {
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  const busyShare = await machineBusyShare(1000);
  const warnings: string[] = [];
  const cores = cpus().length;
  // The one-second sample says what runs now; the load average also remembers
  // the last minutes (an earlier benchmark, a build), so it only adds a hint.
  if (busyShare > 0.1) {
    warnings.push(`${(busyShare * 100).toFixed(0)}% of the CPU was busy in the last second before the benchmark`);
  } else if (loadavg[0]! > 0.25 * cores) {
    warnings.push(`load average ${loadavg[0]} on ${cores} cores although the CPU is idle now: something ran until recently`);
  }
  return { loadavg, busyShare, warnings };
}

export interface GitState {
  /** Short commit id, or 'nocommit' in a repository without commits. */
  readonly commit: string;
  /** True when the work tree differs from the commit: the numbers are not exactly that commit's. */
  readonly dirty: boolean;
}

export function gitState(cwd: string): GitState {
  const run = (args: string[]): string | null => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const commit = run(['rev-parse', '--short', 'HEAD']) ?? 'nocommit';
  const status = run(['status', '--porcelain', '--untracked-files=no']);
  return { commit, dirty: commit === 'nocommit' || (status !== null && status !== '') };
}

export interface Tools {
  readonly nginx: string | null;
  readonly wrk: string | null;
  /** What happened while looking for them, for the report. */
  readonly notes: string[];
}

function aptKnows(pkg: string): boolean {
  return spawnSync('apt-cache', ['show', pkg], { stdio: 'ignore' }).status === 0;
}

function runningPidFromFile(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/**
 * Finds nginx and wrk, installing the missing ones from Debian when running
 * as root. Without root the caller falls back (autocannon; no nginx column).
 */
export function ensureTools(): Tools {
  const notes: string[] = [];
  let nginx = findExecutable('nginx');
  let wrk = findExecutable('wrk');
  if (nginx && wrk) return { nginx, wrk, notes };

  const missing = [!nginx ? 'nginx' : null, !wrk ? 'wrk' : null].filter((x) => x !== null);
  if (process.getuid?.() !== 0) {
    notes.push(`${missing.join(' and ')} not installed and not running as root: cannot apt-get install them`);
    return { nginx, wrk, notes };
  }
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
    notes.push(`${missing.join(' and ')} not installed and apt-get is not available`);
    return { nginx, wrk, notes };
  }

  // Debian's postinst would start a system-wide nginx on port 80 unless
  // policy-rc.d forbids it; remember whether one ran before so that only a
  // daemon started by this install is stopped afterwards.
  const systemNginxBefore = runningPidFromFile('/run/nginx.pid');
  process.stdout.write(`installing ${missing.join(' and ')} from Debian (apt-get update, apt-get install) …\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { env, encoding: 'utf8' });
  if (update.status !== 0) {
    notes.push(`apt-get update failed: ${(update.stderr || update.stdout).trim().split('\n').slice(-3).join(' / ')}`);
    return { nginx, wrk, notes };
  }
  const packages: string[] = [];
  // nginx-light is the small build (Debian 12); later Debian releases only have nginx.
  if (!nginx) packages.push(aptKnows('nginx-light') ? 'nginx-light' : 'nginx');
  if (!wrk) packages.push('wrk');
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    env,
    encoding: 'utf8',
  });
  if (install.status !== 0) {
    notes.push(
      `apt-get install ${packages.join(' ')} failed: ` +
        (install.stderr || install.stdout).trim().split('\n').slice(-3).join(' / '),
    );
  } else {
    notes.push(`installed ${packages.join(' ')} from Debian`);
  }
  const systemNginxAfter = runningPidFromFile('/run/nginx.pid');
  if (systemNginxAfter !== null && systemNginxAfter !== systemNginxBefore) {
    process.kill(systemNginxAfter, 'SIGQUIT');
    notes.push(`stopped the system nginx (pid ${systemNginxAfter}) that the package install started`);
  }
  nginx = findExecutable('nginx');
  wrk = findExecutable('wrk');
  return { nginx, wrk, notes };
}

/** First line of what a tool prints about its version (nginx writes it to stderr, wrk exits non-zero). */
export function toolVersion(path: string, arg: string): string {
  const r = spawnSync(path, [arg], { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n', 1)[0] ?? '';
}
