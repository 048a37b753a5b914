// Command-line options of `npm run bench` (after `--`): the few knobs worth
// turning on a 2-core machine, each validated before anything starts.

export type UpstreamKind = 'uws' | 'nginx';

export interface BenchOptions {
  /** Seconds per measured run. */
  readonly duration: number;
  /** Concurrent keep-alive connections of the load generator. */
  readonly connections: number;
  /** How many times every target is measured, interleaved. */
  readonly rounds: number;
  readonly upstream: UpstreamKind;
}

export const USAGE = `usage: npm run bench -- [--duration=10] [--connections=50] [--rounds=3] [--upstream=uws|nginx]
  --duration     seconds per measured run (a trailing "s" is accepted)
  --connections  concurrent keep-alive connections (no pipelining)
  --rounds       interleaved rounds over all targets; medians are reported
  --upstream     the application behind the proxies: a uWS.js hello world (default) or a static nginx`;

const DEFAULTS: BenchOptions = { duration: 10, connections: 50, rounds: 3, upstream: 'uws' };

export class UsageError extends Error {}

function positiveInt(name: string, raw: string, max: number): number {
  const text = name === 'duration' && raw.endsWith('s') ? raw.slice(0, -1) : raw;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  }
  return n;
}

/** Parses `--name=value` and `--name value`; returns null when help was asked for. */
export function parseArgs(argv: readonly string[]): BenchOptions | null {
  let { duration, connections, rounds, upstream } = DEFAULTS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return null;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    switch (name) {
      case 'duration':
        duration = positiveInt(name, value, 3600);
        break;
      case 'connections':
        connections = positiveInt(name, value, 10_000);
        break;
      case 'rounds':
        rounds = positiveInt(name, value, 100);
        break;
      case 'upstream':
        if (value !== 'uws' && value !== 'nginx') {
          throw new UsageError(`--upstream must be "uws" or "nginx", got "${value}"`);
        }
        upstream = value;
        break;
      default:
        throw new UsageError(`unknown option --${name}`);
    }
  }
  return { duration, connections, rounds, upstream };
}
