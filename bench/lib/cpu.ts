// CPU time of a server under test, read from /proc: utime + stime of a
// process and all its descendants (nginx's master and workers; every thread
// of a Node process is already in its own counters). And the CPU that other
// people's processes take during a run: the machine is shared (other
// sessions build and test on the same 2 cores), and a run they disturbed
// measures them, not us.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // getconf missing: Linux has used 100 on every mainstream architecture for decades.
  }
  return 100;
}

/** Microseconds per clock tick. */
export const TICK_US = 1e6 / clockTicksPerSecond();

interface ProcStat {
  readonly ppid: number;
  /** utime: in the process's own code (for Node, JavaScript and the runtime). */
  readonly user: number;
  /** stime: in the kernel on its behalf (system calls, the loopback TCP stack). */
  readonly system: number;
  readonly ticks: number;
  /** cutime + cstime: the ticks of children it has already reaped. */
  readonly reapedTicks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone between readdir and read
  }
  // The command name is in parentheses and may itself contain spaces and ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state, ppid, …; utime, stime, cutime, cstime are fields 14–17 of stat(5).
  return {
    ppid: Number(fields[1]),
    user: Number(fields[11]),
    system: Number(fields[12]),
    ticks: Number(fields[11]) + Number(fields[12]),
    reapedTicks: Number(fields[13]) + Number(fields[14]),
  };
}

/** The stats of `rootPid` and every live descendant. */
function treeStats(rootPid: number): ProcStat[] {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const pid = Number(entry);
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) {
    const list = children.get(stat.ppid);
    if (list) list.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  const tree: ProcStat[] = [];
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    const stat = stats.get(pid);
    if (stat) tree.push(stat);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Clock ticks used so far by `rootPid` and every live descendant. */
export function treeCpuTicks(rootPid: number): number {
  return treeStats(rootPid).reduce((sum, stat) => sum + stat.ticks, 0);
}

/** treeCpuTicks split into user and system ticks. */
export function treeCpuSplit(rootPid: number): { readonly user: number; readonly system: number } {
  let user = 0;
  let system = 0;
  for (const stat of treeStats(rootPid)) {
    user += stat.user;
    system += stat.system;
  }
  return { user, system };
}

/** Busy and total clock ticks of the whole machine (all cores) so far, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Share of the machine's CPU time spent busy over `ms` milliseconds (0..1), from /proc/stat. */
export async function machineBusyShare(ms: number): Promise<number> {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineTicks();
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : 0;
}

/** The machine's ticks and this process tree's (live descendants, and the children it has reaped, such as a finished wrk). */
export interface CpuReading {
  readonly busy: number;
  readonly total: number;
  readonly own: number;
}

export function readCpu(): CpuReading {
  const own = treeCpuTicks(process.pid) + (readStat(process.pid)?.reapedTicks ?? 0);
  return { ...machineTicks(), own };
}

/** Share of the machine's capacity (0..1) that processes outside this tree used between two readings. */
export function foreignShare(before: CpuReading, after: CpuReading): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return Math.max(0, after.busy - before.busy - (after.own - before.own)) / total;
}

/**
 * Above this share of the machine taken by others during a run (a tenth of
 * one core of two), the run is measured again: the background of an idle
 * machine (kernel threads, the services it starts) stays well under 1%.
 */
export const FOREIGN_SHARE_LIMIT = 0.05;

/**
 * Resolves once the machine (nothing of ours runs meanwhile) has been below
 * FOREIGN_SHARE_LIMIT busy for a few seconds, or after `maxMs`; true when
 * it is quiet.
 */
export async function waitForQuiet(maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  let quietSamples = 0;
  while (Date.now() < deadline) {
    quietSamples = (await machineBusyShare(1000)) < FOREIGN_SHARE_LIMIT ? quietSamples + 1 : 0;
    if (quietSamples >= 3) return true;
  }
  return false;
}
