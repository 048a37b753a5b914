// The Postgres the tests run against: PG_DSN, or the local server. Where
// none answers, every Postgres test is skipped with a visible reason; with
// POSTERN_REQUIRE_PG=1 (CI sets it) each of them fails instead, so a missing
// server is never a silent green. Each test works in its own schema with a
// random name and drops it afterwards.
import { test, type TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresBackend, type PostgresBackend, type PostgresBackendOptions } from '../../../src/databroker/postgres/index.js';
import { capturingLogger, testSealer } from './fixtures.js';

export { capturingLogger, testSealer } from './fixtures.js';

export const PG_DSN = process.env['PG_DSN'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRED = process.env['POSTERN_REQUIRE_PG'] === '1';

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_DSN, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();
if (unreachable !== null) {
  const where = new URL(PG_DSN).host;
  process.stderr.write(
    REQUIRED
      ? `\n!! POSTERN_REQUIRE_PG=1 but no PostgreSQL answers at ${where} (${unreachable}): the Postgres tests FAIL\n\n`
      : `\n!! no PostgreSQL answers at ${where} (${unreachable}): the Postgres tests are SKIPPED (set PG_DSN, or POSTERN_REQUIRE_PG=1 to fail)\n\n`,
  );
}

/** A node:test test that needs Postgres: skipped without a server, failed without one when it is required. */
export function pgTest(name: string, fn: (t: TestContext) => Promise<void>): void {
  if (unreachable === null) {
    test(name, fn);
  } else if (REQUIRED) {
    test(name, () => {
      throw new Error(`POSTERN_REQUIRE_PG=1 but no PostgreSQL answers at ${new URL(PG_DSN).host}: ${unreachable}`);
    });
  } else {
    test(name, { skip: `no PostgreSQL answers at ${new URL(PG_DSN).host} (set PG_DSN)` }, () => undefined);
  }
}

/** A fresh schema name, dropped (with everything in it) when the test ends. */
export function scratchSchema(t: TestContext): string {
  const schema = `postern_test_${randomBytes(6).toString('hex')}`;
  t.after(() => dropSchema(schema));
  return schema;
}

export async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** Runs `fn` with a plain client of the test server (not through the backend). */
export async function withClient<T>(fn: (client: pg.Client) => Promise<T>, dsn = PG_DSN): Promise<T> {
  const client = new pg.Client({ connectionString: dsn });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Opens a backend on the test server (or `dsn`) in `schema`, closed when the test ends. */
export async function openBackend(
  t: TestContext,
  schema: string,
  extra: Partial<PostgresBackendOptions> = {},
): Promise<PostgresBackend> {
  const backend = await openPostgresBackend({
    dsn: PG_DSN,
    sealer: testSealer(),
    logger: capturingLogger().logger,
    schema,
    retention: { pruneIntervalMs: 0 },
    ...extra,
  });
  t.after(() => backend.close());
  return backend;
}
