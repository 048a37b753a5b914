// The floor of this stack: how fast can ANY proxy built from uWS.js v20.30
// and Node 20 relay the hello upstream on this machine, next to the
// upstream hit directly and nginx proxy_pass? The thinnest relays possible
// (bench/relays/) are measured in the same run and the same way as
// `npm run bench` measures Postern (wrk, one request in flight per
// connection, CPU of the relay's process from /proc, interleaved rounds,
// runs disturbed by other processes measured again):
//   (a) uWS answering a fixed 200 itself, in the handler (sync) and after
//       the handler returned, corked (deferred): the front end's own floor;
//   (b) uWS → keep-alive node:net sockets, a pre-built GET and a
//       Content-Length-only parser: the floor of a relay on this stack,
//       reading with 'data' events and with onread into a reused buffer;
//   (c) the same relay over undici, with Pool.request() and with
//       Pool.dispatch(), and over Postern's own HTTP/1.1 pool
//       (src/upstream/http1, what Postern uses): what a client costs;
//   (d) Postern itself, on a public route.
// If (b) does not reach 0.9× nginx, no proxy on this stack will; the gaps
// (a)→(b)→(c)→(d) say where the rest of the time goes.
// Run after a build (wrk and nginx come from Debian, as for `npm run bench`):
//   npx tsc -p tsconfig.json && node dist/bench/floor.js [--duration=10] [--connections=50] [--rounds=3]
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { USAGE, type BenchOptions } from './lib/args.js';
import { runBench } from './lib/main.js';
import { describeTail, ProcessGroup, type Child } from './lib/children.js';
import { FOREIGN_SHARE_LIMIT, foreignShare, readCpu, treeCpuSplit, treeCpuTicks, TICK_US, waitForQuiet } from './lib/cpu.js';
import { ensureTools, gitState, quietnessWarnings } from './lib/host.js';
import { wrkGenerator, autocannonGenerator, type LoadGenerator, type LoadRequest, type LoadResult } from './lib/load.js';
import { proxyConfig, startNginx, staticConfig } from './lib/nginx.js';
import { repoRoot } from './lib/paths.js';
import { median } from './lib/report.js';
import { HELLO_BODY } from './lib/hello.js';
import { BENCH_HOST, freePort, httpGet, startAnnouncedServer, startPostern, startUwsUpstream, waitUntilServing, type Server } from './lib/servers.js';

const FLOOR_USAGE = `usage: node dist/bench/floor.js [--duration=10] [--connections=50] [--rounds=3] [--upstream=uws|nginx]\n${USAGE.split('\n').slice(1).join('\n')}`;

const WARMUP_SECONDS = 3;
const PAUSE_BETWEEN_RUNS_MS = 500;
/** A run disturbed by other processes is measured again, at most this often in all, after waiting for quiet. */
const MAX_TRIES = 5;
const QUIET_WAIT_MS = 5 * 60_000;

const relayMain = (file: string): string => fileURLToPath(new URL(`./relays/${file}`, import.meta.url));

interface Target {
  readonly name: string;
  readonly label: string;
  /** The process whose CPU counts: the relay (the upstream itself for `direct`). */
  readonly server: Child;
  readonly port: number;
}

interface FloorRun extends LoadResult {
  readonly serverCpuUsPerRequest: number;
  /** Of serverCpuUsPerRequest, the part spent in the kernel (system calls, loopback TCP). */
  readonly serverSystemUsPerRequest: number;
  /** CPU of the upstream behind the relay, µs per request; null for `direct`. */
  readonly upstreamCpuUsPerRequest: number | null;
  readonly foreignCpuShare: number;
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function request(port: number): LoadRequest {
  return { port, host: BENCH_HOST, path: '/', headers: [] };
}

async function startNginxServer(group: ProcessGroup, nginxPath: string, name: string, dir: string, config: (port: number) => string): Promise<Server> {
  const port = await freePort();
  const child = startNginx(group, nginxPath, name, dir, config(port));
  await waitUntilServing(child, port);
  return { child, port };
}

async function measure(load: LoadGenerator, target: Target, upstream: Child, options: BenchOptions): Promise<FloorRun> {
  const machineBefore = readCpu();
  const serverBefore = treeCpuSplit(target.server.pid);
  const upstreamBefore = treeCpuTicks(upstream.pid);
  const result = await load.run(request(target.port), options.duration, options.connections);
  const serverAfter = treeCpuSplit(target.server.pid);
  const upstreamTicks = treeCpuTicks(upstream.pid) - upstreamBefore;
  const foreignCpuShare = foreignShare(machineBefore, readCpu());
  const perRequest = (ticks: number): number => (result.requests > 0 ? (ticks * TICK_US) / result.requests : 0);
  return {
    ...result,
    serverCpuUsPerRequest: perRequest(serverAfter.user + serverAfter.system - serverBefore.user - serverBefore.system),
    serverSystemUsPerRequest: perRequest(serverAfter.system - serverBefore.system),
    upstreamCpuUsPerRequest: target.server === upstream ? null : perRequest(upstreamTicks),
    foreignCpuShare,
  };
}

/** Measures `target`, and again while others took more than FOREIGN_SHARE_LIMIT of the machine, up to MAX_TRIES. */
async function measureUndisturbed(load: LoadGenerator, target: Target, upstream: Child, options: BenchOptions, round: number): Promise<FloorRun> {
  for (let attempt = 1; ; attempt++) {
    const run = await measure(load, target, upstream, options);
    if (run.foreignCpuShare <= FOREIGN_SHARE_LIMIT || attempt === MAX_TRIES) return run;
    say(`round ${round} ${target.name}: other processes took ${(run.foreignCpuShare * 100).toFixed(0)}% of the CPU; measuring again once the machine is quiet`);
    await waitForQuiet(QUIET_WAIT_MS);
  }
}

/**
 * Ratios to nginx are taken round by round (each target against nginx's
 * run of the same round) and then the median: the speed of a shared
 * virtual machine drifts between rounds, and a ratio of medians taken in
 * different rounds would measure the drift.
 */
function medianRatioToNginx(measured: readonly FloorRun[], nginx: readonly FloorRun[] | undefined, value: (r: FloorRun) => number): string {
  if (nginx === undefined || nginx.length !== measured.length) return 'n/a';
  return `${median(measured.map((r, i) => value(r) / value(nginx[i]!))).toFixed(2)}×`;
}

function formatTable(targets: readonly Target[], runs: ReadonlyMap<string, FloorRun[]>): string {
  const nginx = runs.get('nginx');
  const header = ['target', 'req/s', '× nginx', 'p50 ms', 'p99 ms', 'relay CPU µs/req', 'of it sys', 'CPU × nginx', 'upstream µs/req', 'errors', 'req/s per round'];
  const widths = [34, 9, 8, 7, 7, 16, 9, 11, 15, 6, 0];
  const row = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [row(header)];
  for (const target of targets) {
    const measured = runs.get(target.name) ?? [];
    if (measured.length === 0) continue;
    const of = (value: (r: FloorRun) => number): number => median(measured.map(value));
    lines.push(
      row([
        target.label,
        Math.round(of((r) => r.requestsPerSecond)).toLocaleString('en-US'),
        medianRatioToNginx(measured, nginx, (r) => r.requestsPerSecond),
        (of((r) => r.p50Us) / 1000).toFixed(2),
        (of((r) => r.p99Us) / 1000).toFixed(2),
        of((r) => r.serverCpuUsPerRequest).toFixed(1),
        of((r) => r.serverSystemUsPerRequest).toFixed(1),
        medianRatioToNginx(measured, nginx, (r) => r.serverCpuUsPerRequest),
        measured[0]!.upstreamCpuUsPerRequest === null ? '-' : of((r) => r.upstreamCpuUsPerRequest!).toFixed(1),
        String(measured.reduce((sum, r) => sum + r.errors, 0)),
        measured.map((r) => Math.round(r.requestsPerSecond).toLocaleString('en-US')).join(' '),
      ]),
    );
  }
  return lines.join('\n');
}

async function floor(options: BenchOptions, group: ProcessGroup, workDir: string): Promise<void> {
  const git = gitState(repoRoot);
  const quiet = await quietnessWarnings();
  say(`Floor of uWS.js + Node as a proxy — ${cpus().length} cores, node ${process.version}, commit ${git.commit}${git.dirty ? ' (work tree differs)' : ''}`);
  say(`load average ${quiet.loadavg.join(' ')}; CPU busy in the last second: ${(quiet.busyShare * 100).toFixed(0)}%`);
  for (const w of quiet.warnings) say(`WARNING: ${w}; the numbers will be noisy, ratios less so`);
  const tools = ensureTools();
  for (const note of tools.notes) say(`note: ${note}`);
  const load = tools.wrk ? wrkGenerator(group, tools.wrk) : autocannonGenerator();
  if (options.upstream === 'nginx' && !tools.nginx) throw new Error('--upstream=nginx needs nginx, which is not installed');

  const upstreamDir = join(workDir, 'nginx-upstream');
  const upstream =
    options.upstream === 'uws'
      ? await startUwsUpstream(group)
      : await startNginxServer(group, tools.nginx!, 'nginx upstream', upstreamDir, (port) => staticConfig(upstreamDir, port));
  const up = String(upstream.port);
  const targets: Target[] = [{ name: 'direct', label: 'upstream direct', server: upstream.child, port: upstream.port }];
  if (tools.nginx) {
    const dir = join(workDir, 'nginx-proxy');
    const proxy = await startNginxServer(group, tools.nginx, 'nginx proxy', dir, (port) => proxyConfig(dir, port, upstream.port, options.connections));
    targets.push({ name: 'nginx', label: 'nginx proxy_pass', server: proxy.child, port: proxy.port });
  } else {
    say('SKIPPED nginx: not installed; no ratios to nginx');
  }
  const relays: [name: string, label: string, main: string, args: string[]][] = [
    ['fixed-sync', '(a) uWS fixed 200, in handler', 'fixed-200.js', ['sync']],
    ['fixed-deferred', '(a) uWS fixed 200, deferred+cork', 'fixed-200.js', ['deferred']],
    ['net-data', "(b) uWS → node:net, 'data'", 'net-relay.js', ['data', up]],
    ['net-onread', '(b) uWS → node:net, onread', 'net-relay.js', ['onread', up]],
    ['undici-request', '(c) uWS → undici Pool.request', 'undici-relay.js', ['request', up]],
    ['undici-dispatch', '(c) uWS → undici Pool.dispatch', 'undici-relay.js', ['dispatch', up]],
    ['http1-dispatch', "(c) uWS → Postern's HTTP/1.1 pool", 'http1-relay.js', [up]],
  ];
  for (const [name, label, main, args] of relays) {
    const relay = await startAnnouncedServer(group, name, relayMain(main), args);
    targets.push({ name, label, server: relay.child, port: relay.port });
  }
  try {
    const port = await freePort();
    const postern = await startPostern(group, join(workDir, 'postern'), port, upstream.port, null);
    targets.push({ name: 'postern', label: '(d) Postern, public route', server: postern.child, port });
  } catch (err) {
    say(`SKIPPED postern: ${(err as Error).message}`);
  }

  // Every target must really answer with the upstream's body, or its numbers measure something else.
  for (const target of targets) {
    const answer = await httpGet(request(target.port));
    if (answer.status !== 200 || answer.body !== HELLO_BODY) {
      throw new Error(`${target.name} answered ${answer.status} "${answer.body.slice(0, 100)}", not 200 "${HELLO_BODY}"`);
    }
  }
  say(
    `\nload: ${load.name}, ${options.connections} connections, no pipelining, ${options.duration} s per run, ${options.rounds} rounds ` +
      `(order rotated), ${WARMUP_SECONDS} s warm-up each; upstream: ${options.upstream === 'uws' ? 'uWS.js hello world' : 'static nginx'}, own process`,
  );
  for (const target of targets) await load.run(request(target.port), Math.min(WARMUP_SECONDS, options.duration), options.connections);
  const runs = new Map<string, FloorRun[]>();
  for (let round = 1; round <= options.rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
    for (const target of order) {
      await new Promise((r) => setTimeout(r, PAUSE_BETWEEN_RUNS_MS));
      const run = await measureUndisturbed(load, target, upstream.child, options, round);
      if (target.server.hasExited()) throw new Error(`${target.name} exited during its run:\n${describeTail(target.server)}`);
      let list = runs.get(target.name);
      if (list === undefined) runs.set(target.name, (list = []));
      list.push(run);
      say(
        `round ${round} ${target.name.padEnd(16)} ${Math.round(run.requestsPerSecond).toLocaleString('en-US').padStart(8)} req/s  ` +
          `p99 ${(run.p99Us / 1000).toFixed(2)} ms  relay CPU ${run.serverCpuUsPerRequest.toFixed(1)} µs/req ` +
          `(sys ${run.serverSystemUsPerRequest.toFixed(1)})  ` +
          `others ${(run.foreignCpuShare * 100).toFixed(1)}%${run.errors > 0 ? `  ERRORS ${run.errors}` : ''}`,
      );
    }
  }
  say(
    `\nmedians of ${options.rounds} rounds; "× nginx" columns: median of the per-round ratios; ` +
      `"relay CPU" is the process the load generator talks to (the upstream itself for direct)\n`,
  );
  say(formatTable(targets, runs));
  const disturbed = [...runs.values()].flat().filter((r) => r.foreignCpuShare > FOREIGN_SHARE_LIMIT).length;
  if (disturbed > 0) say(`WARNING: ${disturbed} run(s) kept although other processes took more than ${FOREIGN_SHARE_LIMIT * 100}% of the CPU`);
  if (load.caveat) say(`note: ${load.caveat}`);
}

process.exitCode = await runBench({ usage: FLOOR_USAGE, workPrefix: 'floor-', failure: 'floor benchmark failed', run: floor });
