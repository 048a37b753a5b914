// Slows down password guessing: each failed sign-in for a username makes
// the next attempt for that username wait longer (250 ms, doubling, at most
// 4 s), until a success or 15 quiet minutes. Not a lockout: the real user can
// always get in, only slower, which is what a development provider needs.

const BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 4_000;
const FORGET_AFTER_MS = 15 * 60_000;
/** Bounds memory when someone tries many usernames; the oldest entries go first. */
const MAX_TRACKED = 10_000;

/** How long an attempt waits after `failures` recent failures for the same username. */
export function loginDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(BASE_DELAY_MS * 2 ** Math.min(failures - 1, 16), MAX_DELAY_MS);
}

interface Failures {
  count: number;
  last: number;
}

export class LoginThrottle {
  readonly #failures = new Map<string, Failures>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  #current(key: string): Failures | undefined {
    const entry = this.#failures.get(key);
    if (entry !== undefined && this.#now() - entry.last >= FORGET_AFTER_MS) {
      this.#failures.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Milliseconds the next attempt for `key` must wait before its password is checked. */
  delayMs(key: string): number {
    return loginDelayMs(this.#current(key)?.count ?? 0);
  }

  recordFailure(key: string): void {
    const count = (this.#current(key)?.count ?? 0) + 1;
    // Re-inserting keeps the map in order of last failure, so eviction drops the stalest.
    this.#failures.delete(key);
    this.#failures.set(key, { count, last: this.#now() });
    if (this.#failures.size > MAX_TRACKED) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
  }

  recordSuccess(key: string): void {
    this.#failures.delete(key);
  }
}
