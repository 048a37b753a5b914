// Reconnect delays: exponential from `minMs`, capped at `maxMs`, with the
// upper half of each step randomised so that followers that lost the same
// leader do not all knock at the same instant.

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

/** Delay before reconnect attempt `attempt` (0 for the first retry); `random` returns [0, 1). */
export function reconnectDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  // 2 ** 30 already exceeds any sensible cap; clamping the exponent keeps the arithmetic finite.
  const step = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  const delay = Math.floor(step / 2 + (step / 2) * random());
  // With random() just below 1, floating point can round the sum up to `step` itself.
  return Math.min(delay, step - 1);
}
