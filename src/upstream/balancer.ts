// Picks the upstream target of a route for each request, by the route's
// `load_balancing_policy`. Weights come from `to: "url,weight"` (1 when none).
import type { LoadBalancingPolicy, UpstreamTarget } from '../config/types.js';
import { Errors, PosternError } from '../errors.js';

export interface Balancer {
  /** Index into the route's targets. */
  pick(): number;
  /** The request sent to target i started (after pick, once dispatched). */
  started(i: number): void;
  /** The request sent to target i finished, however it ended. */
  finished(i: number): void;
}

/**
 * @param random uniform in [0, 1); injectable so tests can seed it.
 */
export function createBalancer(
  targets: readonly UpstreamTarget[],
  policy: LoadBalancingPolicy,
  random: () => number = Math.random,
): Balancer {
  if (targets.length === 0) throw new PosternError(Errors.UPSTREAM_UNAVAILABLE, 'the route has no targets');
  if (targets.length === 1) return new SingleTarget();
  const weights = targets.map((t) => t.weight);
  switch (policy) {
    case 'round_robin':
      return new SmoothWeightedRoundRobin(weights);
    case 'least_request':
      return new LeastRequest(weights);
    case 'random':
      return new WeightedRandom(weights, random);
  }
}

class SingleTarget implements Balancer {
  pick(): number {
    return 0;
  }
  started(): void {}
  finished(): void {}
}

/**
 * nginx's smooth weighted round robin: every pick adds each weight to its
 * target's score, takes the highest score and lowers it by the total. Over
 * Σw picks target i is chosen exactly w_i times, interleaved rather than in
 * bursts (weights 5,1,1 give a a b a c a a).
 */
class SmoothWeightedRoundRobin implements Balancer {
  readonly #weights: Float64Array;
  readonly #current: Float64Array;
  readonly #total: number;

  constructor(weights: readonly number[]) {
    this.#weights = Float64Array.from(weights);
    this.#current = new Float64Array(weights.length);
    this.#total = weights.reduce((a, b) => a + b, 0);
  }

  pick(): number {
    const w = this.#weights;
    const cur = this.#current;
    let best = 0;
    for (let i = 0; i < w.length; i++) {
      cur[i] += w[i];
      if (cur[i] > cur[best]) best = i;
    }
    cur[best] -= this.#total;
    return best;
  }

  started(): void {}
  finished(): void {}
}

/**
 * Fewest requests in flight relative to weight (in-flight / weight, compared
 * by cross-multiplication); among equals the search starts one further each
 * time, so ties rotate instead of piling onto the first target.
 */
class LeastRequest implements Balancer {
  readonly #weights: Float64Array;
  readonly #inflight: Float64Array;
  #offset = 0;

  constructor(weights: readonly number[]) {
    this.#weights = Float64Array.from(weights);
    this.#inflight = new Float64Array(weights.length);
  }

  pick(): number {
    const w = this.#weights;
    const load = this.#inflight;
    const n = w.length;
    const start = this.#offset;
    this.#offset = start + 1 === n ? 0 : start + 1;
    let best = start;
    for (let k = 1; k < n; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      if (load[i] * w[best] < load[best] * w[i]) best = i;
    }
    return best;
  }

  started(i: number): void {
    this.#inflight[i]++;
  }

  finished(i: number): void {
    if (this.#inflight[i] > 0) this.#inflight[i]--;
  }
}

/** Each pick independent, target i with probability w_i / Σw. */
class WeightedRandom implements Balancer {
  /** cumulative[i] = w_0 + … + w_i. */
  readonly #cumulative: Float64Array;
  readonly #random: () => number;

  constructor(weights: readonly number[], random: () => number) {
    this.#cumulative = new Float64Array(weights.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) this.#cumulative[i] = sum += weights[i];
    this.#random = random;
  }

  pick(): number {
    const c = this.#cumulative;
    const r = this.#random() * c[c.length - 1];
    let i = 0;
    while (i < c.length - 1 && r >= c[i]) i++;
    return i;
  }

  started(): void {}
  finished(): void {}
}
