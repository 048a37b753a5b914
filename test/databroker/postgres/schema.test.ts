import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { schemaNameProblem, schemaNames, SCHEMA_VERSION } from '../../../src/databroker/postgres/schema.js';
import { openPostgresBackend } from '../../../src/databroker/postgres/index.js';
import { capturingLogger, openBackend, PG_DSN, pgTest, scratchSchema, testSealer, withClient } from './server.js';

test('schema names: plain lower-case identifiers only, so they can be quoted without escaping', () => {
  const table: [string, boolean][] = [
    ['postern', true],
    ['_postern', true],
    ['postern_2', true],
    ['a', true],
    ['x'.repeat(48), true],
    ['x'.repeat(49), false],
    ['', false],
    ['2postern', false],
    ['Postern', false],
    ['post-ern', false],
    ['post"ern', false],
    ['post ern', false],
    ['pg_catalog', false],
    ['pöstern', false],
  ];
  for (const [name, ok] of table) assert.equal(schemaNameProblem(name) === null, ok, name);
  assert.throws(() => schemaNames('bad"; DROP TABLE x; --'), RangeError);
});

test('schema names: an accepted name never contains a quote, a dot or anything outside [a-z0-9_]', () => {
  // Mostly identifier characters, with the ones that would break out of a quoted identifier mixed in.
  const unit = fc.constantFrom('a', 'p', 'g', 'z', '_', '0', '9', '"', '.', '-', ' ', 'A', 'é', ';', '\u0000');
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 60 }), (name) => {
      if (schemaNameProblem(name) !== null) return;
      assert.match(name, /^[a-z_][a-z0-9_]*$/);
      assert.ok(Buffer.byteLength(schemaNames(name).channel) <= 63, 'the channel is a valid identifier');
    }),
  );
});

async function migrationsOf(schema: string): Promise<number[]> {
  return withClient(async (c) => (await c.query<{ version: number }>(`SELECT version FROM "${schema}".migrations ORDER BY version`)).rows.map((r) => r.version));
}

pgTest('several instances opening a new schema at once migrate it exactly once and share one history', async (t) => {
  const schema = scratchSchema(t);
  const { logger, lines } = capturingLogger();
  const backends = await Promise.all(
    Array.from({ length: 5 }, () => openPostgresBackend({ dsn: PG_DSN, sealer: testSealer(), logger, schema, retention: { pruneIntervalMs: 0 } })),
  );
  t.after(() => Promise.all(backends.map((b) => b.close())));
  assert.deepEqual(await migrationsOf(schema), [SCHEMA_VERSION]);
  assert.equal(lines.filter((l) => l.includes('schema migrated')).length, 1);
  const snapshots = await Promise.all(backends.map((b) => b.load()));
  assert.equal(new Set(snapshots.map((s) => s.serverVersion)).size, 1);
});

pgTest('opening again migrates nothing and keeps the data and the server version', async (t) => {
  const schema = scratchSchema(t);
  const first = await openBackend(t, schema);
  const before = await first.load();
  await first.write({ type: 't', id: 'kept', data: 1, expiresAt: null, modifiedAt: 1 });
  await first.close();
  const { logger, lines } = capturingLogger();
  const again = await openBackend(t, schema, { logger });
  const after = await again.load();
  assert.equal(after.serverVersion, before.serverVersion);
  assert.deepEqual(after.records.map((r) => r.id), ['kept']);
  assert.deepEqual(await migrationsOf(schema), [SCHEMA_VERSION]);
  assert.equal(lines.filter((l) => l.includes('schema migrated')).length, 0);
});

pgTest('a schema migrated by a newer Postern is refused', async (t) => {
  const schema = scratchSchema(t);
  await (await openBackend(t, schema)).close();
  await withClient((c) => c.query(`INSERT INTO "${schema}".migrations (version, description) VALUES ($1, 'from the future')`, [SCHEMA_VERSION + 1]));
  await assert.rejects(
    openPostgresBackend({ dsn: PG_DSN, sealer: testSealer(), logger: capturingLogger().logger, schema }),
    { code: 'PST_DATABROKER_SCHEMA_TOO_NEW' },
  );
});
