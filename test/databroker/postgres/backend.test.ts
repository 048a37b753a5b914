// The postgres backend against a real server: two instances sharing one
// schema, as two Postern processes sharing a database would.
import assert from 'node:assert/strict';
import type { Change, StoreSnapshot, WriteOp } from '../../../src/databroker/backend.js';
import type { PostgresBackend } from '../../../src/databroker/postgres/index.js';
import { waitUntil } from '../../helpers/wait.js';
import { capturingLogger, openBackend, pgTest, scratchSchema, testSealer, withClient } from './server.js';

function put(type: string, id: string, data: unknown, expiresAt: number | null = null): WriteOp {
  return { type, id, data, expiresAt, modifiedAt: Date.now() };
}

function del(type: string, id: string): WriteOp {
  return { type, id, data: null, expiresAt: null, modifiedAt: Date.now() };
}

interface Feed {
  readonly changes: Change[];
  readonly resyncs: StoreSnapshot[];
  /** Resolves with the first change delivered after now that matches. */
  next(match: (c: Change) => boolean): Promise<Change>;
}

/** Subscribes after load(), as the replica does, and records what arrives. */
async function follow(backend: PostgresBackend): Promise<Feed> {
  const snapshot = await backend.load();
  const changes: Change[] = [];
  const resyncs: StoreSnapshot[] = [];
  const waiters: { match: (c: Change) => boolean; resolve: (c: Change) => void }[] = [];
  backend.subscribe(
    snapshot.version,
    (change) => {
      changes.push(change);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(change)) waiters.splice(i, 1)[0]!.resolve(change);
      }
    },
    (s) => resyncs.push(s),
  );
  await waitUntil(() => backend.health().ok, 5_000);
  return {
    changes,
    resyncs,
    next: (match) => new Promise((resolve) => waiters.push({ match, resolve })),
  };
}

const SESSION = {
  email: 'ada.lovelace@corp.example.com',
  idToken: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlLXNlY3JldA',
  accessToken: 'ya29.a0AfH6SMBx-access-token-value',
  refreshToken: '1//0g-refresh-token-value',
  claims: { department: 'Analytical-Engines-R-and-D', groups: ['engineering', 'platform'] },
};

pgTest('a record written by one instance is loaded by another, with its version, expiry and data', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema);
  await a.load();
  const first = await a.write(put('session', 's1', SESSION, 4_102_444_800_000));
  const second = await a.write(put('user', 'u1', { name: 'Ada' }));
  assert.equal(second.version, first.version + 1);

  const b = await openBackend(t, schema);
  const snapshot = await b.load();
  assert.equal(snapshot.version, second.version);
  const byKey = new Map(snapshot.records.map((r) => [`${r.type}/${r.id}`, r]));
  assert.deepEqual(byKey.get('session/s1'), first.record);
  assert.deepEqual(byKey.get('user/u1'), second.record);
  assert.equal(snapshot.serverVersion, (await a.load()).serverVersion);
});

pgTest('no email, token or claim written is readable in any row of any table', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema);
  await a.load();
  await a.write(put('session', 'sess-1', SESSION));
  await a.write(put('user', 'user-1', { email: SESSION.email, claims: SESSION.claims }));
  await a.write(put('session', 'sess-2', SESSION));
  await a.write(del('session', 'sess-2'));

  const secrets = [SESSION.email, SESSION.idToken, SESSION.accessToken, SESSION.refreshToken, SESSION.claims.department, 'Lovelace'];
  const { text, blobs } = await withClient(async (client) => {
    const tables = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    assert.deepEqual(tables.rows.map((r) => r.table_name).sort(), ['changes', 'meta', 'migrations', 'records']);
    let text = '';
    const blobs: Buffer[] = [];
    for (const { table_name } of tables.rows) {
      // Every column of every row, as Postgres renders it in text…
      const rows = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${schema}"."${table_name}" t`);
      text += rows.rows.map((r) => r.row).join('\n');
      // …and every value raw, so a bytea holding the plain bytes would show too.
      const raw = await client.query(`SELECT * FROM "${schema}"."${table_name}"`);
      for (const row of raw.rows as Record<string, unknown>[]) {
        for (const v of Object.values(row)) if (Buffer.isBuffer(v)) blobs.push(v);
      }
    }
    return { text, blobs };
  });
  assert.ok(text.includes('sess-1') && text.includes('session'), 'types and ids are stored in clear');
  assert.ok(blobs.length >= 5, 'the sealed values were found');
  for (const secret of secrets) {
    assert.ok(!text.toLowerCase().includes(secret.toLowerCase()), `${secret} is readable in a row`);
    for (const blob of blobs) assert.equal(blob.indexOf(secret), -1, `${secret} is readable in a bytea`);
  }
});

pgTest('a value moved to another record, or sealed with another key, does not open: load refuses to start', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema);
  await a.load();
  await a.write(put('session', 'victim', { user: 'alice' }));
  await a.write(put('session', 'attacker', { user: 'mallory' }));
  await withClient((c) =>
    c.query(`UPDATE "${schema}".records SET value = (SELECT value FROM "${schema}".records WHERE id = 'attacker') WHERE id = 'victim'`),
  );
  const b = await openBackend(t, schema);
  await assert.rejects(b.load(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PST_DATABROKER_RECORD_UNREADABLE');
    assert.match(err.message, /session\/victim/);
    return true;
  });
  const otherKey = await openBackend(t, schema, { sealer: testSealer([Buffer.alloc(32, 9)]) });
  await assert.rejects(otherKey.load(), { code: 'PST_DATABROKER_RECORD_UNREADABLE' });
});

pgTest('a sign-out on one instance reaches the other within one second (measured: write to listener)', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema);
  const b = await openBackend(t, schema);
  await follow(a);
  const feedB = await follow(b);
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const id = `s${i}`;
    const signedIn = feedB.next((c) => c.id === id && c.record !== null);
    await a.write(put('session', id, SESSION));
    await signedIn;
    const signedOut = feedB.next((c) => c.id === id && c.record === null);
    const started = performance.now();
    await a.write(del('session', id));
    await signedOut;
    latencies.push(performance.now() - started);
  }
  latencies.sort((x, y) => x - y);
  t.diagnostic(`sign-out A→B: p50 ${latencies[10]!.toFixed(2)} ms, max ${latencies[19]!.toFixed(2)} ms`);
  assert.ok(latencies[19]! < 1_000, `slowest sign-out took ${latencies[19]} ms`);
});

pgTest('deletions and expiry made through one instance reach the others, and expired records are not loaded', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema);
  const b = await openBackend(t, schema);
  await follow(a);
  const feedB = await follow(b);

  const soon = Date.now() + 300;
  const arrived = feedB.next((c) => c.id === 'short');
  const written = await a.write(put('session', 'short', { user: 'bob' }, soon));
  assert.deepEqual(await arrived, written);
  assert.equal((await arrived).record?.expiresAt, soon, 'the expiry travels with the record');

  const deleted = feedB.next((c) => c.id === 'gone' && c.record === null);
  await a.write(put('session', 'gone', { user: 'carol' }));
  await a.write(del('session', 'gone'));
  assert.equal((await deleted).record, null);

  await waitUntil(() => Date.now() > soon, 2_000);
  const c = await openBackend(t, schema);
  assert.deepEqual((await c.load()).records, [], 'the expired record is not loaded, the deleted one is gone');

  // The replica's sweep deletes expired records through write(), like any deletion.
  const swept = feedB.next((ch) => ch.id === 'short' && ch.record === null);
  await a.write(del('session', 'short'));
  await swept;
  const rows = await withClient((cl) => cl.query(`SELECT count(*)::int AS n FROM "${schema}".records`));
  assert.equal(rows.rows[0].n, 0);
});

/** What a replica applies, in the order it reaches it: the listener's changes and its own acknowledged writes. */
async function applied(backend: PostgresBackend): Promise<{ order: number[]; write(op: WriteOp): Promise<void> }> {
  const snapshot = await backend.load();
  const order: number[] = [];
  backend.subscribe(snapshot.version, (c) => order.push(c.version), () => assert.fail('no resynchronisation expected'));
  await waitUntil(() => backend.health().ok, 5_000);
  return { order, write: (op) => backend.write(op).then((c) => void order.push(c.version)) };
}

pgTest('two instances writing at once: each sees every version once, in order, its own writes included', async (t) => {
  const schema = scratchSchema(t);
  const sides = [await applied(await openBackend(t, schema)), await applied(await openBackend(t, schema))];
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 60; i++) writes.push(sides[i % 2]!.write(put('session', `k${i % 7}`, { i })));
  await Promise.all(writes);
  await waitUntil(() => sides.every((s) => s.order.length >= 60), 5_000);
  const expected = Array.from({ length: 60 }, (_, i) => i + 1);
  assert.deepEqual(sides[0]!.order, expected);
  assert.deepEqual(sides[1]!.order, expected);
});

pgTest('a subscriber whose changes were pruned is resynchronised from a snapshot', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema, { retention: { pruneIntervalMs: 0, keepChanges: 0, keepChangesMs: 0 } });
  const start = await a.load();
  await a.write(put('session', 'x', { n: 1 }));
  await a.write(put('session', 'y', { n: 2 }));
  await a.write(del('session', 'x'));
  assert.equal(await a.pruneChanges(), 3);
  const b = await openBackend(t, schema);
  await b.load();
  const resyncs: StoreSnapshot[] = [];
  const changes: Change[] = [];
  // Subscribing from before the pruned changes, as a replica back from a long outage would.
  b.subscribe(start.version, (c) => changes.push(c), (s) => resyncs.push(s));
  assert.ok(await waitUntil(() => resyncs.length === 1, 5_000), 'resynchronised');
  assert.equal(resyncs[0]!.version, 3);
  assert.deepEqual(resyncs[0]!.records.map((r) => r.id), ['y']);
  assert.deepEqual(changes, []);
  // And the feed goes on from the snapshot.
  const after = await a.write(put('session', 'z', { n: 3 }));
  assert.ok(await waitUntil(() => changes.length === 1, 5_000));
  assert.deepEqual(changes[0], after);
});

pgTest('a new store history (server_version changed) is noticed and resynchronised', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema);
  const b = await openBackend(t, schema);
  await a.load();
  const feedB = await follow(b);
  await a.write(put('session', 'old', { n: 1 }));
  await waitUntil(() => feedB.changes.length === 1, 5_000);
  await withClient(async (c) => {
    await c.query(`UPDATE "${schema}".meta SET server_version = 'replaced-history'`);
    await c.query(`SELECT pg_notify('${schema}_changes', '999')`);
  });
  assert.ok(await waitUntil(() => feedB.resyncs.length === 1, 5_000));
  assert.equal(feedB.resyncs[0]!.serverVersion, 'replaced-history');
  assert.deepEqual(feedB.resyncs[0]!.records.map((r) => r.id), ['old']);
});

pgTest('a change the subscriber cannot open is applied as a deletion and reported by health', async (t) => {
  const schema = scratchSchema(t);
  const { logger, lines } = capturingLogger();
  const a = await openBackend(t, schema, { sealer: testSealer([Buffer.alloc(32, 1)]) });
  const b = await openBackend(t, schema, { logger });
  await a.load();
  const feedB = await follow(b);
  const arrived = feedB.next((c) => c.id === 'foreign-key');
  await a.write(put('session', 'foreign-key', { user: 'eve' }));
  assert.equal((await arrived).record, null);
  assert.equal(b.health().ok, false);
  assert.match(b.health().detail, /could not be opened/);
  assert.ok(lines.some((l) => l.includes('cannot be opened')));
});

pgTest('writes issued together go as one batch, yet each has its own version and change, and a record ends as its last write says', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema);
  const b = await openBackend(t, schema);
  await a.load();
  const feedB = await follow(b);
  // Issued in one tick: the first goes alone, the rest queue behind it and go together.
  const ops = [put('t', 'first', 0), put('t', 'x', 1), put('t', 'x', 2), put('t', 'y', 3), del('t', 'y'), put('t', 'z', 4), del('t', 'x'), put('t', 'x', 5)];
  const changes = await Promise.all(ops.map((op) => a.write(op)));
  assert.deepEqual(changes.map((c) => c.version), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(await waitUntil(() => feedB.changes.length === 8, 5_000));
  assert.deepEqual(feedB.changes, changes, 'every write is a change of its own, in order');
  const loaded = await b.load();
  assert.deepEqual(
    loaded.records.map((r) => [r.id, r.version, r.data]).sort(),
    [['first', 1, 0], ['x', 8, 5], ['z', 6, 4]],
  );
  const batches = await withClient((c) => c.query(`SELECT count(DISTINCT changed_at)::int AS n FROM "${schema}".changes`));
  assert.ok(batches.rows[0].n < 8, 'some writes shared a transaction');
});

pgTest('writes are versioned in the order they were issued, and a write of an invalid record is refused before it is sent', async (t) => {
  const schema = scratchSchema(t);
  const a = await openBackend(t, schema);
  await a.load();
  const changes = await Promise.all(Array.from({ length: 25 }, (_, i) => a.write(put('t', `id${i}`, i))));
  assert.deepEqual(changes.map((c) => c.version), Array.from({ length: 25 }, (_, i) => i + 1));
  await assert.rejects(a.write(put('t', '', 1)), RangeError);
  await assert.rejects(a.write(put('t', 'a\u0000b', 1)), RangeError);
  await assert.rejects(a.write({ ...put('t', 'x', 1), expiresAt: 1.5 }), RangeError);
  await assert.rejects(a.write(put('t', 'x', undefined)), TypeError);
  assert.equal((await a.load()).version, 25);
});
