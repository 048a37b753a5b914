// In-flight accounting for graceful shutdown: while draining, answers ask
// clients to close their connections, and shutdown waits until the last
// in-flight exchange has finished (or a deadline passes).
export class Lifecycle {
  draining = false;
  #inflight = 0;
  #idleWaiters: Array<() => void> = [];

  get inflight(): number {
    return this.#inflight;
  }

  begin(): void {
    this.#inflight++;
  }

  end(): void {
    this.#inflight--;
    if (this.#inflight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves true when nothing is in flight, false when the deadline passed first. */
  whenIdle(deadlineMs: number): Promise<boolean> {
    if (this.#inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), deadlineMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
