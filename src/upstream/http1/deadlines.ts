// The timeouts of every upstream connection, checked by one coarse ticker
// instead of a timer per request: arming, refreshing (on each body chunk)
// and clearing a deadline is then a number written on the connection, where
// a Node timer costs an allocation and list surgery each time. Deadlines
// fire up to one tick late, which timeouts of a second or more can afford.

export interface Expiring {
  /** performance.now() value after which expire() is due; Infinity for none. */
  readonly deadline: number;
  expire(): void;
}

const TICK_MS = 100;

const watched = new Set<Expiring>();
let ticker: NodeJS.Timeout | null = null;

function tick(): void {
  const now = performance.now();
  for (const e of watched) if (e.deadline <= now) e.expire();
}

export function watch(e: Expiring): void {
  watched.add(e);
  if (ticker === null) {
    ticker = setInterval(tick, TICK_MS);
    // What is waiting (a socket, a client) keeps the process alive, not this.
    ticker.unref();
  }
}

export function unwatch(e: Expiring): void {
  watched.delete(e);
  if (watched.size === 0 && ticker !== null) {
    clearInterval(ticker);
    ticker = null;
  }
}
