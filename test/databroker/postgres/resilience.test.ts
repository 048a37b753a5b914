// When the server goes away: health says so, writes fail at once with a
// clear error instead of hanging, the connections come back by themselves,
// and the feed catches up with what others wrote meanwhile. And through all
// of it, no credential from the DSN reaches a log line, an error or health.
import assert from 'node:assert/strict';
import type { Change, WriteOp } from '../../../src/databroker/backend.js';
import { openPostgresBackend } from '../../../src/databroker/postgres/index.js';
import { waitUntil } from '../../helpers/wait.js';
import { startPgProxy } from './proxy.js';
import { capturingLogger, openBackend, PG_DSN, pgTest, scratchSchema, testSealer } from './server.js';

const PASSWORD = 'pw-Sup3rSecret-7f3a';

function put(id: string, data: unknown): WriteOp {
  return { type: 'session', id, data, expiresAt: null, modifiedAt: Date.now() };
}

/** The test server's DSN, pointed at the proxy and carrying a password (trust auth ignores it). */
function dsnThrough(port: number): string {
  const url = new URL(PG_DSN);
  url.host = `127.0.0.1:${port}`;
  url.password = PASSWORD;
  return url.toString();
}

pgTest('when the server goes away: health reports it, writes fail at once, and both connections come back and catch up', async (t) => {
  const schema = scratchSchema(t);
  const upstream = new URL(PG_DSN);
  const proxy = await startPgProxy({ upstreamHost: upstream.hostname, upstreamPort: Number(upstream.port || 5432) });
  t.after(() => proxy.close());
  const { logger, lines } = capturingLogger();
  const a = await openPostgresBackend({ dsn: dsnThrough(proxy.port), sealer: testSealer(), logger, schema, retention: { pruneIntervalMs: 0 } });
  t.after(() => a.close());
  const b = await openBackend(t, schema);
  await b.load();

  const seen: Change[] = [];
  a.subscribe((await a.load()).version, (c) => seen.push(c), () => assert.fail('no resynchronisation expected'));
  assert.ok(await waitUntil(() => a.health().ok, 5_000));

  await proxy.cut();
  assert.ok(await waitUntil(() => !a.health().ok, 2_000), 'health turns bad');
  assert.match(a.health().detail, /unreachable since .*retrying/);
  const started = performance.now();
  await assert.rejects(a.write(put('during', { n: 1 })), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PST_DATABROKER_UNAVAILABLE');
    assert.match(err.message, /postgres writer .*127\.0\.0\.1.*unreachable/);
    assert.ok(!err.message.includes(PASSWORD));
    return true;
  });
  assert.ok(performance.now() - started < 100, 'the write failed at once');

  // Others go on writing meanwhile.
  const missed = [await b.write(put('m1', { n: 1 })), await b.write(put('m2', { n: 2 })), await b.write({ ...put('m1', null), data: null })];

  await proxy.resume();
  assert.ok(await waitUntil(() => a.health().ok, 10_000), `reconnected: ${a.health().detail}`);
  assert.ok(await waitUntil(() => seen.length === 3, 5_000), 'the feed caught up');
  assert.deepEqual(seen, missed);
  const after = await a.write(put('after', { n: 3 }));
  assert.equal(after.version, missed[2]!.version + 1);

  assert.ok(lines.some((l) => l.includes('connection lost')));
  assert.ok(lines.some((l) => l.includes('connection restored')));
  for (const line of lines) assert.ok(!line.includes(PASSWORD), `a log line holds the password: ${line}`);
  assert.ok(!a.health().detail.includes(PASSWORD));
});

pgTest('a server that stops answering fails a write within the deadline instead of hanging, then recovers', async (t) => {
  const schema = scratchSchema(t);
  const upstream = new URL(PG_DSN);
  const proxy = await startPgProxy({ upstreamHost: upstream.hostname, upstreamPort: Number(upstream.port || 5432) });
  t.after(() => proxy.close());
  const { logger, lines } = capturingLogger();
  const a = await openPostgresBackend({ dsn: dsnThrough(proxy.port), sealer: testSealer(), logger, schema, retention: { pruneIntervalMs: 0 } });
  t.after(() => a.close());
  await a.load();

  proxy.freeze();
  const started = performance.now();
  await assert.rejects(a.write(put('x', { n: 1 })), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PST_DATABROKER_UNAVAILABLE');
    assert.match(err.message, /no answer within \d+ ms/);
    return true;
  });
  const took = performance.now() - started;
  assert.ok(took < 8_000, `the write failed after ${took} ms`);
  assert.equal(a.health().ok, false);
  proxy.thaw();
  assert.ok(await waitUntil(() => a.health().ok, 15_000), `reconnected: ${a.health().detail}`);
  await a.write(put('y', { n: 2 }));
  for (const line of lines) assert.ok(!line.includes(PASSWORD));
});

pgTest('a first connection that fails rejects the open with a clear error and no credential', async () => {
  const proxy = await startPgProxy({ upstreamHost: '127.0.0.1', upstreamPort: 1 });
  await proxy.cut();
  const { logger, lines } = capturingLogger();
  await assert.rejects(
    openPostgresBackend({ dsn: dsnThrough(proxy.port), sealer: testSealer(), logger }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PST_DATABROKER_UNAVAILABLE');
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(!err.message.includes(PASSWORD));
      return true;
    },
  );
  for (const line of lines) assert.ok(!line.includes(PASSWORD));
  await proxy.close();
});
