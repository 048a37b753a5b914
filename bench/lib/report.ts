// Turning the runs into the numbers we decide on: medians per target, the
// Postern/nginx and Postern/direct ratios, what the signed-in routes cost
// next to the public one, the issues' goals, a table for people and a JSON
// file for the record.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.js';

/**
 * `postern` is the public route; `postern-auth` the same Postern's route that
 * needs a session cookie (issue 3); `postern-policy` its route with a
 * realistic policy and identity headers passed to the upstream (issue 4).
 */
export type TargetName = 'direct' | 'nginx' | 'postern' | 'postern-auth' | 'postern-policy';

/** Every target, in the order of the table. */
export const TARGET_NAMES: readonly TargetName[] = ['direct', 'nginx', 'postern', 'postern-auth', 'postern-policy'];

export interface Run extends LoadResult {
  readonly round: number;
  /** CPU of the server the load generator talks to (the upstream itself for `direct`), µs per request. */
  readonly serverCpuUsPerRequest: number;
  /** CPU of the upstream behind a proxy, µs per request; null for `direct`. */
  readonly upstreamCpuUsPerRequest: number | null;
  /** CPU of the identity provider, µs per request; null except for the signed-in targets. */
  readonly identityProviderCpuUsPerRequest: number | null;
  /** Share of the machine (0..1) that processes outside the benchmark took during the run. */
  readonly foreignCpuShare: number;
  /** Runs of this target and round thrown away before this one because others disturbed them. */
  readonly disturbedRetries: number;
}

export interface TargetSummary {
  readonly requestsPerSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly serverCpuUsPerRequest: number;
  readonly upstreamCpuUsPerRequest: number | null;
  readonly identityProviderCpuUsPerRequest: number | null;
  readonly errors: number;
}

/**
 * The issues' goals. Issue 2: Postern against nginx proxy_pass on the same
 * upstream. Issue 3: the session check costs no network round trip, read
 * as the identity provider's CPU while the authenticated route is under
 * load. Any call to oidc-provider (userinfo, token, JWKS) costs it far more
 * than 100 µs, while an idle Node process shows a tick or two in a run of
 * hundreds of thousands of requests: 1 µs per request tells them apart.
 * Issue 4: the policy route with identity headers against nginx (which
 * authenticates nobody) on the same upstream.
 */
export const GOALS = {
  minRequestsRatioToNginx: 0.9,
  maxCpuUsPerRequest: 30,
  maxIdentityProviderCpuUsPerRequest: 1,
  minPolicyRequestsRatioToNginx: 0.8,
} as const;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const present = values.filter((v) => v !== null);
  return present.length > 0 ? median(present) : null;
}

export function summarise(runs: readonly Run[]): TargetSummary {
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Us: median(runs.map((r) => r.p50Us)),
    p99Us: median(runs.map((r) => r.p99Us)),
    serverCpuUsPerRequest: median(runs.map((r) => r.serverCpuUsPerRequest)),
    upstreamCpuUsPerRequest: medianOrNull(runs.map((r) => r.upstreamCpuUsPerRequest)),
    identityProviderCpuUsPerRequest: medianOrNull(runs.map((r) => r.identityProviderCpuUsPerRequest)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

export interface Comparison {
  readonly posternToNginxRequests: number | null;
  readonly posternToDirectRequests: number | null;
  readonly posternToNginxCpu: number | null;
  /** The authenticated route against nginx and against the same Postern's public route. */
  readonly posternAuthToNginxRequests: number | null;
  readonly posternAuthToPosternRequests: number | null;
  readonly posternAuthToNginxCpu: number | null;
  readonly posternAuthToPosternCpu: number | null;
  /** Proxy CPU µs per request of the authenticated route minus the public route's: what the session check adds. */
  readonly posternAuthExtraCpuUsPerRequest: number | null;
  /** The policy route against nginx, the public route and the route that only needs sign-in. */
  readonly posternPolicyToNginxRequests: number | null;
  readonly posternPolicyToPosternRequests: number | null;
  readonly posternPolicyToAuthRequests: number | null;
  readonly posternPolicyToNginxCpu: number | null;
  /** Proxy CPU µs per request of the policy route minus the public route's: session check, policy and identity headers. */
  readonly posternPolicyExtraCpuUsPerRequest: number | null;
  /** The same minus the signed-in route's: what the policy and the identity headers add to a session check. */
  readonly posternPolicyOverAuthCpuUsPerRequest: number | null;
  readonly goals: {
    readonly requestsAtLeast90PercentOfNginx: Verdict;
    readonly cpuAtMost30UsPerRequest: Verdict;
    readonly sessionCheckWithoutRoundTrip: Verdict;
    readonly policyRouteAtLeast80PercentOfNginx: Verdict;
  };
}

export type Verdict = 'PASS' | 'MISS' | 'n/a';

function verdict(value: number | null, passes: (v: number) => boolean): Verdict {
  return value === null ? 'n/a' : passes(value) ? 'PASS' : 'MISS';
}

function difference(a: TargetSummary | undefined, b: TargetSummary | undefined): number | null {
  return a === undefined || b === undefined ? null : a.serverCpuUsPerRequest - b.serverCpuUsPerRequest;
}

export function compare(summaries: Partial<Record<TargetName, TargetSummary>>): Comparison {
  const { direct, nginx, postern } = summaries;
  const auth = summaries['postern-auth'];
  const policy = summaries['postern-policy'];
  const ratio = (a: number | undefined, b: number | undefined): number | null =>
    a === undefined || b === undefined || b === 0 ? null : a / b;
  const toNginx = ratio(postern?.requestsPerSecond, nginx?.requestsPerSecond);
  const policyToNginx = ratio(policy?.requestsPerSecond, nginx?.requestsPerSecond);
  // Both signed-in routes check the session; the worse reading decides.
  const idpReadings = [auth?.identityProviderCpuUsPerRequest, policy?.identityProviderCpuUsPerRequest].filter(
    (v): v is number => v !== undefined && v !== null,
  );
  const idpCpu = idpReadings.length > 0 ? Math.max(...idpReadings) : null;
  return {
    posternToNginxRequests: toNginx,
    posternToDirectRequests: ratio(postern?.requestsPerSecond, direct?.requestsPerSecond),
    posternToNginxCpu: ratio(postern?.serverCpuUsPerRequest, nginx?.serverCpuUsPerRequest),
    posternAuthToNginxRequests: ratio(auth?.requestsPerSecond, nginx?.requestsPerSecond),
    posternAuthToPosternRequests: ratio(auth?.requestsPerSecond, postern?.requestsPerSecond),
    posternAuthToNginxCpu: ratio(auth?.serverCpuUsPerRequest, nginx?.serverCpuUsPerRequest),
    posternAuthToPosternCpu: ratio(auth?.serverCpuUsPerRequest, postern?.serverCpuUsPerRequest),
    posternAuthExtraCpuUsPerRequest: difference(auth, postern),
    posternPolicyToNginxRequests: policyToNginx,
    posternPolicyToPosternRequests: ratio(policy?.requestsPerSecond, postern?.requestsPerSecond),
    posternPolicyToAuthRequests: ratio(policy?.requestsPerSecond, auth?.requestsPerSecond),
    posternPolicyToNginxCpu: ratio(policy?.serverCpuUsPerRequest, nginx?.serverCpuUsPerRequest),
    posternPolicyExtraCpuUsPerRequest: difference(policy, postern),
    posternPolicyOverAuthCpuUsPerRequest: difference(policy, auth),
    goals: {
      requestsAtLeast90PercentOfNginx: verdict(toNginx, (r) => r >= GOALS.minRequestsRatioToNginx),
      cpuAtMost30UsPerRequest: verdict(postern?.serverCpuUsPerRequest ?? null, (us) => us <= GOALS.maxCpuUsPerRequest),
      sessionCheckWithoutRoundTrip: verdict(idpCpu, (us) => us <= GOALS.maxIdentityProviderCpuUsPerRequest),
      policyRouteAtLeast80PercentOfNginx: verdict(policyToNginx, (r) => r >= GOALS.minPolicyRequestsRatioToNginx),
    },
  };
}

const LABELS: Record<TargetName, string> = {
  direct: 'upstream direct',
  nginx: 'nginx proxy_pass',
  postern: 'Postern public',
  'postern-auth': 'Postern signed-in',
  'postern-policy': 'Postern policy+identity',
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
  const widths = [23, 15, 10, 10, 18, 20, 7, 0];
  const lines = [header.map((h, i) => pad(h, widths[i]!, i > 0 && i < 7)).join('  ')];
  for (const name of TARGET_NAMES) {
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

function signedUs(us: number): string {
  return `${us >= 0 ? '+' : ''}${us.toFixed(1)} µs`;
}

export function formatComparison(
  c: Comparison,
  auth: TargetSummary | undefined,
  policy: TargetSummary | undefined,
): string {
  const r = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(2)}×`);
  const lines = [
    `Postern public / nginx            requests/s: ${r(c.posternToNginxRequests)}   CPU per request: ${r(c.posternToNginxCpu)}`,
    `Postern public / direct           requests/s: ${r(c.posternToDirectRequests)}`,
  ];
  if (auth !== undefined) {
    lines.push(
      `Postern signed-in / nginx         requests/s: ${r(c.posternAuthToNginxRequests)}   CPU per request: ${r(c.posternAuthToNginxCpu)}`,
      `Postern signed-in / public route  requests/s: ${r(c.posternAuthToPosternRequests)}   CPU per request: ${r(c.posternAuthToPosternCpu)}` +
        (c.posternAuthExtraCpuUsPerRequest === null ? '' : ` (${signedUs(c.posternAuthExtraCpuUsPerRequest)})`),
      `identity provider CPU under the signed-in load: ${(auth.identityProviderCpuUsPerRequest ?? 0).toFixed(3)} µs/req`,
    );
  }
  if (policy !== undefined) {
    const extra = (us: number | null): string => (us === null ? 'n/a' : signedUs(us));
    lines.push(
      `Postern policy+identity / nginx     requests/s: ${r(c.posternPolicyToNginxRequests)}   CPU per request: ${r(c.posternPolicyToNginxCpu)}`,
      `Postern policy+identity / public    requests/s: ${r(c.posternPolicyToPosternRequests)}   CPU per request: ${extra(c.posternPolicyExtraCpuUsPerRequest)}`,
      `Postern policy+identity / signed-in requests/s: ${r(c.posternPolicyToAuthRequests)}   CPU per request: ${extra(c.posternPolicyOverAuthCpuUsPerRequest)}`,
      `identity provider CPU under the policy load: ${(policy.identityProviderCpuUsPerRequest ?? 0).toFixed(3)} µs/req`,
    );
  }
  const goal = (text: string, verdict: string): string => `goal: ${`${text} `.padEnd(56, '.')} ${verdict}`;
  lines.push(
    goal(`Postern public ≥ ${GOALS.minRequestsRatioToNginx}× nginx requests/s`, c.goals.requestsAtLeast90PercentOfNginx),
    goal(`Postern public ≤ ${GOALS.maxCpuUsPerRequest} µs of proxy CPU per request`, c.goals.cpuAtMost30UsPerRequest),
    goal('session check without a network round trip', c.goals.sessionCheckWithoutRoundTrip) +
      ` (identity provider CPU ≤ ${GOALS.maxIdentityProviderCpuUsPerRequest} µs/req)`,
    goal(`Postern policy+identity ≥ ${GOALS.minPolicyRequestsRatioToNginx}× nginx requests/s`, c.goals.policyRouteAtLeast80PercentOfNginx),
  );
  return lines.join('\n');
}

/** Writes the record to `<dir>/<YYYY-MM-DD>-<commit>.json` and returns its path. */
export function writeResults(dir: string, date: Date, commit: string, record: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date.toISOString().slice(0, 10)}-${commit}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
