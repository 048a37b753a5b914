import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createBalancer } from '../../src/upstream/balancer.js';
import type { LoadBalancingPolicy } from '../../src/config/types.js';
import { PosternError } from '../../src/errors.js';
import { makeTarget } from '../helpers/route.js';

const targets = (weights: readonly number[]) => weights.map((w, i) => makeTarget(`http://t${i}.internal`, w));

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('createBalancer', () => {
  for (const policy of ['round_robin', 'least_request', 'random'] as LoadBalancingPolicy[]) {
    it(`${policy}: a single target is always picked`, () => {
      const b = createBalancer(targets([3]), policy);
      for (let i = 0; i < 5; i++) {
        assert.equal(b.pick(), 0);
        b.started(0);
      }
    });
  }

  it('refuses a route without targets', () => {
    assert.throws(() => createBalancer([], 'round_robin'), PosternError);
  });
});

describe('round_robin (smooth weighted)', () => {
  it('equal weights rotate in order', () => {
    const b = createBalancer(targets([1, 1, 1]), 'round_robin');
    assert.deepEqual(Array.from({ length: 7 }, () => b.pick()), [0, 1, 2, 0, 1, 2, 0]);
  });

  it('weights 5,1,1 give nginx\'s interleaved sequence a a b a c a a', () => {
    const b = createBalancer(targets([5, 1, 1]), 'round_robin');
    assert.deepEqual(Array.from({ length: 14 }, () => b.pick()), [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
  });

  it('property: over N·Σw picks target i is chosen exactly N·w_i times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 2, maxLength: 8 }), fc.integer({ min: 1, max: 5 }), (weights, n) => {
        const b = createBalancer(targets(weights), 'round_robin');
        const total = weights.reduce((a, c) => a + c, 0);
        const counts = new Array<number>(weights.length).fill(0);
        for (let k = 0; k < n * total; k++) counts[b.pick()]++;
        assert.deepEqual(counts, weights.map((w) => n * w));
      }),
    );
  });
});

describe('least_request', () => {
  it('ties rotate instead of piling onto the first target', () => {
    const b = createBalancer(targets([1, 1, 1]), 'least_request');
    assert.deepEqual(Array.from({ length: 6 }, () => b.pick()), [0, 1, 2, 0, 1, 2]);
  });

  it('sends to the target with fewest requests in flight', () => {
    const b = createBalancer(targets([1, 1, 1]), 'least_request');
    b.started(0);
    b.started(0);
    b.started(2);
    for (let i = 0; i < 4; i++) assert.equal(b.pick(), 1);
    b.finished(0);
    b.finished(0);
    b.started(1);
    b.started(1);
    assert.equal(b.pick(), 0);
  });

  it('weighs in-flight requests by weight', () => {
    const b = createBalancer(targets([3, 1]), 'least_request');
    b.started(0);
    b.started(0);
    b.started(1);
    // 2/3 < 1/1
    assert.equal(b.pick(), 0);
    b.started(0);
    b.started(0);
    // 4/3 > 1/1
    assert.equal(b.pick(), 1);
  });

  it('a finish without a start does not make a target look negative', () => {
    const b = createBalancer(targets([1, 1]), 'least_request');
    b.finished(0);
    b.finished(0);
    b.started(1);
    b.started(0);
    // both at 1: a tie, not target 0 at -1
    const picks = new Set([b.pick(), b.pick()]);
    assert.deepEqual([...picks].sort(), [0, 1]);
  });

  it('property: never picks a target with strictly more weighted load than another', () => {
    const op = fc.oneof(fc.constant({ kind: 'pick' as const }), fc.nat(7).map((i) => ({ kind: 'finish' as const, i })));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 8 }), fc.array(op, { maxLength: 200 }), (weights, ops) => {
        const b = createBalancer(targets(weights), 'least_request');
        const inflight = new Array<number>(weights.length).fill(0);
        for (const o of ops) {
          if (o.kind === 'pick') {
            const i = b.pick();
            for (let j = 0; j < weights.length; j++) {
              assert.ok(!(inflight[i] / weights[i] > inflight[j] / weights[j]), `picked ${i} over lighter ${j}`);
            }
            b.started(i);
            inflight[i]++;
          } else {
            const i = o.i % weights.length;
            if (inflight[i] > 0) {
              b.finished(i);
              inflight[i]--;
            }
          }
        }
      }),
    );
  });
});

describe('random (weighted)', () => {
  it('follows the injected generator', () => {
    const values = [0, 0.49, 0.5, 0.99];
    let k = 0;
    const b = createBalancer(targets([1, 1]), 'random', () => values[k++]);
    assert.deepEqual([b.pick(), b.pick(), b.pick(), b.pick()], [0, 0, 1, 1]);
  });

  it('property: converges to the weights', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 5 }), fc.integer(), (weights, seed) => {
        const b = createBalancer(targets(weights), 'random', seeded(seed));
        const total = weights.reduce((a, c) => a + c, 0);
        const n = 20_000;
        const counts = new Array<number>(weights.length).fill(0);
        for (let k = 0; k < n; k++) counts[b.pick()]++;
        for (let i = 0; i < weights.length; i++) {
          const p = weights[i] / total;
          // 6 standard deviations: a false alarm would be a one-in-a-billion event.
          const tolerance = 6 * Math.sqrt((p * (1 - p)) / n);
          assert.ok(Math.abs(counts[i] / n - p) <= tolerance, `target ${i}: ${counts[i] / n} vs ${p}`);
        }
      }),
      { numRuns: 50 },
    );
  });
});
