// `npm run bench`: Postern against the references in one run on this
// machine — the upstream hit directly and nginx proxy_pass to the same
// upstream — measured interleaved over several rounds (reference/engineering.md
// A6: only ratios measured back to back mean anything on a shared 2-core box).
// Reports requests/s, p50/p99 latency and CPU µs per request of each server,
// and writes the record to bench/results/. Everything it starts is stopped at
// the end, also on error and Ctrl-C.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs, USAGE, UsageError, type BenchOptions } from './lib/args.js';
import { ProcessGroup, type Child } from './lib/children.js';
import { treeCpuTicks, TICK_US } from './lib/cpu.js';
import { HELLO_BODY } from './lib/hello.js';
import { ensureTools, gitState, quietnessWarnings, toolVersion } from './lib/host.js';
import { autocannonGenerator, wrkGenerator, type LoadGenerator } from './lib/load.js';
import { proxyConfig, startNginx, staticConfig } from './lib/nginx.js';
import { repoRoot, resultsDir, workRoot } from './lib/paths.js';
import {
  compare,
  formatComparison,
  formatTable,
  summarise,
  writeResults,
  type Run,
  type TargetName,
  type TargetSummary,
} from './lib/report.js';
import {
  freePort,
  POSTERN_LOG_LEVEL,
  startPostern,
  startUwsUpstream,
  waitUntilServing,
  type Server,
} from './lib/servers.js';

interface Target {
  readonly name: TargetName;
  readonly port: number;
  /** The process tree whose CPU counts as the server's (the proxy; the upstream itself for `direct`). */
  readonly server: Child;
}

const WARMUP_SECONDS = 3;
const PAUSE_BETWEEN_RUNS_MS = 500;

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function nginxErrorLog(dir: string): string {
  try {
    return `\nnginx error.log:\n${readFileSync(join(dir, 'error.log'), 'utf8').trim()}`;
  } catch {
    return '';
  }
}

async function startNginxServer(
  group: ProcessGroup,
  nginxPath: string,
  name: string,
  dir: string,
  config: (port: number) => string,
): Promise<Server> {
  const port = await freePort();
  const child = startNginx(group, nginxPath, name, dir, config(port));
  await waitUntilServing(child, port, nginxErrorLog(dir));
  return { child, port };
}

async function measure(load: LoadGenerator, target: Target, upstream: Child, options: BenchOptions, round: number): Promise<Run> {
  const serverBefore = treeCpuTicks(target.server.pid);
  const upstreamBefore = treeCpuTicks(upstream.pid);
  const result = await load.run(target.port, options.duration, options.connections);
  const serverTicks = treeCpuTicks(target.server.pid) - serverBefore;
  const upstreamTicks = treeCpuTicks(upstream.pid) - upstreamBefore;
  const perRequest = (ticks: number): number => (result.requests > 0 ? (ticks * TICK_US) / result.requests : 0);
  return {
    ...result,
    round,
    serverCpuUsPerRequest: perRequest(serverTicks),
    upstreamCpuUsPerRequest: target.server === upstream ? null : perRequest(upstreamTicks),
  };
}

async function bench(options: BenchOptions, group: ProcessGroup, workDir: string): Promise<void> {
  const startedAt = new Date();
  const git = gitState(repoRoot);
  const quiet = await quietnessWarnings();
  say(`Postern proxy benchmark — ${cpus().length} cores, node ${process.version}, commit ${git.commit}${git.dirty ? ' (work tree differs)' : ''}`);
  say(`load average ${quiet.loadavg.join(' ')}; CPU busy in the last second: ${(quiet.busyShare * 100).toFixed(0)}%`);
  for (const w of quiet.warnings) say(`WARNING: ${w}; the numbers will be noisy, ratios less so`);

  const tools = ensureTools();
  for (const note of tools.notes) say(`note: ${note}`);
  const load = tools.wrk ? wrkGenerator(group, tools.wrk) : autocannonGenerator();
  if (!tools.wrk) say('note: wrk is not available, using autocannon instead');
  if (options.upstream === 'nginx' && !tools.nginx) {
    throw new Error('--upstream=nginx needs nginx, which is not installed (see the notes above)');
  }

  const upstreamDir = join(workDir, 'nginx-upstream');
  const upstream =
    options.upstream === 'uws'
      ? await startUwsUpstream(group)
      : await startNginxServer(group, tools.nginx!, 'nginx upstream', upstreamDir, (port) =>
          staticConfig(upstreamDir, port, HELLO_BODY),
        );
  const targets: Target[] = [{ name: 'direct', port: upstream.port, server: upstream.child }];
  const skipped: Record<string, string> = {};

  if (tools.nginx) {
    const dir = join(workDir, 'nginx-proxy');
    const proxy = await startNginxServer(group, tools.nginx, 'nginx proxy', dir, (port) =>
      proxyConfig(dir, port, upstream.port, options.connections),
    );
    targets.push({ name: 'nginx', port: proxy.port, server: proxy.child });
  } else {
    skipped.nginx = 'nginx is not installed';
  }

  try {
    const postern = await startPostern(group, join(workDir, 'postern'), upstream.port);
    targets.push({ name: 'postern', port: postern.port, server: postern.child });
  } catch (err) {
    skipped.postern = (err as Error).message;
  }
  for (const [name, why] of Object.entries(skipped)) say(`SKIPPED ${name}: ${why}`);

  say(
    `\nload: ${load.name}, ${options.connections} connections, no pipelining, ${options.duration} s per run, ` +
      `${options.rounds} interleaved rounds after a ${WARMUP_SECONDS} s warm-up per target`,
  );
  say(`upstream: ${options.upstream === 'uws' ? 'uWS.js hello world' : 'nginx static 200'}, "${HELLO_BODY}"`);
  say(`logging off the measurement: nginx access_log off, Postern log_level ${POSTERN_LOG_LEVEL}`);

  for (const target of targets) {
    await load.run(target.port, Math.min(WARMUP_SECONDS, options.duration), options.connections);
  }
  const runs: Partial<Record<TargetName, Run[]>> = {};
  for (let round = 1; round <= options.rounds; round++) {
    // Rotate the order each round so that no target always runs first or last.
    const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
    for (const target of order) {
      await new Promise((r) => setTimeout(r, PAUSE_BETWEEN_RUNS_MS));
      const run = await measure(load, target, upstream.child, options, round);
      (runs[target.name] ??= []).push(run);
      say(
        `round ${round} ${target.name.padEnd(7)} ${Math.round(run.requestsPerSecond).toLocaleString('en-US').padStart(8)} req/s  ` +
          `p99 ${(run.p99Us / 1000).toFixed(2)} ms  server CPU ${run.serverCpuUsPerRequest.toFixed(1)} µs/req` +
          (run.errors > 0 ? `  ERRORS ${run.errors}` : ''),
      );
    }
  }

  const summaries: Partial<Record<TargetName, TargetSummary>> = {};
  for (const target of targets) summaries[target.name] = summarise(runs[target.name]!);
  const comparison = compare(summaries);
  say(`\n${formatTable(summaries, runs)}\n`);
  say(formatComparison(comparison));
  if (Object.values(summaries).some((s) => s.errors > 0)) {
    say('WARNING: some runs had errors (socket errors, timeouts or non-2xx answers): their numbers are suspect');
  }
  if (load.caveat) say(`note: ${load.caveat}`);

  const file = writeResults(resultsDir, startedAt, git.commit, {
    date: startedAt.toISOString(),
    commit: git.commit,
    workTreeDirty: git.dirty,
    machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', kernel: release(), node: process.version },
    loadBefore: { loadavg: quiet.loadavg, busyShare: quiet.busyShare, warnings: quiet.warnings },
    options,
    loadGenerator: tools.wrk ? toolVersion(tools.wrk, '-v') : 'autocannon',
    nginx: tools.nginx ? toolVersion(tools.nginx, '-v') : null,
    posternLogLevel: POSTERN_LOG_LEVEL,
    skipped,
    runs,
    summaries,
    comparison,
  });
  say(`\nresults written to ${file}`);
}

async function main(): Promise<number> {
  let options: BenchOptions | null;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (options === null) {
    say(USAGE);
    return 0;
  }

  mkdirSync(workRoot, { recursive: true });
  const workDir = mkdtempSync(join(workRoot, 'run-'));
  const group = new ProcessGroup();
  let cleaned: Promise<void> | null = null;
  let interrupted = false;
  const cleanUp = (): Promise<void> =>
    (cleaned ??= group.stopAll().then(() => rmSync(workDir, { recursive: true, force: true })));
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    say(`\n${signal}: stopping everything the benchmark started …`);
    void cleanUp().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await bench(options, group, workDir);
    return 0;
  } catch (err) {
    // After Ctrl-C the run fails only because its processes were stopped.
    if (!interrupted) process.stderr.write(`benchmark failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await cleanUp();
  }
}

process.exitCode = await main();
