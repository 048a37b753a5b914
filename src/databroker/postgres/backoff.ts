// How long to wait before the next attempt to reach Postgres: doubling from
// `minMs` to `maxMs`, each delay drawn between half and all of that bound so
// a fleet that lost the server together does not come back in lockstep.

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

export const RECONNECT_BACKOFF: Backoff = Object.freeze({ minMs: 100, maxMs: 5_000 });

/** The delay before attempt `attempt` (1 = the first retry); `random` in [0, 1). */
export function reconnectDelay(backoff: Backoff, attempt: number, random: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const bound = Math.min(backoff.maxMs, backoff.minMs * 2 ** exponent);
  return Math.round(bound / 2 + (bound / 2) * random);
}
