// One-time URLs: the callback that hands a session to a route host must work
// once. The guard remembers each used id until the URL it came from expires;
// after that the URL's own expiry check refuses it, so the id can go.

export class ReplayGuard {
  readonly #now: () => number;
  /** id → expiry (ms), in insertion order. */
  readonly #used = new Map<string, number>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * True the first time `id` is used before `expiresAtMs`; false for every
   * later use until then, and for an id that has already expired (the guard
   * cannot protect it, so it fails closed).
   */
  useOnce(id: string, expiresAtMs: number): boolean {
    const now = this.#now();
    this.#sweep(now);
    if (!(expiresAtMs > now)) return false;
    const seen = this.#used.get(id);
    if (seen !== undefined && seen > now) return false;
    // Delete first so the id moves to the end of the insertion order.
    this.#used.delete(id);
    this.#used.set(id, expiresAtMs);
    return true;
  }

  /** How many ids are remembered (expired ones may linger until the next sweep). */
  get size(): number {
    return this.#used.size;
  }

  /**
   * Drops expired ids from the front of the insertion order and stops at the
   * first live one, so each call costs O(expired). Callers sign URLs with one
   * fixed lifetime, so insertion order is nearly expiry order; an id out of
   * order waits behind a live one at most one lifetime longer, and lookups
   * treat it as gone anyway.
   */
  #sweep(now: number): void {
    for (const [id, expiresAt] of this.#used) {
      if (expiresAt > now) return;
      this.#used.delete(id);
    }
  }
}
