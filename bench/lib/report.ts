// Turning the runs into the numbers we decide on: medians per target, the
// Postern/nginx and Postern/direct ratios, the goals, a table for
// people and a JSON file for the record.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.js';

export type TargetName = 'direct' | 'nginx' | 'postern';

export interface Run extends LoadResult {
  readonly round: number;
  /** CPU of the server the load generator talks to (the upstream itself for `direct`), µs per request. */
  readonly serverCpuUsPerRequest: number;
  /** CPU of the upstream behind a proxy, µs per request; null for `direct`. */
  readonly upstreamCpuUsPerRequest: number | null;
}

export interface TargetSummary {
  readonly requestsPerSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly serverCpuUsPerRequest: number;
  readonly upstreamCpuUsPerRequest: number | null;
  readonly errors: number;
}

/** The goals for Postern against nginx proxy_pass on the same upstream. */
export const GOALS = { minRequestsRatioToNginx: 0.9, maxCpuUsPerRequest: 30 } as const;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarise(runs: readonly Run[]): TargetSummary {
  const upstream = runs.map((r) => r.upstreamCpuUsPerRequest).filter((v) => v !== null);
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Us: median(runs.map((r) => r.p50Us)),
    p99Us: median(runs.map((r) => r.p99Us)),
    serverCpuUsPerRequest: median(runs.map((r) => r.serverCpuUsPerRequest)),
    upstreamCpuUsPerRequest: upstream.length > 0 ? median(upstream) : null,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

export interface Comparison {
  readonly posternToNginxRequests: number | null;
  readonly posternToDirectRequests: number | null;
  readonly posternToNginxCpu: number | null;
  readonly goals: {
    readonly requestsAtLeast90PercentOfNginx: 'PASS' | 'MISS' | 'n/a';
    readonly cpuAtMost30UsPerRequest: 'PASS' | 'MISS' | 'n/a';
  };
}

export function compare(summaries: Partial<Record<TargetName, TargetSummary>>): Comparison {
  const { direct, nginx, postern } = summaries;
  const ratio = (a: number | undefined, b: number | undefined): number | null =>
    a === undefined || b === undefined || b === 0 ? null : a / b;
  const toNginx = ratio(postern?.requestsPerSecond, nginx?.requestsPerSecond);
  return {
    posternToNginxRequests: toNginx,
    posternToDirectRequests: ratio(postern?.requestsPerSecond, direct?.requestsPerSecond),
    posternToNginxCpu: ratio(postern?.serverCpuUsPerRequest, nginx?.serverCpuUsPerRequest),
    goals: {
      requestsAtLeast90PercentOfNginx:
        toNginx === null ? 'n/a' : toNginx >= GOALS.minRequestsRatioToNginx ? 'PASS' : 'MISS',
      cpuAtMost30UsPerRequest:
        postern === undefined
          ? 'n/a'
          : postern.serverCpuUsPerRequest <= GOALS.maxCpuUsPerRequest
            ? 'PASS'
            : 'MISS',
    },
  };
}

const LABELS: Record<TargetName, string> = {
  direct: 'upstream direct',
  nginx: 'nginx proxy_pass',
  postern: 'Postern',
};

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function ms(us: number): string {
  return `${(us / 1000).toFixed(2)} ms`;
}

export function formatTable(
  summaries: Partial<Record<TargetName, TargetSummary>>,
  runs: Partial<Record<TargetName, readonly Run[]>>,
): string {
  const header = ['target', 'req/s (median)', 'p50', 'p99', 'server CPU µs/req', 'upstream CPU µs/req', 'errors', 'req/s per round'];
  const widths = [18, 15, 10, 10, 18, 20, 7, 0];
  const lines = [header.map((h, i) => pad(h, widths[i]!, i > 0 && i < 7)).join('  ')];
  for (const name of ['direct', 'nginx', 'postern'] as const) {
    const s = summaries[name];
    if (!s) continue;
    const cells = [
      LABELS[name],
      Math.round(s.requestsPerSecond).toLocaleString('en-US'),
      ms(s.p50Us),
      ms(s.p99Us),
      s.serverCpuUsPerRequest.toFixed(1),
      s.upstreamCpuUsPerRequest === null ? '-' : s.upstreamCpuUsPerRequest.toFixed(1),
      String(s.errors),
      (runs[name] ?? []).map((r) => Math.round(r.requestsPerSecond).toLocaleString('en-US')).join(' '),
    ];
    lines.push(cells.map((c, i) => pad(c, widths[i]!, i > 0 && i < 7)).join('  '));
  }
  return lines.join('\n');
}

export function formatComparison(c: Comparison): string {
  const r = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(2)}×`);
  return [
    `Postern / nginx   requests/s: ${r(c.posternToNginxRequests)}   CPU per request: ${r(c.posternToNginxCpu)}`,
    `Postern / direct  requests/s: ${r(c.posternToDirectRequests)}`,
    `goal: Postern ≥ ${GOALS.minRequestsRatioToNginx}× nginx requests/s ........ ${c.goals.requestsAtLeast90PercentOfNginx}`,
    `goal: Postern ≤ ${GOALS.maxCpuUsPerRequest} µs of proxy CPU per request .. ${c.goals.cpuAtMost30UsPerRequest}`,
  ].join('\n');
}

/** Writes the record to `<dir>/<YYYY-MM-DD>-<commit>.json` and returns its path. */
export function writeResults(dir: string, date: Date, commit: string, record: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date.toISOString().slice(0, 10)}-${commit}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
