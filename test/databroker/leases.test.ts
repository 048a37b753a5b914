import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { claimWins, LEASE, type LeaseClaim } from '../../src/databroker/leases.js';
import { MemoryDatabroker } from '../../src/databroker/memory.js';
import { Replica } from '../../src/databroker/replica.js';
import type { DataRecord } from '../../src/databroker/types.js';
import { drain, settle, SharedLog, silentLogger } from './support.js';

function claim(
  holderId: string,
  version: number,
  modifiedAt: number,
  expiresAt: number | null,
  renewal: { since: number; renews: { version: number; expiresAt: number } } | null = null,
): DataRecord<LeaseClaim> {
  return {
    type: LEASE,
    id: `job/${holderId}/${version}`,
    version,
    modifiedAt,
    expiresAt,
    data: { name: 'job', holderId, since: renewal?.since ?? null, renews: renewal?.renews ?? null },
  };
}

test('claimWins: the verdicts of the lease rule', () => {
  const cases: [string, DataRecord<LeaseClaim>, DataRecord<LeaseClaim>[], boolean][] = [
    ['a first claim with nobody else wins', claim('a', 1, 100, 200), [], true],
    ['a first claim loses to another holder unexpired at its time', claim('b', 2, 150, 250), [claim('a', 1, 100, 200)], false],
    ['expiry is judged at the claim’s own time, not the reader’s', claim('b', 2, 200, 300), [claim('a', 1, 100, 200)], true],
    ['a claim that never expires blocks', claim('b', 2, 10_000, 10_100), [claim('a', 1, 100, null)], false],
    ['the same holder’s other claims do not block', claim('a', 2, 150, 250), [claim('a', 1, 100, 200)], true],
    [
      'a renewal in time keeps its place ahead of a later claim not yet deleted',
      claim('a', 3, 190, 290, { since: 1, renews: { version: 1, expiresAt: 200 } }),
      [claim('b', 2, 150, 250)],
      true,
    ],
    [
      'a renewal written after its previous claim expired is a first claim again',
      claim('a', 3, 210, 310, { since: 1, renews: { version: 1, expiresAt: 200 } }),
      [claim('b', 2, 150, 250)],
      false,
    ],
    [
      'a renewal loses once somebody claimed after its previous claim expired, even if it was written in time',
      claim('a', 3, 190, 290, { since: 1, renews: { version: 1, expiresAt: 200 } }),
      [claim('b', 2, 200, 300)],
      false,
    ],
    [
      'a claim made before the previous one is not in the way of a renewal',
      claim('a', 5, 190, 290, { since: 3, renews: { version: 3, expiresAt: 200 } }),
      [claim('b', 2, 100, 150)],
      true,
    ],
  ];
  for (const [name, c, others, expected] of cases) assert.equal(claimWins(c, others), expected, name);
});

function memory(clock: { now: number }): MemoryDatabroker {
  return new MemoryDatabroker({ logger: silentLogger(), now: () => clock.now, sweepIntervalMs: 0 });
}

test('one holder at a time: another acquires only after the lease expires, and the first then cannot renew', async () => {
  const clock = { now: 1_000 };
  const db = memory(clock);
  const { leases } = db;
  assert.equal(await leases.acquire('job', 'a', 100), true);
  assert.equal(leases.holds('job', 'a'), true);
  assert.equal(await leases.acquire('job', 'b', 100), false);
  assert.equal(leases.holds('job', 'b'), false);
  clock.now = 1_050;
  assert.equal(await leases.renew('job', 'a', 100), true);
  clock.now = 1_120;
  assert.equal(await leases.acquire('job', 'b', 100), false, 'the renewal moved the expiry to 1150');
  clock.now = 1_150;
  assert.equal(leases.holds('job', 'a'), false);
  assert.equal(await leases.acquire('job', 'b', 100), true);
  assert.equal(await leases.renew('job', 'a', 100), false);
  assert.equal(await leases.acquire('job', 'a', 100), false);
  assert.equal(leases.holds('job', 'b'), true);
});

test('acquire by the holder renews; leases of other names are independent', async () => {
  const clock = { now: 0 };
  const { leases } = memory(clock);
  assert.equal(await leases.acquire('job', 'a', 100), true);
  assert.equal(await leases.acquire('other', 'b', 100), true);
  clock.now = 90;
  assert.equal(await leases.acquire('job', 'a', 100), true);
  clock.now = 150;
  assert.equal(leases.holds('job', 'a'), true);
  assert.equal(leases.holds('other', 'b'), false);
});

test('release hands the lease over at once and removes the claim', async () => {
  const clock = { now: 0 };
  const db = memory(clock);
  assert.equal(await db.leases.acquire('job', 'a', 1_000), true);
  assert.equal(await db.leases.release('job', 'a'), true);
  assert.equal(await db.leases.release('job', 'a'), false);
  assert.equal(db.leases.holds('job', 'a'), false);
  assert.deepEqual(db.list(LEASE), []);
  assert.equal(await db.leases.acquire('job', 'b', 1_000), true);
});

test('a lease handle holds, renews and releases for its holder', async () => {
  const clock = { now: 0 };
  const db = memory(clock);
  const lease = db.leases.lease('job', 'a', 100);
  assert.equal(lease.name, 'job');
  assert.equal(await lease.hold(), true);
  clock.now = 80;
  assert.equal(await lease.hold(), true);
  clock.now = 170;
  assert.equal(db.leases.holds('job', 'a'), true);
  await lease.release();
  assert.equal(db.leases.holds('job', 'a'), false);
});

test('a lease record that is not a claim is ignored', async () => {
  const clock = { now: 0 };
  const db = memory(clock);
  await db.put(LEASE, 'junk', { name: 'job' });
  await db.put(LEASE, 'junk2', 'text');
  assert.equal(await db.leases.acquire('job', 'a', 100), true);
});

test('a ttl that is not a positive number is refused', () => {
  const { leases } = memory({ now: 0 });
  for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => void leases.acquire('job', 'a', ttl), RangeError);
    assert.throws(() => leases.lease('job', 'a', ttl), RangeError);
  }
});

test('two instances that claim at the same moment: exactly one wins, and the loser’s claim is deleted', async () => {
  const clock = { now: 0 };
  const log = new SharedLog();
  const backends = [log.backend(), log.backend()];
  const [a, b] = await Promise.all(backends.map((backend, i) => Replica.open(backend, { logger: silentLogger(), now: () => clock.now, sweepIntervalMs: 0, instanceId: `i${i}` })));
  const results = Promise.all([a!.leases.acquire('job', 'a', 100), b!.leases.acquire('job', 'b', 100)]);
  await drain(backends);
  assert.deepEqual(await results, [true, false]);
  assert.deepEqual(
    a!.list<LeaseClaim>(LEASE).map((r) => r.data.holderId),
    ['a'],
  );
  assert.equal(b!.leases.holds('job', 'b'), false);
});

test('a renewal made in time but ordered after a takeover loses, so the two tenures never overlap', async () => {
  const clock = { now: 0 };
  const log = new SharedLog();
  const backends = [log.backend({ commitOnWrite: false }), log.backend({ commitOnWrite: false })];
  const [a, b] = await Promise.all(backends.map((backend, i) => Replica.open(backend, { logger: silentLogger(), now: () => clock.now, sweepIntervalMs: 0, instanceId: `i${i}` })));
  const first = a!.leases.acquire('job', 'a', 100);
  await drain(backends);
  assert.equal(await first, true);
  clock.now = 90;
  // A renews just in time, but its write is slow to reach the store…
  const renewal = a!.leases.renew('job', 'a', 100);
  await settle();
  clock.now = 100;
  assert.equal(a!.leases.holds('job', 'a'), false);
  // …while B, seeing the lease expired, claims it and gets there first.
  const takeover = b!.leases.acquire('job', 'b', 100);
  await settle();
  assert.ok(backends[1]!.commit());
  assert.ok(backends[0]!.commit());
  await drain(backends);
  assert.equal(await takeover, true);
  assert.equal(await renewal, false);
  assert.equal(b!.leases.holds('job', 'b'), true);
  assert.equal(a!.leases.holds('job', 'a'), false);
});

// Three instances over one store compete for one lease while writes,
// acknowledgements and notifications interleave at random and the clock
// moves on. At no moment may two of them hold it.
type Step =
  | { readonly kind: 'acquire' | 'renew' | 'release'; readonly who: number; readonly ttl: number }
  | { readonly kind: 'commit'; readonly who: number }
  | { readonly kind: 'deliver'; readonly who: number }
  | { readonly kind: 'ack'; readonly who: number; readonly pick: number }
  | { readonly kind: 'advance'; readonly ms: number };

const INSTANCES = 3;
const whoArb = fc.integer({ min: 0, max: INSTANCES - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('acquire' as const, 'renew' as const, 'release' as const), who: whoArb, ttl: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('commit' as const), who: whoArb }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('deliver' as const), who: whoArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('ack' as const), who: whoArb, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15 }) }) },
);

test('leases are exclusive under any interleaving of instances, and free again once expired', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { maxLength: 80 }), async (steps) => {
      const clock = { now: 0 };
      const log = new SharedLog();
      const backends = Array.from({ length: INSTANCES }, () => log.backend({ commitOnWrite: false }));
      const replicas = await Promise.all(
        backends.map((backend, i) => Replica.open(backend, { logger: silentLogger(), now: () => clock.now, sweepIntervalMs: 0, gapTimeoutMs: 60_000, instanceId: `i${i}` })),
      );
      const holder = (i: number): string => `h${i}`;
      const operations: Promise<unknown>[] = [];
      const checkExclusive = (): void => {
        const holding = replicas.map((db, i) => db.leases.holds('job', holder(i)));
        assert.ok(holding.filter(Boolean).length <= 1, `several holders at ${clock.now}: ${holding}`);
      };
      for (const step of steps) {
        switch (step.kind) {
          case 'acquire':
          case 'renew':
          case 'release': {
            const { leases } = replicas[step.who]!;
            const who = holder(step.who);
            operations.push(step.kind === 'release' ? leases.release('job', who) : leases[step.kind]('job', who, step.ttl));
            break;
          }
          case 'commit':
            backends[step.who]!.commit();
            break;
          case 'deliver':
            backends[step.who]!.deliver();
            break;
          case 'ack': {
            const backend = backends[step.who]!;
            if (backend.acks.length > 0) backend.ack(step.pick % backend.acks.length);
            break;
          }
          case 'advance':
            clock.now += step.ms;
            break;
        }
        await settle();
        checkExclusive();
      }
      await drain(backends);
      await Promise.all(operations);
      checkExclusive();
      // Liveness: once every claim has expired, anybody can take the lease.
      clock.now += 1_000;
      const taking = replicas[0]!.leases.acquire('job', holder(0), 10);
      await drain(backends);
      assert.equal(await taking, true);
    }),
    { numRuns: 200 },
  );
});
