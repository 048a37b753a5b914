// Two Postern instances sharing one Postgres, as the proxy runs them: an
// in-process Replica in front of each backend. Sessions written through one
// are read on the other; a sign-out on one is refused on the other within a
// second; expiry and the sweep reach every instance.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Replica } from '../../../src/databroker/replica.js';
import type { ChangeEvent } from '../../../src/databroker/types.js';
import { waitUntil } from '../../helpers/wait.js';
import { capturingLogger, openBackend, pgTest, scratchSchema, withClient } from './server.js';

async function instance(t: TestContext, schema: string): Promise<Replica> {
  const replica = await Replica.open(await openBackend(t, schema), { logger: capturingLogger().logger, sweepIntervalMs: 0, sweepGraceMs: 0 });
  t.after(() => replica.close());
  assert.ok(await waitUntil(() => replica.health().ok, 5_000), replica.health().detail);
  return replica;
}

/** Resolves with the first change `replica` applies that matches. */
function nextChange(replica: Replica, match: (c: ChangeEvent) => boolean): Promise<ChangeEvent> {
  return new Promise((resolve) => {
    const stop = replica.onChange((c) => {
      if (!match(c)) return;
      stop();
      resolve(c);
    });
  });
}

const session = (user: string) => ({ userId: user, email: `${user}@corp.example.com`, claims: { groups: ['staff'] } });

pgTest('a sign-out on one instance is refused on the other within one second', async (t) => {
  const schema = scratchSchema(t);
  const a = await instance(t, schema);
  const b = await instance(t, schema);
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const id = `sess-${i}`;
    const signedIn = nextChange(b, (c) => c.id === id && c.record !== null);
    await a.put('session', id, session('ada'));
    await signedIn;
    assert.equal(b.get<{ userId: string }>('session', id)?.data.userId, 'ada', 'the session is usable on B');

    const signedOut = nextChange(b, (c) => c.id === id && c.record === null);
    const started = performance.now();
    assert.equal(await a.delete('session', id), true);
    await signedOut;
    latencies.push(performance.now() - started);
    assert.equal(b.get('session', id), null, 'refused on B');
  }
  latencies.sort((x, y) => x - y);
  t.diagnostic(`sign-out on A → refused on B: p50 ${latencies[10]!.toFixed(2)} ms, max ${latencies[19]!.toFixed(2)} ms`);
  assert.ok(latencies[19]! < 1_000, `the slowest sign-out took ${latencies[19]} ms to reach B`);
});

pgTest('an expired session reads as absent on every instance, and the sweep\'s deletion reaches them all', async (t) => {
  const schema = scratchSchema(t);
  const a = await instance(t, schema);
  const b = await instance(t, schema);
  const expiresAt = Date.now() + 300;
  const arrived = nextChange(b, (c) => c.id === 'short');
  await a.put('session', 'short', session('bob'), { expiresAt });
  await arrived;
  assert.notEqual(b.get('session', 'short'), null);
  await waitUntil(() => Date.now() > expiresAt, 2_000);
  assert.equal(b.get('session', 'short'), null, 'expired on B without any change');

  const swept = nextChange(b, (c) => c.id === 'short' && c.record === null);
  assert.equal(await a.sweep(), 1);
  await swept;
  const rows = await withClient((c) => c.query(`SELECT count(*)::int AS n FROM "${schema}".records`));
  assert.equal(rows.rows[0].n, 0, 'the row is gone from Postgres');
});

pgTest('instances writing at once converge on the same records and version; a new instance loads them', async (t) => {
  const schema = scratchSchema(t);
  const a = await instance(t, schema);
  const b = await instance(t, schema);
  await Promise.all(
    Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).put('session', `s${i % 9}`, session(`user${i}`))),
  );
  await Promise.all([a.delete('session', 's0'), b.delete('session', 's1')]);
  assert.ok(await waitUntil(() => a.version === 42 && b.version === 42, 5_000), `versions ${a.version} and ${b.version}`);
  const contents = (r: Replica) => r.list('session').map((rec) => [rec.id, rec.version, rec.data]).sort();
  assert.deepEqual(contents(a), contents(b));
  const c = await instance(t, schema);
  assert.equal(c.version, 42);
  assert.deepEqual(contents(c), contents(a));
});
