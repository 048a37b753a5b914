import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { IdentityProviders } from '../../src/authenticate/identity-providers.js';
import { IDENTITY_MANAGER_LEASE, SessionRefresher } from '../../src/authenticate/refresher.js';
import type { Sessions } from '../../src/authenticate/sessions.js';
import { MemoryDatabroker } from '../../src/databroker/memory.js';

/** Sessions that only count how often a refresher scans them. */
function countingSessions(): { sessions: Sessions; scans: () => number } {
  let scans = 0;
  const sessions = {
    all: () => {
      scans++;
      return [];
    },
  } as unknown as Sessions;
  return { sessions, scans: () => scans };
}

const providers = {} as IdentityProviders;
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('refreshers sharing a store scan only while holding the identity_manager lease: one at a time, and the other takes over when it stops', async () => {
  const db = new MemoryDatabroker({ logger: pino({ level: 'silent' }), sweepIntervalMs: 0 });
  const a = countingSessions();
  const b = countingSessions();
  const refresherA = new SessionRefresher(a.sessions, providers, pino({ level: 'silent' }));
  const refresherB = new SessionRefresher(b.sessions, providers, pino({ level: 'silent' }));
  refresherA.start({ intervalMs: 5, lease: db.leases.lease(IDENTITY_MANAGER_LEASE, 'instance-a') });
  await wait(30);
  refresherB.start({ intervalMs: 5, lease: db.leases.lease(IDENTITY_MANAGER_LEASE, 'instance-b') });
  await wait(60);
  assert.ok(a.scans() > 0);
  assert.equal(b.scans(), 0);
  await refresherA.stop();
  assert.equal(db.leases.holds(IDENTITY_MANAGER_LEASE, 'instance-a'), false);
  await wait(60);
  assert.ok(b.scans() > 0, 'the lease was released, so the other instance takes over without waiting for it to expire');
  await refresherB.stop();
  await db.close();
});

test('without a lease every round scans', async () => {
  const { sessions, scans } = countingSessions();
  const refresher = new SessionRefresher(sessions, providers, pino({ level: 'silent' }));
  refresher.start({ intervalMs: 5 });
  await wait(40);
  await refresher.stop();
  assert.ok(scans() >= 2);
});
