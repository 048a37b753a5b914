// The load generators: wrk (Debian) when present, autocannon (in-process)
// otherwise. Both keep one request in flight per connection: uWS v20.30
// drops a connection that pipelines behind an asynchronous response
// (engineering.md A1.9), so pipelining would measure that, not the proxy.
import { createRequire } from 'node:module';
import { describeTail, type ProcessGroup } from './children.js';
import { wrkReportScript } from './paths.js';

/** What every request of a run looks like: GET `path` on 127.0.0.1:port with these headers. */
export interface LoadRequest {
  readonly port: number;
  /** The request target, `/` except on the policy route, whose http_path rule reads it. */
  readonly path: string;
  /** The Host header: it picks the route. */
  readonly host: string;
  /** More request headers, [name, value] (the session cookie of the authenticated route). */
  readonly headers: readonly (readonly [string, string])[];
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Socket errors, timeouts and error statuses (`statusErrors`). */
  readonly errors: number;
  /**
   * Responses with an error status: 4xx and 5xx for wrk, which does not
   * count redirects; anything but 2xx for autocannon.
   */
  readonly statusErrors: number;
}

export interface LoadGenerator {
  readonly name: string;
  /** Said in the report when the generator limits what can be seen. */
  readonly caveat: string | null;
  run(request: LoadRequest, seconds: number, connections: number): Promise<LoadResult>;
}

interface WrkReport {
  requests: number;
  duration_us: number;
  connect_errors: number;
  read_errors: number;
  write_errors: number;
  status_errors: number;
  timeouts: number;
  p50_us: number;
  p99_us: number;
}

export function wrkGenerator(group: ProcessGroup, wrkPath: string): LoadGenerator {
  return {
    name: 'wrk',
    caveat: null,
    async run(request, seconds, connections) {
      // One thread: on 2 cores a second wrk thread only takes CPU from the servers under test.
      const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', wrkReportScript];
      args.push('-H', `Host: ${request.host}`);
      for (const [name, value] of request.headers) args.push('-H', `${name}: ${value}`);
      args.push(`http://127.0.0.1:${request.port}${request.path}`);
      let report: WrkReport | null = null;
      const child = group.start('wrk', wrkPath, args, {
        onStdoutLine: (line) => {
          if (line.startsWith('BENCH_RESULT ')) report = JSON.parse(line.slice('BENCH_RESULT '.length)) as WrkReport;
        },
      });
      const code = await child.exited;
      const r = report as WrkReport | null;
      if (code !== 0 || r === null) throw new Error(`wrk failed (${code}):\n${describeTail(child)}`);
      const secs = r.duration_us / 1e6;
      return {
        requests: r.requests,
        seconds: secs,
        requestsPerSecond: r.requests / secs,
        p50Us: r.p50_us,
        p99Us: r.p99_us,
        errors: r.connect_errors + r.read_errors + r.write_errors + r.status_errors + r.timeouts,
        statusErrors: r.status_errors,
      };
    },
  };
}

// The parts of autocannon's programmatic API used here (it ships no types).
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p99: number };
  requests: { total: number };
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  pipelining: number;
  headers: Record<string, string>;
}) => PromiseLike<AutocannonResult>;

export function autocannonGenerator(): LoadGenerator {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  return {
    name: 'autocannon',
    caveat:
      'autocannon runs in the harness process on the same 2 cores and tops out near 60k requests/s; ' +
      'its latencies have 1 ms resolution. Install wrk for ceilings and sub-millisecond latencies.',
    async run(request, seconds, connections) {
      const r = await autocannon({
        url: `http://127.0.0.1:${request.port}${request.path}`,
        connections,
        duration: seconds,
        pipelining: 1,
        headers: { host: request.host, ...Object.fromEntries(request.headers) },
      });
      return {
        requests: r.requests.total,
        seconds: r.duration,
        requestsPerSecond: r.requests.total / r.duration,
        p50Us: r.latency.p50 * 1000,
        p99Us: r.latency.p99 * 1000,
        errors: r.errors + r.timeouts + r.non2xx,
        statusErrors: r.non2xx,
      };
    },
  };
}
